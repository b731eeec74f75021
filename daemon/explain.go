package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
)

// explainRequest asks the gate loop for the explanation of a change, from
// fresh snapshots of it and of its dependency closure.
type explainRequest struct {
	change    int
	snapshots []queue.Change
	reply     chan queue.Explanation
}

// maxExplaining bounds the explanations read from Gerrit at once: each
// reads a change's closure, and anyone may ask.
const maxExplaining = 4

// Explain says where change n stands (queue.Explanation): in which
// pipelines, at which place, waiting for what, or why it is not in them.
// It reads the change and its dependency closure from Gerrit (the engine
// keeps no snapshot of changes it does not hold) and asks the engine, on
// the gate loop. The refusal comments gated posts are the same text.
func (d *Daemon) Explain(ctx context.Context, n int) (queue.Explanation, error) {
	select {
	case d.explaining <- struct{}{}:
		defer func() { <-d.explaining }()
	case <-ctx.Done():
		return queue.Explanation{}, ctx.Err()
	}
	r := &explainRequest{change: n, reply: make(chan queue.Explanation, 1)}
	ce, err := d.intake.changeEvent(ctx, "explain", n, d.now())
	switch {
	case gerrit.IsNotFound(err):
	case err != nil:
		return queue.Explanation{}, fmt.Errorf("read change %d from Gerrit: %w", n, err)
	default:
		r.snapshots = ce.Changes
	}
	if !d.mail.post(ctx, input{explain: r}) {
		return queue.Explanation{}, ctx.Err()
	}
	select {
	case x := <-r.reply:
		return x, nil
	case <-ctx.Done():
		return queue.Explanation{}, ctx.Err()
	}
}

// known reports whether a pipeline has the explained change, or Gerrit has
// it in a project gated gates.
func known(x queue.Explanation) bool {
	if x.Status != "" {
		return true
	}
	for _, p := range x.Pipelines {
		if p.Item != 0 {
			return true
		}
	}
	return false
}

// explainHandler serves GET /api/changes/{change}/explain: the change's
// explanation as JSON (404 when gated knows nothing of it).
func (d *Daemon) explainHandler(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("change"))
	if err != nil || n <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a change number", r.PathValue("change")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	x, err := d.Explain(ctx, n)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	status := http.StatusOK
	if !known(x) {
		status = http.StatusNotFound
	}
	writeJSON(w, status, x)
}
