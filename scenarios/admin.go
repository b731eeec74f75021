package scenarios

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/queue"
)

// front is gated's HTTP address for the scenario, as an operator reaches
// it: one listener for the scenario's whole life, serving whichever gated
// runs now (503 while it restarts), and the administrator's token, in the
// file gated is given (admin.token-file).
type front struct {
	srv       *http.Server
	url       string
	handler   atomic.Pointer[http.Handler]
	token     string
	tokenFile string
}

// startFront listens on loopback and writes the token file.
func startFront(dir string) (*front, error) {
	var b [16]byte
	rand.Read(b[:])
	f := &front{token: "scenario-" + hex.EncodeToString(b[:]), tokenFile: filepath.Join(dir, "admin-tokens")}
	if err := os.WriteFile(f.tokenFile, []byte("scenario "+f.token+"\n"), 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h := f.handler.Load(); h != nil {
			(*h).ServeHTTP(rw, r)
			return
		}
		http.Error(rw, "gated is restarting", http.StatusServiceUnavailable)
	})}
	go f.srv.Serve(ln)
	return f, nil
}

// serve makes the front serve h (nil: gated is down).
func (f *front) serve(h http.Handler) {
	if h == nil {
		f.handler.Store(nil)
		return
	}
	f.handler.Store(&h)
}

func (f *front) close() { f.srv.Close() }

// do makes a request to gated, with the administrator's token when admin.
func (f *front) do(ctx context.Context, method, path string, body []byte, admin bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// admin makes an administrator's request through gated's admin API, as
// "gated admin" would. An action gated refuses (a 4xx verdict) is not an
// error of the scenario: what it did, or not, is for the expectations.
func (w *world) admin(ctx context.Context, st Step) error {
	changes, err := w.changes(st.Admin.Changes)
	if err != nil {
		return err
	}
	req := daemon.AdminRequest{Pipeline: st.Admin.Pipeline, Reason: st.Admin.Reason}
	if st.Kind == "promote" {
		req.Changes = changes
	} else {
		req.Change = changes[0]
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	status, data, err := w.front.do(ctx, http.MethodPost, "/api/admin/"+st.Kind, body, true)
	if err != nil {
		return err
	}
	var v queue.Verdict
	if json.Unmarshal(data, &v) != nil || v.Outcome == "" {
		return fmt.Errorf("gated's admin API answered %d: %s", status, strings.TrimSpace(string(data)))
	}
	return nil
}

// explanation is gated's explanation of a scenario's change, from its API.
func (w *world) explanation(ctx context.Context, id string) (queue.Explanation, error) {
	n, err := w.change(id)
	if err != nil {
		return queue.Explanation{}, err
	}
	status, data, err := w.front.do(ctx, http.MethodGet, fmt.Sprintf("/api/changes/%d/explain", n), nil, false)
	if err != nil {
		return queue.Explanation{}, err
	}
	var x queue.Explanation
	if err := json.Unmarshal(data, &x); err != nil || status != http.StatusOK {
		return x, fmt.Errorf("explanation of %s: %d %s", id, status, strings.TrimSpace(string(data)))
	}
	return x, nil
}

// checkExplainMentions checks that the explanation of each change names
// the changes wanted, by number.
func (w *world) checkExplainMentions(ctx context.Context, want map[string][]string) error {
	for _, id := range sortedKeys(want) {
		x, err := w.explanation(ctx, id)
		if err != nil {
			return err
		}
		var named []int
		for _, p := range x.Pipelines {
			named = append(named, p.Changes...)
		}
		for _, m := range want[id] {
			n, err := w.change(m)
			if err != nil {
				return err
			}
			if !slices.Contains(named, n) {
				return fmt.Errorf("wanted the explanation of %s to name %s (change %d), got %q", id, m, n, x.Text)
			}
		}
	}
	return nil
}

// checkExplainContains checks that the explanation of each change contains
// the text wanted, case-insensitively.
func (w *world) checkExplainContains(ctx context.Context, want map[string]string) error {
	for _, id := range sortedKeys(want) {
		x, err := w.explanation(ctx, id)
		if err != nil {
			return err
		}
		if !strings.Contains(strings.ToLower(x.Text), strings.ToLower(want[id])) {
			return fmt.Errorf("wanted the explanation of %s to contain %q, got %q", id, want[id], x.Text)
		}
	}
	return nil
}
