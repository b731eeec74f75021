package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/daemon"
)

// adminRun runs "gated admin ARGS..." and returns its exit status and
// outputs.
func adminRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := adminCommand(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// integrated returns the changes of the demo's shared change queue in the
// gate, head first.
func integrated(t *testing.T, url string) []int {
	t.Helper()
	resp, err := http.Get(url + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st daemon.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			if p.Name == "gate" && q.Name == "integrated@master" {
				for _, it := range q.Items {
					out = append(out, it.Change.Number)
				}
			}
		}
	}
	return out
}

// waitFor waits for cond, for up to a minute (the status page is
// published a little after each change).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The CLI against a running "gated demo": explain without a token; every
// action refused without one; dequeue, promote and enqueue with the
// demo's token; refusals print gated's reason and exit 1.
func TestAdminCLIAgainstTheDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	type ready struct{ url, tokens string }
	started := make(chan ready, 1)
	done := make(chan error, 1)
	go func() {
		// Builds take an hour: what the test arranges stays where it is.
		done <- runDemo(ctx, slog.New(slog.DiscardHandler), demoOptions{
			listen: "127.0.0.1:0", every: 50 * time.Millisecond, build: time.Hour,
			ready: func(url, tokens string) { started <- ready{url, tokens} },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	var demo ready
	select {
	case demo = <-started:
	case err := <-done:
		t.Fatalf("demo: %v", err)
	}
	var q []int
	waitFor(t, "four changes in the demo's gate", func() bool {
		q = integrated(t, demo.url)
		return len(q) >= 4
	})
	second, last := strconv.Itoa(q[1]), strconv.Itoa(q[len(q)-1])
	url := "-url=" + demo.url
	token := "-token-file=" + demo.tokens

	code, out, _ := adminRun(t, "explain", url, second)
	if code != 0 || !strings.Contains(out, "In the gate pipeline, at position 2 of") || !strings.Contains(out, "Change "+second+" (demo/") {
		t.Fatalf("explain: %d\n%s", code, out)
	}
	code, out, _ = adminRun(t, "explain", url, "-json", second)
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("explain -json: %d\n%s", code, out)
	}
	code, _, errOut := adminRun(t, "dequeue", url, second)
	if code != 1 || !strings.Contains(errOut, "no token") {
		t.Fatalf("dequeue without a token file: %d %s", code, errOut)
	}
	t.Setenv("GATED_TOKEN_FILE", "")
	code, _, errOut = adminRun(t, "dequeue", url, "-token-file=/dev/null", second)
	if code != 1 || !strings.Contains(errOut, "holds no token") {
		t.Fatalf("dequeue with an empty token file: %d %s", code, errOut)
	}

	wrong := filepath.Join(t.TempDir(), "token")
	os.WriteFile(wrong, []byte("wrong-0123456789abcdef\n"), 0o600)
	code, _, errOut = adminRun(t, "dequeue", url, "-token-file="+wrong, second)
	if code != 1 || !strings.Contains(errOut, "401 Unauthorized: a valid bearer token is required") {
		t.Fatalf("dequeue with a wrong token: %d %s", code, errOut)
	}
	if !slices.Contains(integrated(t, demo.url), q[1]) {
		t.Fatalf("change %s left the gate on a request with a wrong token", second)
	}

	code, out, errOut = adminRun(t, "dequeue", url, token, "-reason", "testing the CLI", second)
	if code != 0 || !strings.Contains(out, "change "+second+" left the gate pipeline") {
		t.Fatalf("dequeue: %d %s %s", code, out, errOut)
	}
	waitFor(t, "change "+second+" out of the gate", func() bool { return !slices.Contains(integrated(t, demo.url), q[1]) })
	code, out, _ = adminRun(t, "explain", url, second)
	if code != 0 || !strings.Contains(out, "dequeued by demo: testing the CLI") {
		t.Fatalf("explain after the dequeue: %d\n%s", code, out)
	}

	// Flags may follow the changes.
	code, out, errOut = adminRun(t, "promote", last, url, token)
	if code != 0 || !strings.Contains(out, "is now "+last+", ") {
		t.Fatalf("promote: %d %s %s", code, out, errOut)
	}
	waitFor(t, "change "+last+" at the head", func() bool { return integrated(t, demo.url)[0] == q[len(q)-1] })

	code, out, errOut = adminRun(t, "enqueue", url, token, second)
	if code != 0 || !strings.Contains(out, "change "+second+" entered the gate pipeline") {
		t.Fatalf("enqueue: %d %s %s", code, out, errOut)
	}

	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"enqueue", url, token, "999999"}, "gated refused (not-found): Gerrit has no change 999999"},
		{[]string{"dequeue", url, token, "-pipeline", "post", second}, `gated refused (not-found): there is no pipeline "post"`},
		{[]string{"enqueue", url, token, second}, "gated refused (conflict): change " + second + " is in the gate pipeline already"},
		{[]string{"dequeue", url, "-token-file=" + demo.tokens + ".missing", second}, "read the token"},
	} {
		code, out, errOut := adminRun(t, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.says) {
			t.Fatalf("%v: %d %q %q, want 1 and %q", tc.args, code, out, errOut, tc.says)
		}
	}
	if code, _, errOut := adminRun(t, "explain", url, "999999"); code != 1 || errOut != "" {
		t.Fatalf("explain of an unknown change: %d %s", code, errOut)
	}
	for _, args := range [][]string{{}, {"reboot", "1"}, {"dequeue", url}, {"dequeue", url, "x"}, {"dequeue", url, "1", "2"}} {
		if code, _, _ := adminRun(t, args...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
}
