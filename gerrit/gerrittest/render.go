package gerrittest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The JSON entities of Gerrit's REST API (rest-api-changes.txt).
type (
	accountInfo struct {
		AccountID   int    `json:"_account_id"`
		Name        string `json:"name,omitempty"`
		DisplayName string `json:"display_name,omitempty"`
		Email       string `json:"email,omitempty"`
		Username    string `json:"username,omitempty"`
	}
	approvalInfo struct {
		accountInfo
		Value                int          `json:"value"`
		Date                 string       `json:"date,omitempty"`
		Tag                  string       `json:"tag,omitempty"`
		PermittedVotingRange *votingRange `json:"permitted_voting_range,omitempty"`
	}
	votingRange struct {
		Min int `json:"min"`
		Max int `json:"max"`
	}
	labelInfo struct {
		Optional     bool              `json:"optional,omitempty"`
		Description  string            `json:"description,omitempty"`
		Approved     *accountInfo      `json:"approved,omitempty"`
		Rejected     *accountInfo      `json:"rejected,omitempty"`
		Recommended  *accountInfo      `json:"recommended,omitempty"`
		Disliked     *accountInfo      `json:"disliked,omitempty"`
		Blocking     bool              `json:"blocking,omitempty"`
		Value        int               `json:"value,omitempty"`
		DefaultValue int               `json:"default_value"`
		All          []approvalInfo    `json:"all,omitempty"`
		Values       map[string]string `json:"values,omitempty"`
	}
	gitPersonInfo struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Date  string `json:"date"`
		TZ    int    `json:"tz"`
	}
	commitInfo struct {
		Commit    string         `json:"commit,omitempty"`
		Parents   []commitInfo   `json:"parents,omitempty"`
		Author    *gitPersonInfo `json:"author,omitempty"`
		Committer *gitPersonInfo `json:"committer,omitempty"`
		Subject   string         `json:"subject,omitempty"`
		Message   string         `json:"message,omitempty"`
	}
	fetchInfo struct {
		URL string `json:"url"`
		Ref string `json:"ref"`
	}
	fileInfo struct {
		Status        string `json:"status,omitempty"`
		LinesInserted int    `json:"lines_inserted,omitempty"`
		LinesDeleted  int    `json:"lines_deleted,omitempty"`
		SizeDelta     int    `json:"size_delta"`
		Size          int    `json:"size"`
	}
	revisionInfo struct {
		Kind     string               `json:"kind"`
		Number   int                  `json:"_number"`
		Created  string               `json:"created"`
		Uploader accountInfo          `json:"uploader"`
		Ref      string               `json:"ref"`
		Fetch    map[string]fetchInfo `json:"fetch"`
		Commit   *commitInfo          `json:"commit,omitempty"`
		Files    map[string]fileInfo  `json:"files,omitempty"`
	}
	expressionInfo struct {
		Expression   string   `json:"expression"`
		Fulfilled    bool     `json:"fulfilled"`
		Status       string   `json:"status"`
		PassingAtoms []string `json:"passing_atoms"`
		FailingAtoms []string `json:"failing_atoms"`
	}
	requirementInfo struct {
		Name                           string          `json:"name"`
		Status                         string          `json:"status"`
		IsLegacy                       bool            `json:"is_legacy"`
		ApplicabilityExpressionResult  *expressionInfo `json:"applicability_expression_result,omitempty"`
		SubmittabilityExpressionResult expressionInfo  `json:"submittability_expression_result"`
	}
	messageInfo struct {
		ID             string       `json:"id"`
		Author         *accountInfo `json:"author,omitempty"`
		Date           string       `json:"date"`
		Message        string       `json:"message"`
		Tag            string       `json:"tag,omitempty"`
		RevisionNumber int          `json:"_revision_number"`
	}
	changeInfo struct {
		ID                     string                   `json:"id"`
		TripletID              string                   `json:"triplet_id"`
		Project                string                   `json:"project"`
		Branch                 string                   `json:"branch"`
		Topic                  string                   `json:"topic,omitempty"`
		Hashtags               []string                 `json:"hashtags"`
		ChangeID               string                   `json:"change_id"`
		Subject                string                   `json:"subject"`
		Status                 string                   `json:"status"`
		Created                string                   `json:"created"`
		Updated                string                   `json:"updated"`
		Submitted              string                   `json:"submitted,omitempty"`
		Submitter              *accountInfo             `json:"submitter,omitempty"`
		SubmissionID           string                   `json:"submission_id,omitempty"`
		SubmitType             string                   `json:"submit_type,omitempty"`
		Submittable            *bool                    `json:"submittable,omitempty"`
		Insertions             int                      `json:"insertions"`
		Deletions              int                      `json:"deletions"`
		TotalCommentCount      int                      `json:"total_comment_count"`
		UnresolvedCommentCount int                      `json:"unresolved_comment_count"`
		HasReviewStarted       bool                     `json:"has_review_started"`
		Number                 int                      `json:"_number"`
		Owner                  accountInfo              `json:"owner"`
		Labels                 map[string]*labelInfo    `json:"labels,omitempty"`
		PermittedLabels        map[string][]string      `json:"permitted_labels,omitempty"`
		Reviewers              map[string][]accountInfo `json:"reviewers,omitempty"`
		Messages               []messageInfo            `json:"messages,omitempty"`
		CurrentRevision        string                   `json:"current_revision,omitempty"`
		CurrentRevisionNumber  int                      `json:"current_revision_number"`
		Revisions              map[string]*revisionInfo `json:"revisions,omitempty"`
		SubmitRequirements     []requirementInfo        `json:"submit_requirements,omitempty"`
		WorkInProgress         bool                     `json:"work_in_progress,omitempty"`
		IsPrivate              bool                     `json:"is_private,omitempty"`
		MoreChanges            bool                     `json:"_more_changes,omitempty"`
	}
)

// Options of change queries (ListChangesOption) that change the answer;
// the others are accepted and ignored.
var knownOptions = []string{
	"LABELS", "DETAILED_LABELS", "CURRENT_REVISION", "ALL_REVISIONS", "CURRENT_COMMIT", "ALL_COMMITS",
	"CURRENT_FILES", "ALL_FILES", "DETAILED_ACCOUNTS", "MESSAGES", "CURRENT_ACTIONS", "CHANGE_ACTIONS",
	"REVIEWED", "DRAFT_COMMENTS", "DOWNLOAD_COMMANDS", "WEB_LINKS", "CHECK", "COMMIT_FOOTERS",
	"PUSH_CERTIFICATES", "REVIEWER_UPDATES", "SUBMITTABLE", "TRACKING_IDS", "SKIP_MERGEABLE",
	"SKIP_DIFFSTAT", "SUBMIT_REQUIREMENTS", "CUSTOM_KEYED_VALUES", "STAR", "PARENTS",
}

type options map[string]bool

func parseOptions(values []string) (options, error) {
	o := options{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToUpper(strings.TrimSpace(name))
			if !slices.Contains(knownOptions, name) {
				return nil, errorf(http.StatusBadRequest, "\"%s\" is not a valid value for \"-o\"", name)
			}
			o[name] = true
		}
	}
	return o, nil
}

const timeLayout = "2006-01-02 15:04:05.000000000"

func timestamp(t time.Time) string { return t.UTC().Format(timeLayout) }

func (s *Server) accountInfo(a *Account, o options) accountInfo {
	info := accountInfo{AccountID: a.ID}
	if o["DETAILED_ACCOUNTS"] {
		info.Name, info.Email, info.Username, info.DisplayName = a.Name, a.Email, a.Username, a.Name
	}
	return info
}

// changeInfo renders a change for viewer (nil: anonymous) with options.
func (s *Server) changeInfo(c *change, o options, viewer *Account) *changeInfo {
	ps := c.current()
	enc := url.PathEscape(c.project.name)
	enc = strings.ReplaceAll(enc, "/", "%2F")
	info := &changeInfo{
		ID:                    fmt.Sprintf("%s~%d", enc, c.number),
		TripletID:             fmt.Sprintf("%s~%s~%s", enc, url.PathEscape(c.branch), c.changeID),
		Project:               c.project.name,
		Branch:                c.branch,
		Topic:                 c.topic,
		Hashtags:              append([]string{}, c.hashtags...),
		ChangeID:              c.changeID,
		Subject:               ps.commit.subject(),
		Status:                c.status,
		Created:               timestamp(c.created),
		Updated:               timestamp(c.updated),
		Insertions:            ps.insertions(),
		Deletions:             ps.deletions(),
		HasReviewStarted:      !c.wip,
		Number:                c.number,
		Owner:                 s.accountInfo(c.owner, o),
		CurrentRevisionNumber: ps.number,
		WorkInProgress:        c.wip,
		IsPrivate:             c.private,
	}
	if c.status == StatusMerged {
		info.Submitted = timestamp(c.submitted)
		info.SubmissionID = c.submissionID
		if c.submitter != nil {
			sub := s.accountInfo(c.submitter, o)
			info.Submitter = &sub
		}
	} else {
		info.SubmitType = c.project.submitType
	}
	if o["SUBMITTABLE"] && c.open() {
		ok := submittable(c)
		info.Submittable = &ok
	}
	if o["LABELS"] || o["DETAILED_LABELS"] {
		info.Labels = s.labelInfos(c, o)
		if viewer != nil && c.open() {
			info.PermittedLabels = permittedLabels(viewer)
		}
	}
	if o["DETAILED_LABELS"] {
		info.Reviewers = map[string][]accountInfo{}
		for _, r := range c.reviewers {
			info.Reviewers["REVIEWER"] = append(info.Reviewers["REVIEWER"], s.accountInfo(r, o))
		}
	}
	if o["MESSAGES"] {
		for _, m := range c.messages {
			mi := messageInfo{ID: m.id, Date: timestamp(m.date), Message: m.text, Tag: m.tag, RevisionNumber: m.patchset}
			if m.author != nil {
				a := s.accountInfo(m.author, o)
				mi.Author = &a
			}
			info.Messages = append(info.Messages, mi)
		}
	}
	all := o["ALL_REVISIONS"]
	if all || o["CURRENT_REVISION"] {
		info.CurrentRevision = ps.commit.sha
		info.Revisions = map[string]*revisionInfo{}
		for _, p := range c.patchsets {
			if all || p == ps {
				info.Revisions[p.commit.sha] = s.revisionInfo(c, p, o, p == ps)
			}
		}
	}
	if o["SUBMIT_REQUIREMENTS"] {
		info.SubmitRequirements = requirementInfos(ps)
	}
	return info
}

func (s *Server) revisionInfo(c *change, ps *patchset, o options, current bool) *revisionInfo {
	ref := ps.ref(c.number)
	ri := &revisionInfo{
		Kind: ps.kind, Number: ps.number, Created: timestamp(ps.created),
		Uploader: s.accountInfo(ps.uploader, o), Ref: ref,
		Fetch: map[string]fetchInfo{
			"anonymous http": {URL: s.GitURL(c.project.name), Ref: ref},
			"http":           {URL: s.URL() + "a/" + c.project.name, Ref: ref},
		},
	}
	if o["ALL_COMMITS"] || (current && o["CURRENT_COMMIT"]) {
		ri.Commit = commitInfoOf(ps.commit, false)
	}
	if o["ALL_FILES"] || (current && o["CURRENT_FILES"]) {
		ri.Files = fileInfos(ps)
	}
	return ri
}

func person(i ident) *gitPersonInfo {
	return &gitPersonInfo{Name: i.Name, Email: i.Email, Date: timestamp(i.When)}
}

// commitInfoOf renders a commit; withSHA adds the commit's own SHA, as
// the commit endpoint and related changes do.
func commitInfoOf(c *commitData, withSHA bool) *commitInfo {
	ci := &commitInfo{Author: person(c.author), Committer: person(c.committer), Subject: c.subject(), Message: c.message}
	if withSHA {
		ci.Commit = c.sha
	}
	for _, p := range c.parents {
		ci.Parents = append(ci.Parents, commitInfo{Commit: p})
	}
	return ci
}

func fileInfos(ps *patchset) map[string]fileInfo {
	files := map[string]fileInfo{"/COMMIT_MSG": {Status: "A", LinesInserted: strings.Count(ps.commit.message, "\n") + 6}}
	for _, f := range ps.files {
		fi := fileInfo{LinesInserted: f.inserted, LinesDeleted: f.deleted}
		if f.status != "M" {
			fi.Status = f.status
		}
		files[f.path] = fi
	}
	return files
}

// labelInfos computes LabelInfo as Gerrit's LabelsJson does, for labels
// whose submit requirement blocks on MIN and needs MAX.
func (s *Server) labelInfos(c *change, o options) map[string]*labelInfo {
	ps := c.current()
	out := map[string]*labelInfo{}
	for _, l := range labels {
		li := &labelInfo{Description: l.name}
		if o["LABELS"] {
			for _, v := range ps.votes {
				if v.label != l.name {
					continue
				}
				a := s.accountInfo(v.account, o)
				switch {
				case v.value == l.min:
					li.Rejected, li.Blocking = &a, true
				case v.value == l.max && li.Rejected == nil:
					li.Approved = &a
				case v.value < 0 && li.Disliked == nil:
					li.Disliked = &a
				case v.value > 0 && li.Recommended == nil:
					li.Recommended = &a
				}
			}
			if li.Rejected != nil {
				li.Approved = nil
			}
		}
		if o["DETAILED_LABELS"] {
			li.Values = map[string]string{}
			for v, d := range l.values {
				li.Values[formatValue(v)] = d
			}
			for _, r := range c.reviewers {
				ai := approvalInfo{accountInfo: s.accountInfo(r, o)}
				if v := ps.vote(r, l.name); v != nil {
					ai.Value, ai.Date, ai.Tag = v.value, timestamp(v.date), v.tag
				}
				if rng, ok := r.permitted(l); ok && c.open() {
					ai.PermittedVotingRange = &votingRange{rng.Min, rng.Max}
				}
				li.All = append(li.All, ai)
			}
		}
		out[l.name] = li
	}
	return out
}

func permittedLabels(a *Account) map[string][]string {
	out := map[string][]string{}
	for _, l := range labels {
		r, ok := a.permitted(l)
		if !ok {
			continue
		}
		for v := r.Min; v <= r.Max; v++ {
			out[l.name] = append(out[l.name], formatValue(v))
		}
	}
	return out
}

func requirementInfos(ps *patchset) []requirementInfo {
	var out []requirementInfo
	for _, r := range evaluate(ps) {
		status := "UNSATISFIED"
		if r.satisfied {
			status = "SATISFIED"
		}
		out = append(out, requirementInfo{
			Name:   r.label.name,
			Status: status,
			ApplicabilityExpressionResult: &expressionInfo{
				Expression: "-branch:refs/meta/config", Fulfilled: true, Status: "PASS",
				PassingAtoms: []string{}, FailingAtoms: []string{"branch:refs/meta/config"},
			},
			SubmittabilityExpressionResult: expressionInfo{
				Expression: r.label.expression(), Fulfilled: r.satisfied, Status: map[bool]string{true: "PASS", false: "FAIL"}[r.satisfied],
				PassingAtoms: append([]string{}, r.passing...), FailingAtoms: append([]string{}, r.failing...),
			},
		})
	}
	return out
}
