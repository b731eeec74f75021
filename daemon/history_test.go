package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

// hostileSubject is a commit subject that is markup.
const hostileSubject = `Fix <script>document.title='pwned'</script> & <b>bold</b>`

// buildsReply is /api/builds' answer, each build as raw JSON keys.
type buildsReply struct {
	Builds []map[string]any `json:"builds"`
	Next   string           `json:"next"`
	Error  string           `json:"error"`
}

func (w *world) builds(query string) (int, buildsReply) {
	w.t.Helper()
	code, body := w.get("/api/builds" + query)
	var r buildsReply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		w.t.Fatalf("/api/builds%s: %v\n%s", query, err, body)
	}
	return code, r
}

// gateRun merges two changes of org/a (one with a hostile subject) and
// fails a change of org/b, and waits until the gate is empty.
func gateRun(w *world) (a1, a2, b1 int) {
	w.t.Helper()
	var err error
	if a1, err = w.gerrit.Upload(context.Background(), gerrittest.Upload{Project: "org/a", Subject: hostileSubject}); err != nil {
		w.t.Fatal(err)
	}
	a2 = w.upload("org/a", nil)
	b1 = w.upload("org/b", nil)
	w.exec.Fail(b1, nil)
	for _, n := range []int{a1, a2, b1} {
		w.approve(n)
	}
	w.waitFor("org/a merged", w.merged(a1, a2))
	w.waitFor("the gate emptied", func() bool {
		st, err := w.d.Status(context.Background())
		if err != nil {
			return false
		}
		for _, p := range st.Pipelines {
			for _, q := range p.Queues {
				if len(q.Items) > 0 {
					return false
				}
			}
		}
		return true
	})
	return a1, a2, b1
}

func TestBuildHistoryAPI(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	a1, _, b1 := gateRun(w)

	code, all := w.builds("")
	if code != 200 || len(all.Builds) < 6 {
		t.Fatalf("GET /api/builds: %d, %d builds (check and gate of three changes at least)", code, len(all.Builds))
	}
	var last time.Time
	for i, b := range all.Builds {
		for _, k := range []string{"pipeline", "project", "change", "patchset", "result", "started", "finished", "url"} {
			if _, ok := b[k]; !ok {
				t.Fatalf("build %d has no %q: %v", i, k, b)
			}
		}
		finished, _ := time.Parse(time.RFC3339Nano, b["finished"].(string))
		if i > 0 && finished.After(last) {
			t.Fatalf("build %d finished after the one before it: not newest first", i)
		}
		last = finished
		if want := w.srv.URL + "/build/" + b["workflow"].(string); b["url"] != want {
			t.Fatalf("url %v, want gated's page %s (no Argo UI configured)", b["url"], want)
		}
	}

	for _, tc := range []struct {
		query string
		check func(map[string]any) bool
	}{
		{fmt.Sprintf("?change=%d", a1), func(b map[string]any) bool { return b["change"] == float64(a1) && b["subject"] == hostileSubject }},
		{"?project=org/b", func(b map[string]any) bool { return b["project"] == "org/b" }},
		{"?pipeline=gate&result=failure", func(b map[string]any) bool {
			return b["pipeline"] == "gate" && b["result"] == "failure" && b["change"] == float64(b1)
		}},
	} {
		code, r := w.builds(tc.query)
		if code != 200 || len(r.Builds) == 0 {
			t.Fatalf("%s: %d, %d builds", tc.query, code, len(r.Builds))
		}
		for _, b := range r.Builds {
			if !tc.check(b) {
				t.Fatalf("%s gave %v", tc.query, b)
			}
		}
	}

	// Pages of one, with the cursor, give every build once, in order.
	var paged []any
	for query := "?limit=1"; ; {
		code, r := w.builds(query)
		if code != 200 || len(r.Builds) != 1 {
			t.Fatalf("%s: %d %+v", query, code, r)
		}
		paged = append(paged, r.Builds[0]["id"])
		if r.Next == "" {
			break
		}
		query = "?limit=1&cursor=" + url.QueryEscape(r.Next)
	}
	var ids []any
	for _, b := range all.Builds {
		ids = append(ids, b["id"])
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages of one gave %v, want %v", paged, ids)
	}

	for _, tc := range []struct{ query, reason string }{
		{"?change=abc", "not a change number"},
		{"?change=-4", "not a change number"},
		{"?result=maybe", "not one of success"},
		{"?limit=0", "not a number from 1"},
		{"?limit=100000", "not a number from 1"},
		{"?cursor=zz", "bad history cursor"},
		{"?projet=org/a", `unknown parameter "projet"`},
		{"?project=org/a&project=org/b", "give it once"},
		{"?project=%00", "not a project name"},
	} {
		code, r := w.builds(tc.query)
		if code != 400 || !strings.Contains(r.Error, tc.reason) {
			t.Errorf("%s: %d %q, want 400 saying %q", tc.query, code, r.Error, tc.reason)
		}
	}

	// The history survives a restart.
	w.shutdown()
	w.start()
	if _, again := w.builds(""); len(again.Builds) != len(all.Builds) || again.Builds[0]["id"] != all.Builds[0]["id"] {
		t.Fatalf("after a restart: %d builds, want %d", len(again.Builds), len(all.Builds))
	}
}

// The pages show the history as text: a subject that is markup stays text.
func TestHistoryPages(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	a1, _, b1 := gateRun(w)
	_, r := w.builds(fmt.Sprintf("?change=%d&pipeline=gate", b1))
	failed := r.Builds[0]["workflow"].(string)

	for _, tc := range []struct {
		path string
		code int
		want []string
	}{
		{"/builds", 200, []string{`<table class="builds">`, `href="build/` + failed + `"`, "&lt;script&gt;"}},
		{"/builds?project=org/b&result=failure", 200, []string{`value="org/b"`, `<option selected>failure</option>`, failed}},
		{"/builds?change=x", 400, []string{"not a change number"}},
		{fmt.Sprintf("/change/%d", a1), 200, []string{"in no pipeline now", "&lt;script&gt;", `id="explanation" hidden`, `/c/org%2Fa/&#43;/` + fmt.Sprint(a1) + `">in Gerrit`}},
		{"/change/0", 400, []string{"not a change number"}},
		{"/build/" + failed, 200, []string{`class="r-failure"`, "<td>test</td>", "the simulated executor runs no containers", fmt.Sprintf(`href="../change/%d"`, b1)}},
		{"/build/gated-gate-999-1", 404, []string{"no build"}},
		{"/build/Not_A_Name", 400, []string{"not a build"}},
	} {
		code, body := w.get(tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d\n%s", tc.path, code, tc.code, body)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(body, s) {
				t.Errorf("GET %s does not show %q:\n%s", tc.path, s, body)
			}
		}
		if strings.Contains(body, "<script>document") || strings.Contains(body, "<b>bold") {
			t.Errorf("GET %s: a subject became markup", tc.path)
		}
	}
	if code, body := w.get("/metrics"); code != 200 || !strings.Contains(body, `gated_build_duration_seconds_count{pipeline="gate",result="success"}`) {
		t.Errorf("no build duration histogram in the metrics:\n%s", grep(body, "gated_build"))
	}
}

// Estimates come from the history, so a restarted gated forecasts at
// once: a held build shows its estimate, the items their expected merge.
func TestEstimatesSurviveRestart(t *testing.T) {
	w := newWorld(t, "org/a")
	n := w.upload("org/a", nil)
	w.approve(n)
	w.waitFor("the change merged", w.merged(n))
	_, r := w.builds(fmt.Sprintf("?change=%d&pipeline=gate", n))
	took := r.Builds[0]["duration_seconds"].(float64)
	w.shutdown()
	w.start()

	w.exec.Hold(true)
	a, b := w.upload("org/a", nil), w.upload("org/a", nil)
	w.approve(a)
	w.approve(b)
	var st Status
	var both time.Time // when both items were seen building
	w.waitFor("both items build, and a forecast of that state", func() bool {
		var err error
		if st, err = w.d.Status(context.Background()); err != nil {
			return false
		}
		building := 0
		for _, it := range gateItems(st) {
			if it.Phase == "building" {
				building++
			}
		}
		if building == 2 && both.IsZero() {
			both = st.Generated
		}
		// Forecasts run off the loop: wait for one of this state.
		return building == 2 && st.ForecastAt != nil && !st.ForecastAt.Before(both)
	})
	items := gateItems(st)
	for _, it := range items {
		if it.Build.Estimate != took || it.ExpectedMerge == nil || it.Subject == "" || it.Owner == "" {
			t.Fatalf("item %d: estimate %v, expected merge %v, subject %q, owner %q", it.Change.Number, it.Build.Estimate, it.ExpectedMerge, it.Subject, it.Owner)
		}
	}
	// Behind the first, the second merges no sooner (the same instant when
	// their builds started together: a submit's estimate, not in the
	// history, is 0 after a restart).
	if items[1].ExpectedMerge.Before(*items[0].ExpectedMerge) {
		t.Fatalf("the second item is expected at %v, before the first at %v", items[1].ExpectedMerge, items[0].ExpectedMerge)
	}
	w.exec.Hold(false)
	w.exec.Release(0)
	w.waitFor("both merged", w.merged(a, b))
}

func gateItems(st Status) []ItemStatus {
	var out []ItemStatus
	for _, p := range st.Pipelines {
		if p.Name != "gate" {
			continue
		}
		for _, q := range p.Queues {
			out = append(out, q.Items...)
		}
	}
	return out
}
