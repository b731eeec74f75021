package daemon

import (
	"fmt"
	"net/http"
	"time"
)

// statusHandler serves the status page: rendered on the server (so it works
// without JavaScript, filter included), then kept live by the script over
// /api/events.
func statusHandler(h *hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		st, _, _, _ := h.latest()
		render(w, http.StatusOK, "status.html", statusPage{Status: st, Filter: r.URL.Query().Get("q")})
	}
}

// apiStatusHandler serves /api/status: the same content as the page, as
// JSON (see Status).
func apiStatusHandler(h *hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, data, _, _ := h.latest()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(data())
	}
}

// eventsHandler streams the status as server-sent events: one "status"
// event now and one after every change, at most every interval.
func eventsHandler(h *hub, interval time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		var sent uint64
		first := true
		keepalive := time.NewTicker(30 * time.Second)
		defer keepalive.Stop()
		for {
			_, data, version, changed := h.latest()
			if first || version != sent {
				if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", data()); err != nil {
					return
				}
				flusher.Flush()
				first, sent = false, version
			}
			select {
			case <-r.Context().Done():
				return
			case <-changed:
				select { // coalesce bursts of changes
				case <-r.Context().Done():
					return
				case <-time.After(interval):
				}
			case <-keepalive.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
					return
				}
				flusher.Flush()
			}
		}
	}
}
