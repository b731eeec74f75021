package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
)

// AdminRequest is the body of a request to the administrators' API:
// POST /api/admin/dequeue and /api/admin/enqueue name one Change,
// /api/admin/promote the Changes to move to the head of their change
// queue, in that order. The answer is the engine's queue.Verdict, as JSON,
// with the HTTP status of its outcome (200, 404, 409, 422).
type AdminRequest struct {
	Pipeline string `json:"pipeline"`
	Change   int    `json:"change,omitempty"`
	Changes  []int  `json:"changes,omitempty"`
	// Reason is told to the change's owner ("dequeued by NAME: reason").
	Reason string `json:"reason,omitempty"`
}

// maxReason bounds the reason posted on a change.
const maxReason = 1000

// adminTimeout bounds how long a request waits for the gate loop.
const adminTimeout = 30 * time.Second

// adminAPI serves /api/admin/: administrators' requests, authenticated by
// the bearer tokens of a file (read on every request, so that tokens change
// without a restart), each an engine event committed like any other before
// the engine's verdict is answered. The daemon decides nothing: it checks
// who asks and that the request is well formed, reads the change from
// Gerrit for an enqueue, and relays the verdict.
type adminAPI struct {
	d    *Daemon
	file string
	log  *slog.Logger
}

func newAdminAPI(d *Daemon, file string) (*adminAPI, error) {
	if _, err := readTokens(file); err != nil {
		return nil, err
	}
	return &adminAPI{d: d, file: file, log: d.log.With("component", "admin")}, nil
}

// adminOff answers /api/admin/ when no token file is configured.
func adminOff(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "the admin API is off: no token file is configured (admin.token-file)")
}

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts, err := readTokens(a.file)
	if err != nil {
		a.log.Error("cannot read the admin tokens; refusing administrators' requests until they can be read", "error", err)
		writeError(w, http.StatusServiceUnavailable, "gated cannot read its admin token file; see its log")
		return
	}
	name, ok := ts.match(bearer(r))
	if !ok {
		a.log.Warn("administrator's request refused: no valid bearer token", "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="gated admin"`)
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer TOKEN)")
		return
	}
	action, found := strings.CutPrefix(r.URL.Path, "/api/admin/")
	if !found || (action != "dequeue" && action != "enqueue" && action != "promote") {
		writeError(w, http.StatusNotFound, "no such admin action: "+r.URL.Path+" (dequeue, enqueue, promote)")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	req, err := decodeAdminRequest(w, r, action)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	admin := queue.Admin{Request: a.d.requests.Add(1), By: name, Reason: req.Reason}
	ev, err := a.event(ctx, action, admin, req)
	if err != nil {
		a.log.Warn("administrator's request failed: cannot read the change from Gerrit", "admin", name, "action", action, "change", req.Change, "error", err)
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	v, err := a.d.admin(ctx, ev, admin.Request)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "gated did not answer: "+err.Error())
		return
	}
	a.log.Info("administrator's request", "admin", name, "action", action, "pipeline", req.Pipeline,
		"changes", requestChanges(req), "reason", req.Reason, "outcome", v.Outcome, "message", v.Message)
	writeJSON(w, outcomeStatus(v.Outcome), v)
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// decodeAdminRequest reads and checks the body of a request: known fields
// only, the ones the action takes.
func decodeAdminRequest(w http.ResponseWriter, r *http.Request, action string) (AdminRequest, error) {
	var req AdminRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("the body is not a JSON request: %w", err)
	}
	switch {
	case req.Pipeline == "":
		return req, errors.New("pipeline: required")
	case len(req.Reason) > maxReason:
		return req, fmt.Errorf("reason: longer than %d bytes", maxReason)
	case action == "promote" && req.Change != 0:
		return req, errors.New("change: promote takes changes, a list, head first")
	case action == "promote" && len(req.Changes) == 0:
		return req, errors.New("changes: name the changes to promote, head first")
	case action != "promote" && len(req.Changes) > 0:
		return req, fmt.Errorf("changes: %s takes one change", action)
	case action != "promote" && req.Change <= 0:
		return req, errors.New("change: a change number is required")
	}
	for _, n := range req.Changes {
		if n <= 0 {
			return req, fmt.Errorf("changes: %d is not a change number", n)
		}
	}
	return req, nil
}

// event is the engine's event for a request; an enqueue reads the change
// and its dependency closure from Gerrit (none if Gerrit has no such
// change: the engine says so).
func (a *adminAPI) event(ctx context.Context, action string, admin queue.Admin, req AdminRequest) (queue.Event, error) {
	switch action {
	case "dequeue":
		return queue.Dequeue{Admin: admin, Pipeline: req.Pipeline, Change: req.Change}, nil
	case "promote":
		return queue.Promote{Admin: admin, Pipeline: req.Pipeline, Changes: req.Changes}, nil
	}
	ev := queue.Enqueue{Admin: admin, Pipeline: req.Pipeline, Change: req.Change}
	ce, err := a.d.intake.changeEvent(ctx, "enqueue", req.Change, a.d.now())
	switch {
	case gerrit.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read change %d from Gerrit: %w", req.Change, err)
	default:
		ev.Changes, ev.ReadAt = ce.Changes, ce.ReadAt
	}
	return ev, nil
}

func requestChanges(req AdminRequest) []int {
	if req.Change != 0 {
		return []int{req.Change}
	}
	return req.Changes
}

// admin hands an administrator's request (numbered request) to the gate
// loop and returns the engine's verdict, once the transition it made is
// committed.
func (d *Daemon) admin(ctx context.Context, ev queue.Event, request uint64) (queue.Verdict, error) {
	reply := make(chan queue.Verdict, 1)
	if !d.mail.post(ctx, input{event: ev, request: request, verdict: reply}) {
		return queue.Verdict{}, ctx.Err()
	}
	select {
	case v := <-reply:
		return v, nil
	case <-ctx.Done():
		return queue.Verdict{}, ctx.Err()
	}
}

// outcomeStatus is the HTTP status of a verdict.
func outcomeStatus(o queue.Outcome) int {
	switch o {
	case queue.OutcomeAccepted:
		return http.StatusOK
	case queue.OutcomeNotFound:
		return http.StatusNotFound
	case queue.OutcomeConflict:
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
