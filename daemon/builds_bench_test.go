package daemon

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"gated.dev/gated/queue"
	"gated.dev/gated/storage"
)

// BenchmarkAPIBuilds serves /api/builds pages of 50 out of 100,000 builds
// of 5,000 changes in 20 projects, records as the loop writes them; the
// baseline is the storage read alone, without decoding and encoding JSON.
func BenchmarkAPIBuilds(b *testing.B) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "gated.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 100_000; i += 1000 {
		var t storage.Transition
		for j := range 1000 {
			n := i + j
			c := queue.ChangeRef{Project: fmt.Sprint("org/p", r.IntN(20)), Branch: "master", Number: 1 + r.IntN(5000), Patchset: 1 + r.IntN(3), Revision: fmt.Sprintf("%040x", n)}
			f := queue.BuildFinished{
				Pipeline: "gate", Item: queue.ItemID(n), Attempt: 1, Change: c, Changes: []queue.ChangeRef{c}, Subject: "Make the thing do the other thing",
				Result: queue.ResultSuccess, Name: fmt.Sprint("gated-gate-", n, "-1"), Started: t0, Finished: t0.Add(30 * time.Minute),
				Links: []queue.Link{{Name: "report", URL: "https://artifacts.example.com/gated/report.tgz"}},
			}
			if r.IntN(10) == 0 {
				f.Result, f.Message = queue.ResultFailure, "step unit-tests failed: main: Error (exit code 1)"
			}
			sb, err := storageBuild(buildRecord(f))
			if err != nil {
				b.Fatal(err)
			}
			t.History = append(t.History, sb)
		}
		if _, err := db.Commit(t, t0.Add(time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	p := &pages{db: db, hub: newHub(), publicURL: "https://gated.example.com"}
	for _, tc := range []struct{ name, query string }{
		{"newest", ""}, {"change", "?change=4242"}, {"project", "?project=org/p7"}, {"project-failures", "?project=org/p7&result=failure"},
	} {
		b.Run("api/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				p.apiBuilds(w, httptest.NewRequest("GET", "/api/builds"+tc.query, nil))
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
	b.Run("baseline-storage-only/newest", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.History(storage.HistoryQuery{Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
