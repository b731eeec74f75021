package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// historyData is the data of a page's builds, newest first, space-separated.
func historyData(t *testing.T, db *DB, q HistoryQuery) string {
	t.Helper()
	page, err := db.History(q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range page.Builds {
		out = append(out, string(b.Data))
	}
	return strings.Join(out, " ")
}

// sampleHistory commits ten builds, one an hour: b0 … b9, of changes 1-3
// in projects p and q, gate and check, passing but every third.
func sampleHistory(t *testing.T, db *DB) {
	t.Helper()
	for i := range 10 {
		b := Build{Pipeline: "gate", Project: "p", Change: i%3 + 1, Result: "success", Name: fmt.Sprint("build-", i), Data: []byte(fmt.Sprint("b", i))}
		if i%2 == 1 {
			b.Pipeline, b.Project = "check", "q"
		}
		if i%3 == 0 {
			b.Result = "failure"
		}
		if _, err := db.Commit(Transition{History: []Build{b}}, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHistoryFilters(t *testing.T) {
	db, _ := openTemp(t)
	sampleHistory(t, db)
	for _, tc := range []struct {
		name string
		q    HistoryQuery
		want string
	}{
		{"everything, newest first", HistoryQuery{}, "b9 b8 b7 b6 b5 b4 b3 b2 b1 b0"},
		{"a page", HistoryQuery{Limit: 3}, "b9 b8 b7"},
		{"by change", HistoryQuery{Change: 2}, "b7 b4 b1"},
		{"by project", HistoryQuery{Project: "q"}, "b9 b7 b5 b3 b1"},
		{"by pipeline", HistoryQuery{Pipeline: "gate"}, "b8 b6 b4 b2 b0"},
		{"by result", HistoryQuery{Result: "failure"}, "b9 b6 b3 b0"},
		{"by change and result", HistoryQuery{Change: 1, Result: "failure"}, "b9 b6 b3 b0"},
		{"by project, pipeline and result", HistoryQuery{Project: "p", Pipeline: "gate", Result: "success"}, "b8 b4 b2"},
		{"no such change", HistoryQuery{Change: 99}, ""},
		{"no such project", HistoryQuery{Project: "p\x00"}, ""},
		{"a change of another project", HistoryQuery{Change: 2, Project: "zzz"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := historyData(t, db, tc.q); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Walking pages with the cursor gives every build once, in order, and the
// last page says there is no next one.
func TestHistoryPages(t *testing.T) {
	db, _ := openTemp(t)
	sampleHistory(t, db)
	for _, q := range []HistoryQuery{{Limit: 3}, {Project: "q", Limit: 2}, {Result: "failure", Limit: 4}, {Change: 3, Limit: 1}} {
		all := historyData(t, db, HistoryQuery{Project: q.Project, Result: q.Result, Change: q.Change, Limit: 100})
		var got []string
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%+v: the pages do not end", q)
			}
			page, err := db.History(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Builds {
				got = append(got, string(b.Data))
			}
			if page.Next == "" {
				break
			}
			q.Before = page.Next
		}
		if strings.Join(got, " ") != all {
			t.Fatalf("%+v: pages gave %v, want %s", q, got, all)
		}
	}
}

func TestHistoryRefusesBadCursors(t *testing.T) {
	db, _ := openTemp(t)
	sampleHistory(t, db)
	for _, c := range []string{"zz", "00", strings.Repeat("0", 33), "' OR 1=1"} {
		if _, err := db.History(HistoryQuery{Before: c}); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor %q: error %v, want ErrBadCursor", c, err)
		}
	}
}

func TestBuildNamed(t *testing.T) {
	db, path := openTemp(t)
	sampleHistory(t, db)
	db.Close()
	db, err := Open(path) // the history survives a restart
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, found, err := db.BuildNamed("build-4")
	if err != nil || !found || string(b.Data) != "b4" || b.Change != 2 || b.Project != "p" || b.ID == "" {
		t.Fatalf("build-4: %+v %v %v", b, found, err)
	}
	if got := historyData(t, db, HistoryQuery{Before: b.ID, Limit: 2}); got != "b3 b2" {
		t.Fatalf("the page after build-4: %s", got)
	}
	if _, found, err := db.BuildNamed("build-99"); found || err != nil {
		t.Fatalf("an unknown build: %v %v", found, err)
	}
}

// A file of schema 1 (the daemon's JSON records, no indexes) is migrated:
// its builds are found by every filter and pruned by count.
func TestHistoryMigratesSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gated.db")
	old, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = old.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		meta.Put(keyApp, appID)
		meta.Put(keyVersion, u64(1))
		for _, b := range [][]byte{bucketState, bucketEvents, bucketInbox, bucketOutbox, bucketHistory} {
			tx.CreateBucket(b)
		}
		hist := tx.Bucket(bucketHistory)
		for i, rec := range []string{
			`{"pipeline":"gate","item":1,"attempt":1,"project":"org/a","change":{"project":"org/a","number":5,"patchset":1},"result":"failure","finished":"2026-01-01T00:00:00Z"}`,
			`{"pipeline":"gate","item":2,"attempt":1,"project":"org/a","change":{"project":"org/a","number":6,"patchset":1},"result":"success","finished":"2026-01-01T01:00:00Z"}`,
			`not JSON at all`,
		} {
			seq, _ := hist.NextSequence()
			hist.Put(append(u64(uint64(t0.Add(time.Duration(i)*time.Hour).UnixNano())), u64(seq)...), []byte(rec))
		}
		return nil
	})
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := historyData(t, db, HistoryQuery{Change: 5}); !strings.Contains(got, `"number":5`) {
		t.Fatalf("change 5 after migration: %s", got)
	}
	if got := historyData(t, db, HistoryQuery{Project: "org/a", Result: "success"}); !strings.Contains(got, `"number":6`) || strings.Contains(got, `"number":5`) {
		t.Fatalf("org/a successes after migration: %s", got)
	}
	if got := historyData(t, db, HistoryQuery{}); !strings.HasPrefix(got, "not JSON at all") {
		t.Fatalf("an unreadable record is kept: %s", got)
	}
	if n, err := db.Prune(t0.Add(-time.Hour), 1); err != nil || n != 2 {
		t.Fatalf("prune to 1 build: %d %v", n, err)
	}
	if got := historyData(t, db, HistoryQuery{Change: 5}); got != "" {
		t.Fatalf("change 5 after pruning: %s", got)
	}
}
