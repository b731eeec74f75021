package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/queue"
)

const opsToken = "ops-0123456789abcdef"

// newAdminWorld is a world whose gated has an admin token file (ops and
// bot), and whose builds are held until released.
func newAdminWorld(t *testing.T, projects ...string) *world {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("# administrators\nops "+opsToken+"\nbot bot-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWorldWith(t, func(cfg *Config) {
		cfg.Admin.TokenFile = file
		cfg.Pipelines = []PipelineYAML{{Name: "check", Disabled: true}}
	}, projects...)
	w.exec.Hold(true)
	return w
}

// call makes a request to the admin API with a token ("" for none) and
// returns the status and the body.
func (w *world) call(method, path, token, body string) (int, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// gate returns the changes in the gate, head first.
func (w *world) gate() []int {
	w.t.Helper()
	st, err := w.d.Status(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	var out []int
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if p.Name == "gate" {
					out = append(out, it.Change.Number)
				}
			}
		}
	}
	return out
}

// comments returns gated's comments on a change.
func (w *world) comments(n int) []string {
	c, err := w.gerrit.Change(n)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, m := range c.Messages {
		if m.Author == gerrittest.GatedUser {
			out = append(out, m.Text)
		}
	}
	return out
}

func (w *world) commented(n int, text string) func() bool {
	return func() bool {
		return slices.ContainsFunc(w.comments(n), func(m string) bool { return strings.Contains(m, text) })
	}
}

// Without a token, or with a wrong one, every admin request is refused
// with 401, and nothing changes.
func TestAdminAPINeedsAValidToken(t *testing.T) {
	w := newAdminWorld(t, "org/a")
	a, b := w.upload("org/a", nil), w.upload("org/a", nil)
	w.approve(a)
	w.approve(b)
	w.waitFor("both in the gate", func() bool { return slices.Equal(w.gate(), []int{a, b}) })
	w.waitFor("gated idle", w.d.Idle)
	for _, tc := range []struct{ name, header string }{
		{"no token", ""},
		{"a wrong token", "Bearer ops-0123456789abcdeX"},
		{"a prefix of a token", "Bearer ops-0123456789"},
		{"another scheme", "Basic b3BzOm9wcy0wMTIzNDU2Nzg5YWJjZGVm"},
		{"the token alone", opsToken},
	} {
		for _, path := range []string{"/api/admin/dequeue", "/api/admin/promote", "/api/admin/enqueue", "/api/admin/nothing"} {
			req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, strings.NewReader(`{"pipeline":"gate","change":1,"changes":[2]}`))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s, %s: %s, WWW-Authenticate %q", tc.name, path, resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	w.waitFor("gated idle", w.d.Idle)
	if got := w.gate(); !slices.Equal(got, []int{a, b}) {
		t.Fatalf("the gate holds %v after refused requests, want %v", got, []int{a, b})
	}
	if c := w.comments(b); len(c) != 0 {
		t.Fatalf("comments after refused requests: %q", c)
	}
}

// Bad requests get a clear 4xx with the reason, and change nothing.
func TestAdminAPIBadRequests(t *testing.T) {
	w := newAdminWorld(t, "org/a", "org/b")
	a1, a2 := w.upload("org/a", nil), w.upload("org/a", nil)
	b1 := w.upload("org/b", nil)
	unapproved := w.upload("org/a", nil)
	if err := w.gerrit.Review(unapproved, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{a1, a2, b1} {
		w.approve(n)
	}
	want := []int{a1, a2, b1}
	w.waitFor("three in the gate", func() bool { return slices.Equal(w.gate(), want) })
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"unknown pipeline", "POST", "/api/admin/dequeue", `{"pipeline":"post","change":1}`, 404, `there is no pipeline \"post\"`},
		{"change in no pipeline", "POST", "/api/admin/dequeue", `{"pipeline":"gate","change":999}`, 404, "change 999 is in no pipeline"},
		{"change unknown to Gerrit", "POST", "/api/admin/enqueue", `{"pipeline":"gate","change":999}`, 404, "Gerrit has no change 999"},
		{"change not in that pipeline", "POST", "/api/admin/promote", `{"pipeline":"gate","changes":[` + strconv.Itoa(unapproved) + `]}`, 404, "is in no pipeline"},
		{"already in the pipeline", "POST", "/api/admin/enqueue", `{"pipeline":"gate","change":` + strconv.Itoa(a2) + `}`, 409, "in the gate pipeline already"},
		{"requirements unmet", "POST", "/api/admin/enqueue", `{"pipeline":"gate","change":` + strconv.Itoa(unapproved) + `}`, 409, "missing the required approval Workflow +1"},
		{"promote across two queues", "POST", "/api/admin/promote", `{"pipeline":"gate","changes":[` + strconv.Itoa(b1) + `,` + strconv.Itoa(a2) + `]}`, 422, "different change queues"},
		{"malformed JSON", "POST", "/api/admin/dequeue", `{"pipeline":`, 400, "not a JSON request"},
		{"unknown field", "POST", "/api/admin/dequeue", `{"pipeline":"gate","change":1,"force":true}`, 400, `unknown field \"force\"`},
		{"no change", "POST", "/api/admin/dequeue", `{"pipeline":"gate"}`, 400, "change: a change number is required"},
		{"no pipeline", "POST", "/api/admin/dequeue", `{"change":1}`, 400, "pipeline: required"},
		{"promote of nothing", "POST", "/api/admin/promote", `{"pipeline":"gate","changes":[]}`, 400, "changes: name the changes to promote"},
		{"a reason too long", "POST", "/api/admin/dequeue", `{"pipeline":"gate","change":1,"reason":"` + strings.Repeat("x", 1001) + `"}`, 400, "reason: longer than 1000 bytes"},
		{"GET", "GET", "/api/admin/dequeue", ``, 405, "use POST"},
		{"unknown action", "POST", "/api/admin/reboot", `{}`, 404, "no such admin action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := w.call(tc.method, tc.path, opsToken, tc.body)
			if status != tc.status || !strings.Contains(body, tc.says) {
				t.Fatalf("%d %s, want %d and %q", status, body, tc.status, tc.says)
			}
		})
	}
	w.waitFor("gated idle", w.d.Idle)
	if got := w.gate(); !slices.Equal(got, want) {
		t.Fatalf("the gate holds %v after bad requests, want %v", got, want)
	}
	for _, n := range append(want, unapproved) {
		if c := w.comments(n); len(c) != 0 {
			t.Fatalf("comments on %d after bad requests: %q", n, c)
		}
	}
}

// Without a token file the admin API is off.
func TestAdminAPIOffWithoutTokenFile(t *testing.T) {
	w := newWorld(t, "org/a")
	status, body := w.call("POST", "/api/admin/dequeue", opsToken, `{"pipeline":"gate","change":1}`)
	if status != http.StatusNotFound || !strings.Contains(body, "admin.token-file") {
		t.Fatalf("%d %s", status, body)
	}
}

// Each accepted request is done, reported on the change with the
// administrator's name, and survives a restart right after the answer.
func TestAdminActions(t *testing.T) {
	w := newAdminWorld(t, "org/a")
	var c []int
	for range 4 {
		n := w.upload("org/a", nil)
		w.approve(n)
		c = append(c, n)
	}
	w.waitFor("four in the gate", func() bool { return slices.Equal(w.gate(), c) })

	status, body := w.call("POST", "/api/admin/promote", opsToken, `{"pipeline":"gate","changes":[`+strconv.Itoa(c[3])+`],"reason":"urgent fix"}`)
	var v queue.Verdict
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != 200 || v.Outcome != queue.OutcomeAccepted {
		t.Fatalf("promote: %d %s", status, body)
	}
	if got := w.gate(); !slices.Equal(got, []int{c[3], c[0], c[1], c[2]}) {
		t.Fatalf("after the promote the gate holds %v", got)
	}
	w.waitFor("the promote reported", w.commented(c[3], "promoted by ops: urgent fix"))

	status, body = w.call("POST", "/api/admin/dequeue", "bot-0123456789abcdef", `{"pipeline":"gate","change":`+strconv.Itoa(c[1])+`,"reason":"breaks the build"}`)
	if status != 200 || !strings.Contains(body, "left the gate pipeline") {
		t.Fatalf("dequeue: %d %s", status, body)
	}
	// Killed right after the answer: the dequeue is committed, its report
	// is in the outbox, and the reconcile at start does not undo it.
	w.shutdown()
	w.start()
	w.waitFor("the dequeue reported after the restart", w.commented(c[1], "dequeued by bot: breaks the build"))
	w.waitFor("gated idle", w.d.Idle)
	if got := w.gate(); !slices.Equal(got, []int{c[3], c[0], c[2]}) {
		t.Fatalf("after the dequeue and a restart the gate holds %v", got)
	}
	_, body = w.get("/api/changes/" + strconv.Itoa(c[1]) + "/explain")
	if !strings.Contains(body, "dequeued by bot: breaks the build") {
		t.Fatalf("explanation of the dequeued change: %s", body)
	}

	status, body = w.call("POST", "/api/admin/enqueue", opsToken, `{"pipeline":"gate","change":`+strconv.Itoa(c[1])+`}`)
	if status != 200 {
		t.Fatalf("enqueue: %d %s", status, body)
	}
	if got := w.gate(); !slices.Equal(got, []int{c[3], c[0], c[2], c[1]}) {
		t.Fatalf("after the enqueue the gate holds %v", got)
	}
	w.waitFor("the enqueue reported", w.commented(c[1], "enqueued by ops"))
	w.exec.Hold(false)
	w.exec.Release(0)
	w.waitFor("all merged", w.merged(c...))
	if order := w.gerrit.MergeOrder(); !slices.Equal(order, []int{c[3], c[0], c[2], c[1]}) {
		t.Fatalf("merge order %v", order)
	}
}

// The explanation is served as JSON to anyone; a change nobody has is 404.
func TestExplainEndpoint(t *testing.T) {
	w := newAdminWorld(t, "org/a")
	a, b := w.upload("org/a", nil), w.upload("org/a", nil)
	w.approve(a)
	w.waitFor("a in the gate", func() bool { return slices.Equal(w.gate(), []int{a}) })
	status, body := w.get("/api/changes/" + strconv.Itoa(a) + "/explain")
	var x queue.Explanation
	if err := json.Unmarshal([]byte(body), &x); err != nil || status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if x.Change != a || x.Project != "org/a" || len(x.Pipelines) != 1 || x.Pipelines[0].Position != 1 || !strings.Contains(x.Text, "In the gate pipeline, at position 1 of 1") {
		t.Fatalf("explanation %+v", x)
	}
	if status, body := w.get("/api/changes/" + strconv.Itoa(b) + "/explain"); status != 200 || !strings.Contains(body, "missing the required approvals Code-Review +2 and Workflow +1") {
		t.Fatalf("%d %s", status, body)
	}
	if status, body := w.get("/api/changes/999/explain"); status != 404 || !strings.Contains(body, "Gerrit has no change 999") {
		t.Fatalf("%d %s", status, body)
	}
	if status, _ := w.get("/api/changes/x/explain"); status != 400 {
		t.Fatalf("/api/changes/x/explain: %d", status)
	}
}

// A token file that cannot be used stops gated at start, saying why
// (and never showing a token).
func TestReadTokens(t *testing.T) {
	for _, tc := range []struct{ name, file, err string }{
		{"good", "# admins\nops " + opsToken + "\n\nbot bot-0123456789abcdef\n", ""},
		{"one field", "ops\n", ":1: want \"name token\", got 1 fields"},
		{"three fields", "ops a b\n", ":1: want \"name token\", got 3 fields"},
		{"short token", "ops short\n", ":1: the token of ops is shorter than 16 characters"},
		{"name twice", "ops " + opsToken + "\nops bot-0123456789abcdef\n", ":2: ops is named on line 1 too"},
		{"token twice", "ops " + opsToken + "\nbot " + opsToken + "\n", ":2: the token of bot is the token of line 1 too"},
		{"empty", "# nobody\n", "no token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "tokens")
			os.WriteFile(file, []byte(tc.file), 0o600)
			ts, err := readTokens(file)
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case err != nil && strings.Contains(err.Error(), opsToken):
				t.Fatalf("the error shows a token: %v", err)
			case err == nil:
				if name, ok := ts.match(opsToken); !ok || name != "ops" {
					t.Fatalf("match = %q %v", name, ok)
				}
				if _, ok := ts.match(opsToken + "x"); ok {
					t.Fatal("a longer token matched")
				}
			}
		})
	}
	if _, err := readTokens(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file is no error")
	}
}

// The change's page shows its explanation, a paragraph per pipeline, as
// text.
func TestChangePageExplainsInBrowser(t *testing.T) {
	w := newAdminWorld(t, "org/a")
	ctx := headless(t) // after the world: the browser goes first
	a, b := w.upload("org/a", nil), w.upload("org/a", nil)
	w.approve(a)
	w.waitFor("a in the gate", func() bool { return slices.Equal(w.gate(), []int{a}) })
	for _, tc := range []struct {
		change int
		says   string
	}{
		{a, "In the gate pipeline, at position 1 of 1 in change queue org/a@master"},
		{b, "This change cannot enter the gate pipeline: it is missing the required approvals Code-Review +2 and Workflow +1."},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/change/%d", w.srv.URL, tc.change))); err != nil {
			t.Fatal(err)
		}
		js := fmt.Sprintf(`!document.getElementById("explanation").hidden && [...document.querySelectorAll("#explanation-body p")].some(p => p.textContent.startsWith(%q))`, tc.says)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.InnerHTML(chromedp.CSS("body")))
			t.Fatalf("change %d: the page does not say %q: %v\n%s", tc.change, tc.says, err, body)
		}
	}
}
