package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchBuilds is the history the benchmarks read: 100,000 builds of 5,000
// changes in 20 projects, two pipelines, one build in ten failing, with
// records of about the size the daemon writes.
const benchBuilds = 100_000

func fillHistory(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "gated.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	r := rand.New(rand.NewPCG(1, 2))
	pad := bytes.Repeat([]byte("x"), 500)
	for i := 0; i < benchBuilds; i += 1000 {
		var t Transition
		for j := range 1000 {
			n := i + j
			bd := Build{Pipeline: "gate", Project: fmt.Sprint("org/p", r.IntN(20)), Change: 1 + r.IntN(5000), Result: "success", Name: fmt.Sprint("gated-gate-", n, "-1")}
			if n%2 == 1 {
				bd.Pipeline = "check"
			}
			if r.IntN(10) == 0 {
				bd.Result = "failure"
			}
			bd.Data = fmt.Appendf(nil, `{"pipeline":%q,"project":%q,"change":%d,"pad":%q}`, bd.Pipeline, bd.Project, bd.Change, pad)
			t.History = append(t.History, bd)
		}
		if _, err := db.Commit(t, t0.Add(time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// scan is the baseline: what reading the history costs without indexes,
// every build read and filtered (as the daemon's only reader did before).
func scan(db *DB, q HistoryQuery) (int, error) {
	var page []Build
	err := db.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHistory).ForEach(func(k, v []byte) error {
			var b Build
			data, err := decodeFields(v, &b)
			if err != nil {
				return err
			}
			if q.matches(&b) {
				b.Data = bytes.Clone(data)
				page = append(page, b)
			}
			return nil
		})
	})
	if len(page) > q.Limit {
		page = page[len(page)-q.Limit:]
	}
	return len(page), err
}

// BenchmarkHistory reads a page of 50 builds out of 100,000.
func BenchmarkHistory(b *testing.B) {
	db := fillHistory(b)
	second, err := db.History(HistoryQuery{Limit: 50})
	if err != nil || second.Next == "" {
		b.Fatal("no second page", err)
	}
	for _, tc := range []struct {
		name string
		q    HistoryQuery
	}{
		{"newest", HistoryQuery{}},
		{"second-page", HistoryQuery{Before: second.Next}},
		{"change", HistoryQuery{Change: 4242}},
		{"project", HistoryQuery{Project: "org/p7"}},
		{"project-failures", HistoryQuery{Project: "org/p7", Result: "failure"}},
		{"pipeline-failures", HistoryQuery{Pipeline: "gate", Result: "failure"}},
	} {
		tc.q.Limit = 50
		b.Run("page/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.History(tc.q)
				if err != nil || len(page.Builds) == 0 {
					b.Fatal(len(page.Builds), err)
				}
			}
		})
	}
	for _, tc := range []struct {
		name string
		q    HistoryQuery
	}{{"newest", HistoryQuery{}}, {"change", HistoryQuery{Change: 4242}}} {
		tc.q.Limit = 50
		b.Run("baseline-full-scan/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				if n, err := scan(db, tc.q); err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
