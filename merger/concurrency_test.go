package merger

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestConcurrentRequests runs the requests of two queues in two projects,
// and of a state spanning both, all at once with garbage collections and
// file reads, as the daemon's workers do: every request gives what it
// gives alone.
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	other := &fixture{t: t, up: f.up, project: "org/other", dir: f.up.Repo(t, "org/other"), m: f.m}
	var reqs []Request
	var spanning []ChangeRef
	for _, p := range []*fixture{f, other} {
		base := p.commit(nil, "base", mt.Write("a.txt", lines(10, "a")))
		p.branch("master", p.commit([]string{base}, "tip", mt.Write("tip.txt", "tip\n")))
		var changes []ChangeRef
		for i := range 8 {
			rev := p.commit([]string{base}, fmt.Sprintf("change %d", i+1), mt.Write(fmt.Sprintf("f%d.txt", i), "f\n"))
			changes = append(changes, p.change(len(spanning)+i+1, rev, RebaseIfNecessary))
		}
		spanning = append(spanning, changes[0])
		reqs = append(reqs, queueRequests("gate-"+p.project[4:], changes)...)
	}
	reqs = append(reqs, request("refs/gated/spanning/1", spanning...))

	want := make([]Result, len(reqs))
	sequential := f.newMerger()
	for i, req := range reqs {
		res, err := sequential.Merge(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res
	}

	concurrent := f.newMerger()
	got := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			got[i], errs[i] = concurrent.Merge(t.Context(), req)
			if errs[i] == nil {
				for project, head := range got[i].Heads {
					if _, err := concurrent.ReadFile(t.Context(), project, head, "a.txt"); err != nil {
						errs[i] = err
					}
				}
			}
		})
		if i%5 == 0 {
			wg.Go(func() {
				if err := concurrent.GC(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	for i := range reqs {
		if errs[i] != nil {
			t.Errorf("request %d: %v", i, errs[i])
		} else if !maps.Equal(got[i].Heads, want[i].Heads) {
			t.Errorf("request %d: heads %v concurrently, %v alone", i, got[i].Heads, want[i].Heads)
		}
	}
}

// TestProjectsFetchInParallel holds the upstream's answer to a fetch of
// one project: a request for another project goes through meanwhile.
func TestProjectsFetchInParallel(t *testing.T) {
	f := newFixture(t)
	slow := &fixture{t: t, up: f.up, project: "org/slow", dir: f.up.Repo(t, "org/slow"), m: f.m}
	h, sh := newHistory(f), newHistory(slow)

	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	target, err := url.Parse(f.up.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/org/slow/") {
			once.Do(func() { close(arrived) })
			<-release
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	m, err := New(t.Context(), t.TempDir(), func(project string) string { return gate.URL + "/" + project })
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := m.Merge(t.Context(), request("refs/gated/gate/1", slow.change(1, sh.onBase, MergeIfNecessary)))
		done <- err
	}()
	<-arrived
	if _, err := m.Merge(t.Context(), request("refs/gated/gate/2", f.change(2, h.onBase, MergeIfNecessary))); err != nil {
		t.Errorf("Merge of %s while %s fetches: %v", f.project, slow.project, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("Merge of %s: %v", slow.project, err)
	}
}
