package gerrittest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// restRequest is one REST call.
type restRequest struct {
	r    *http.Request
	segs []string
	// acc is the authenticated account, nil for anonymous calls (paths
	// without /a/).
	acc *Account
}

func (rq *restRequest) decode(v any) error {
	body, err := io.ReadAll(io.LimitReader(rq.r.Body, 1<<20))
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(http.StatusBadRequest, "Invalid JSON: %v", err)
	}
	return nil
}

// writeJSON answers as Gerrit does: the )]}' line, then JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(")]}'\n"))
	w.Write(b)
	w.Write([]byte("\n"))
}

// writeError answers an error as Gerrit does: text/plain.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(e.Status)
	io.WriteString(w, strings.TrimRight(e.Message, "\n")+"\n")
}

// serveREST routes the REST API.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, segs []string, acc *Account) {
	rq := &restRequest{r: r, segs: segs, acc: acc}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && acc == nil {
		writeError(w, errorf(http.StatusForbidden, "Authentication required"))
		return
	}
	var (
		v   any
		err error
	)
	status := http.StatusOK
	switch segs[0] {
	case "changes":
		v, status, err = s.serveChanges(rq)
	case "config":
		v, err = s.serveConfig(rq)
	case "projects":
		v, err = s.serveProjects(rq)
	case "accounts":
		v, err = s.serveAccounts(rq)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, status, v)
}

var errNotFound = errorf(http.StatusNotFound, "Not Found")

func (s *Server) serveConfig(rq *restRequest) (any, error) {
	switch strings.Join(rq.segs, "/") {
	case "config/server/version":
		return "3.10.0", nil
	case "config/server/info":
		change := map[string]any{"update_delay": 300, "mergeability_computation_behavior": "NEVER"}
		s.mu.Lock()
		if s.submitWholeTopic {
			change["submit_whole_topic"] = true // omitted when false, as Gerrit does
		}
		s.mu.Unlock()
		return map[string]any{
			"change": change,
			"download": map[string]any{
				"schemes": map[string]any{"anonymous http": map[string]any{"url": s.URL() + "${project}"}},
			},
		}, nil
	}
	return nil, errNotFound
}

func (s *Server) serveAccounts(rq *restRequest) (any, error) {
	if len(rq.segs) != 2 || rq.r.Method != http.MethodGet {
		return nil, errNotFound
	}
	if rq.segs[1] == "self" && rq.acc == nil {
		return nil, errorf(http.StatusForbidden, "Authentication required")
	}
	a := s.accounts.lookup(rq.segs[1], rq.acc)
	if a == nil {
		return nil, errorf(http.StatusNotFound, "Account '%s' not found", rq.segs[1])
	}
	return s.accountInfo(a, options{"DETAILED_ACCOUNTS": true}), nil
}

type projectInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Parent string `json:"parent,omitempty"`
}

type branchInfo struct {
	Ref      string `json:"ref"`
	Revision string `json:"revision"`
}

func (s *Server) serveProjects(rq *restRequest) (any, error) {
	if rq.r.Method != http.MethodGet {
		return nil, errorf(http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	ctx := rq.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	segs := rq.segs
	if len(segs) == 1 || (len(segs) == 2 && segs[1] == "") {
		out := map[string]projectInfo{}
		for name := range s.projects {
			out[name] = projectInfo{ID: strings.ReplaceAll(name, "/", "%2F"), State: "ACTIVE", Parent: "All-Projects"}
		}
		return out, nil
	}
	p, err := s.project(segs[1])
	if err != nil {
		return nil, err
	}
	switch {
	case len(segs) == 2:
		return projectInfo{ID: strings.ReplaceAll(p.name, "/", "%2F"), Name: p.name, State: "ACTIVE", Parent: "All-Projects"}, nil
	case len(segs) == 3 && segs[2] == "HEAD":
		return "refs/heads/" + p.head, nil
	case segs[2] == "branches":
		tips, err := p.repo.branches(ctx)
		if err != nil {
			return nil, err
		}
		if len(segs) == 3 || (len(segs) == 4 && segs[3] == "") {
			var out []branchInfo
			for b, sha := range tips {
				out = append(out, branchInfo{Ref: "refs/heads/" + b, Revision: sha})
			}
			slices.SortFunc(out, func(a, b branchInfo) int { return cmp.Compare(a.Ref, b.Ref) })
			return out, nil
		}
		b := strings.TrimPrefix(strings.Join(segs[3:], "/"), "refs/heads/")
		if sha, ok := tips[b]; ok {
			return branchInfo{Ref: "refs/heads/" + b, Revision: sha}, nil
		}
		return nil, errorf(http.StatusNotFound, "Not found: %s", b)
	}
	return nil, errNotFound
}

// serveChanges routes /changes/...
func (s *Server) serveChanges(rq *restRequest) (any, int, error) {
	segs := rq.segs
	if len(segs) == 1 || (len(segs) == 2 && segs[1] == "") {
		if rq.r.Method != http.MethodGet {
			return nil, 0, errorf(http.StatusMethodNotAllowed, "Method Not Allowed")
		}
		v, err := s.queryChanges(rq)
		return v, http.StatusOK, err
	}
	ctx := rq.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolveChange(segs[1])
	if err != nil {
		return nil, 0, err
	}
	method := rq.r.Method
	rest := segs[2:]
	route := method + " " + strings.Join(rest, "/")
	if len(rest) >= 2 && rest[0] == "revisions" {
		ps, err := resolveRevision(c, rest[1])
		if err != nil {
			return nil, 0, err
		}
		v, err := s.serveRevision(rq, c, ps, method+" "+strings.Join(rest[2:], "/"))
		return v, http.StatusOK, err
	}
	if len(rest) >= 4 && rest[0] == "reviewers" && rest[2] == "votes" {
		if method == http.MethodDelete || (method == http.MethodPost && len(rest) == 5 && rest[4] == "delete") {
			reviewer := s.accounts.lookup(rest[1], rq.acc)
			if reviewer == nil {
				return nil, 0, errorf(http.StatusNotFound, "Not found: %s", rest[1])
			}
			return nil, 0, s.deleteVote(c, reviewer, rest[3], rq.acc)
		}
	}
	switch route {
	case "GET ":
		o, err := parseOptions(rq.r.URL.Query()["o"])
		if err != nil {
			return nil, 0, err
		}
		return s.changeInfo(c, o, rq.acc), http.StatusOK, nil
	case "GET detail":
		o, err := parseOptions(rq.r.URL.Query()["o"])
		if err != nil {
			return nil, 0, err
		}
		o["LABELS"], o["DETAILED_LABELS"], o["DETAILED_ACCOUNTS"], o["MESSAGES"] = true, true, true, true
		return s.changeInfo(c, o, rq.acc), http.StatusOK, nil
	case "GET topic":
		return c.topic, http.StatusOK, nil
	case "PUT topic", "DELETE topic":
		var in struct {
			Topic string `json:"topic"`
		}
		if err := rq.decode(&in); err != nil {
			return nil, 0, err
		}
		if method == http.MethodDelete {
			in.Topic = ""
		}
		s.setTopic(c, rq.acc, in.Topic)
		if in.Topic == "" {
			return nil, 0, nil
		}
		return in.Topic, http.StatusOK, nil
	case "GET messages":
		info := s.changeInfo(c, options{"MESSAGES": true, "DETAILED_ACCOUNTS": true}, rq.acc)
		return info.Messages, http.StatusOK, nil
	case "GET submitted_together":
		return s.submittedTogetherInfo(rq, c)
	case "POST abandon", "POST restore":
		var in struct {
			Message string `json:"message"`
		}
		if err := rq.decode(&in); err != nil {
			return nil, 0, err
		}
		act := s.abandon
		if rest[0] == "restore" {
			act = s.restore
		}
		if err := act(c, rq.acc, in.Message); err != nil {
			return nil, 0, err
		}
		return s.changeInfo(c, options{}, rq.acc), http.StatusOK, nil
	case "POST wip", "POST ready":
		s.setWIP(c, rq.acc, rest[0] == "wip")
		return nil, 0, nil
	case "POST submit":
		if err := s.submit(ctx, c, "", rq.acc); err != nil {
			return nil, 0, err
		}
		return s.changeInfo(c, options{}, rq.acc), http.StatusOK, nil
	}
	return nil, 0, errNotFound
}

// serveRevision routes /changes/{id}/revisions/{rev}/...
func (s *Server) serveRevision(rq *restRequest, c *change, ps *patchset, route string) (any, error) {
	switch route {
	case "GET ":
		return s.revisionInfo(c, ps, options{"CURRENT_COMMIT": true}, true), nil
	case "POST review":
		var in struct {
			Message        string         `json:"message"`
			Labels         map[string]int `json:"labels"`
			Tag            string         `json:"tag"`
			StrictLabels   *bool          `json:"strict_labels"`
			Ready          bool           `json:"ready"`
			WorkInProgress bool           `json:"work_in_progress"`
		}
		if err := rq.decode(&in); err != nil {
			return nil, err
		}
		if len(in.Message) > 16*1024 {
			return nil, errorf(http.StatusBadRequest, "Comment size exceeds limit (%d > %d)", len(in.Message), 16*1024)
		}
		strict := in.StrictLabels == nil || *in.StrictLabels
		applied, err := s.review(c, ps, rq.acc, reviewRequest{
			labels: in.Labels, message: in.Message, tag: in.Tag, strict: strict,
			ready: in.Ready, wip: in.WorkInProgress,
		})
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		if len(applied) > 0 {
			out["labels"] = applied
		}
		if in.Ready {
			out["ready"] = true
		}
		return out, nil
	case "POST submit":
		if err := s.submit(rq.r.Context(), c, ps.commit.sha, rq.acc); err != nil {
			return nil, err
		}
		return map[string]string{"status": StatusMerged}, nil
	case "GET related":
		return s.related(c, ps), nil
	case "GET commit":
		return commitInfoOf(ps.commit, true), nil
	case "GET files":
		return fileInfos(ps), nil
	case "GET submit_type":
		return c.project.submitType, nil
	case "GET mergeable":
		ok, err := s.mergeable(rq.r.Context(), c)
		if err != nil {
			return nil, err
		}
		return map[string]any{"submit_type": c.project.submitType, "mergeable": ok}, nil
	}
	return nil, errNotFound
}

// mergeable reports whether the change's current patchset can be
// submitted into its branch by the project's submit type without a
// conflict.
func (s *Server) mergeable(ctx context.Context, c *change) (bool, error) {
	r := c.project.repo
	tip, err := r.resolve(ctx, "refs/heads/"+c.branch)
	if err != nil || tip == "" {
		return false, err
	}
	head := c.current().commit
	ff, err := r.isAncestor(ctx, tip, head.sha)
	if err != nil {
		return false, err
	}
	var conflicts []string
	switch c.project.submitType {
	case FastForwardOnly:
		return ff, nil
	case MergeIfNecessary, MergeAlways:
		if ff {
			return true, nil
		}
		_, conflicts, err = r.mergeTrees(ctx, tip, head.sha)
	default:
		_, conflicts, err = r.pick(ctx, head, tip, c.project.submitType != CherryPick)
	}
	return err == nil && len(conflicts) == 0, err
}

// resolveChange finds a change by Gerrit's {change-id}.
func (s *Server) resolveChange(id string) (*change, error) {
	if n, err := strconv.Atoi(id); err == nil {
		return s.lookupChange(n)
	}
	var found *change
	for _, c := range s.changes {
		if s.matchesID(c, id) {
			if found != nil {
				return nil, errorf(http.StatusNotFound, "Multiple changes found for %s", id)
			}
			found = c
		}
	}
	if found == nil {
		return nil, errorf(http.StatusNotFound, "Not found: %s", id)
	}
	return found, nil
}

// matchesID reports whether a {change-id} other than a bare number names
// the change: project~number, project~branch~Change-Id or Change-Id.
func (s *Server) matchesID(c *change, id string) bool {
	parts := strings.Split(id, "~")
	switch len(parts) {
	case 1:
		return c.changeID == id
	case 2:
		return parts[0] == c.project.name && parts[1] == fmt.Sprint(c.number)
	case 3:
		return parts[0] == c.project.name && strings.TrimPrefix(parts[1], "refs/heads/") == c.branch && parts[2] == c.changeID
	}
	return false
}
