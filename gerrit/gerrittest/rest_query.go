package gerrittest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// defaultQueryLimit is the number of results of a query without n=.
const defaultQueryLimit = 500

// queryChanges answers GET /changes/?q=...: one list per q (a list of
// lists for several), newest update first, paged by n and start (or S),
// with _more_changes on the last element of a truncated page.
func (s *Server) queryChanges(rq *restRequest) (any, error) {
	qv := rq.r.URL.Query()
	queries := qv["q"]
	if len(queries) == 0 {
		queries = []string{"status:open"}
	}
	o, err := parseOptions(qv["o"])
	if err != nil {
		return nil, err
	}
	limit, err := intParam(qv.Get("n"), defaultQueryLimit)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	startParam := qv.Get("start")
	if startParam == "" {
		startParam = qv.Get("S")
	}
	start, err := intParam(startParam, 0)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var results [][]*changeInfo
	for _, q := range queries {
		pred, err := s.parseQuery(q)
		if err != nil {
			return nil, err
		}
		var matched []*change
		for _, c := range s.changes {
			if pred(c) {
				matched = append(matched, c)
			}
		}
		slices.SortFunc(matched, func(a, b *change) int {
			if n := b.updated.Compare(a.updated); n != 0 {
				return n
			}
			return cmp.Compare(b.number, a.number)
		})
		page := []*changeInfo{}
		for i := start; i < len(matched) && len(page) < limit; i++ {
			page = append(page, s.changeInfo(matched[i], o, rq.acc))
		}
		if len(page) > 0 && start+len(page) < len(matched) {
			page[len(page)-1].MoreChanges = true
		}
		results = append(results, page)
	}
	if len(results) == 1 {
		return results[0], nil
	}
	return results, nil
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf(http.StatusBadRequest, "\"%s\" is not a valid value", v)
	}
	return n, nil
}

// submittedTogetherInfo answers GET /changes/{id}/submitted_together as
// Gerrit's SubmittedTogether does: for an open change, what submitting it
// would submit (its unmerged ancestors, and with change.submitWholeTopic or
// o=TOPIC_CLOSURE its topic's changes, transitively); for a merged change,
// every change of its submission; an empty list when the change goes alone.
// The options NON_VISIBLE_CHANGES and TOPIC_CLOSURE make the answer an
// object; the changes carry CURRENT_REVISION and SUBMITTABLE, and any other
// option asked for.
func (s *Server) submittedTogetherInfo(rq *restRequest, c *change) (any, int, error) {
	var listOpts []string
	object, topicClosure := false, false
	for _, v := range rq.r.URL.Query()["o"] {
		switch strings.ToUpper(v) {
		case "NON_VISIBLE_CHANGES":
			object = true
		case "TOPIC_CLOSURE":
			object, topicClosure = true, true
		default:
			listOpts = append(listOpts, v)
		}
	}
	o, err := parseOptions(listOpts)
	if err != nil {
		return nil, 0, err
	}
	o["CURRENT_REVISION"], o["SUBMITTABLE"] = true, true
	var set []*change
	switch {
	case c.status == StatusMerged:
		for n := 1; n < s.nextChange; n++ {
			if x := s.changes[n]; x != nil && x.status == StatusMerged && x.submissionID == c.submissionID {
				set = append(set, x)
			}
		}
	case c.open():
		set, _ = s.submissionSet(c, s.submitWholeTopic || topicClosure)
	}
	out := []*changeInfo{}
	if len(set) > 1 {
		for _, x := range s.byAncestry(set, true) {
			out = append(out, s.changeInfo(x, o, rq.acc))
		}
	}
	if object {
		return map[string]any{"changes": out, "non_visible_changes": 0}, http.StatusOK, nil
	}
	return out, http.StatusOK, nil
}

type relatedChange struct {
	Project               string      `json:"project"`
	ChangeID              string      `json:"change_id"`
	Commit                *commitInfo `json:"commit"`
	ChangeNumber          int         `json:"_change_number"`
	RevisionNumber        int         `json:"_revision_number"`
	CurrentRevisionNumber int         `json:"_current_revision_number"`
	Status                string      `json:"status"`
	Submittable           bool        `json:"submittable,omitempty"`
	WorkInProgress        bool        `json:"work_in_progress,omitempty"`
}

// related answers GET .../revisions/{rev}/related as Gerrit's
// GetRelatedChangesUtil does: the changes of the project that share a patch
// set group with the change (so a relation chain, merged members included),
// newest first: descendants, the change at the given patchset, then its
// ancestors. A change alone has no related changes.
func (s *Server) related(c *change, base *patchset) map[string][]relatedChange {
	groups := map[string]bool{}
	for _, ps := range c.patchsets {
		for _, g := range ps.groups {
			groups[g] = true
		}
	}
	members := map[*change]bool{}
	for _, x := range s.changes {
		if x.project != c.project {
			continue
		}
		for _, ps := range x.patchsets {
			for _, g := range ps.groups {
				if groups[g] {
					members[x] = true
				}
			}
		}
	}
	out := map[string][]relatedChange{"changes": {}}
	if len(members) <= 1 {
		return out
	}
	entry := func(x *change, ps *patchset) relatedChange {
		ci := commitInfoOf(ps.commit, true)
		ci.Message = ""
		return relatedChange{
			Project: x.project.name, ChangeID: x.changeID, Commit: ci,
			ChangeNumber: x.number, RevisionNumber: ps.number, CurrentRevisionNumber: x.current().number,
			Status: x.status, WorkInProgress: x.wip,
		}
	}
	inChain := map[*change]bool{c: true}
	var ancestors []relatedChange
	for cur := base.commit; len(cur.parents) > 0; {
		loc, ok := s.revs[cur.parents[0]]
		if !ok || !members[loc.change] || inChain[loc.change] {
			break
		}
		inChain[loc.change] = true
		ancestors = append(ancestors, entry(loc.change, loc.patchset))
		cur = loc.patchset.commit
	}
	var descendants []relatedChange
	for frontier := []*change{c}; len(frontier) > 0; {
		var next []*change
		for _, x := range sortedChanges(members) {
			if inChain[x] || len(x.current().commit.parents) == 0 {
				continue
			}
			loc, ok := s.revs[x.current().commit.parents[0]]
			if ok && slices.Contains(frontier, loc.change) {
				inChain[x] = true
				next = append(next, x)
				descendants = append(descendants, entry(x, x.current()))
			}
		}
		frontier = next
	}
	slices.Reverse(descendants)
	out["changes"] = append(append(descendants, entry(c, base)), ancestors...)
	return out
}

func sortedChanges(set map[*change]bool) []*change {
	var out []*change
	for c := range set {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *change) int { return cmp.Compare(a.number, b.number) })
	return out
}
