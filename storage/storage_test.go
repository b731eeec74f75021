package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gated.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestTransitionIsDurableAcrossReopen(t *testing.T) {
	db, path := openTemp(t)
	in1, _ := db.AddInbox([]byte("event one"))
	in2, _ := db.AddInbox([]byte("event two"))
	ids, err := db.Commit(Transition{
		State:    map[string][]byte{"meta": []byte(`{"n":1}`), "queue/a": []byte("A"), "queue/b": []byte("B")},
		EventIDs: []string{"ev-1"},
		Inbox:    []uint64{in1},
		Actions:  [][]byte{[]byte("merge"), []byte("build")},
		History:  []Build{{Pipeline: "gate", Project: "org/a", Change: 7, Result: "success", Name: "b1", Data: []byte("h1")}},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] >= ids[1] {
		t.Fatalf("outbox ids %v: want two increasing ids", ids)
	}
	// A nil part is deleted (a queue that was removed).
	if _, err := db.Commit(Transition{State: map[string][]byte{"queue/a": []byte("A2"), "queue/b": nil}, Done: []uint64{ids[0]}}, t0); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	state, _ := db.State()
	if want := map[string][]byte{"meta": []byte(`{"n":1}`), "queue/a": []byte("A2")}; !reflect.DeepEqual(state, want) {
		t.Fatalf("state %q, want %q", state, want)
	}
	if seen, _ := db.Seen("ev-1"); !seen {
		t.Fatal("consumed event not remembered")
	}
	if seen, _ := db.Seen("ev-2"); seen {
		t.Fatal("unknown event reported as seen")
	}
	inbox, _ := db.Inbox()
	if len(inbox) != 1 || inbox[0].ID != in2 || string(inbox[0].Data) != "event two" {
		t.Fatalf("inbox %v: want only event two", inbox)
	}
	outbox, _ := db.Outbox()
	if len(outbox) != 1 || outbox[0].ID != ids[1] || string(outbox[0].Data) != "build" {
		t.Fatalf("outbox %v: want only the build", outbox)
	}
	hist, _ := db.History(HistoryQuery{Change: 7})
	if len(hist.Builds) != 1 || string(hist.Builds[0].Data) != "h1" || hist.Builds[0].Name != "b1" {
		t.Fatalf("history %+v", hist)
	}
}

func TestOutboxIdsAreNeverReused(t *testing.T) {
	db, path := openTemp(t)
	ids, _ := db.Commit(Transition{Actions: [][]byte{[]byte("a")}}, t0)
	db.Commit(Transition{Done: ids}, t0)
	db.Close()
	db, _ = Open(path)
	defer db.Close()
	again, _ := db.Commit(Transition{Actions: [][]byte{[]byte("b")}}, t0)
	if again[0] <= ids[0] {
		t.Fatalf("id %d reused after %d", again[0], ids[0])
	}
}

func TestPrune(t *testing.T) {
	db, _ := openTemp(t)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Hour)
		db.Commit(Transition{EventIDs: []string{fmt.Sprintf("ev%d", i)}, History: []Build{{Project: "p", Change: i + 1, Name: fmt.Sprint("b", i), Data: []byte(fmt.Sprintf("h%d", i))}}}, at)
	}
	n, err := db.Prune(t0.Add(3*time.Hour), 5)
	if err != nil {
		t.Fatal(err)
	}
	// Events 0-2 are old; history 0-2 are old and 3-4 are beyond 5 kept.
	if n != 3+5 {
		t.Fatalf("pruned %d records, want 8", n)
	}
	if got := historyData(t, db, HistoryQuery{}); got != "h9 h8 h7 h6 h5" {
		t.Fatalf("history after prune: %s", got)
	}
	for _, q := range []HistoryQuery{{Change: 3}, {Project: "p", Limit: 100}} {
		if got := historyData(t, db, q); strings.Contains(got, "h3") || strings.Contains(got, "h4 ") {
			t.Fatalf("a pruned build is still indexed (%+v): %s", q, got)
		}
	}
	if _, found, _ := db.BuildNamed("b4"); found {
		t.Fatal("a pruned build is still found by name")
	}
	if seen, _ := db.Seen("ev2"); seen {
		t.Fatal("old event id kept")
	}
	if seen, _ := db.Seen("ev3"); !seen {
		t.Fatal("recent event id pruned")
	}
	if got := historyData(t, db, HistoryQuery{Limit: 2}); got != "h9 h8" {
		t.Fatalf("a page of 2: %s, want the newest two", got)
	}
}

func TestRefusesFilesItDoesNotOwn(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.db")
	os.WriteFile(text, []byte(strings.Repeat("not a database\n", 500)), 0o600)

	other := filepath.Join(dir, "other.db")
	b, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
	b.Close()

	newer := filepath.Join(dir, "newer.db")
	db, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	db.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, u64(SchemaVersion+1)) })
	db.Close()

	for _, tc := range []struct{ name, path, want string }{
		{"a text file", text, "not a bbolt file"},
		{"another program's bbolt file", other, "another program"},
		{"a newer schema", newer, "newer gated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.path)
			db, err := Open(tc.path)
			if err == nil {
				db.Close()
				t.Fatal("Open accepted it")
			}
			if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrForeign saying %q", err, tc.want)
			}
			if after, _ := os.ReadFile(tc.path); string(after) != string(before) {
				t.Fatal("the file was modified")
			}
		})
	}
}

func TestSecondOpenIsRefusedWhileLocked(t *testing.T) {
	_, path := openTemp(t)
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("a second Open of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "another gated") {
		t.Fatalf("error %q does not say why", err)
	}
}

func TestCorruptFileIsRefused(t *testing.T) {
	_, path := openTemp(t)
	// openTemp's DB is still open; make our own file.
	path = filepath.Join(filepath.Dir(path), "corrupt.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Commit(Transition{State: map[string][]byte{"meta": []byte("x")}}, t0)
	db.Close()
	data, _ := os.ReadFile(path)
	for i := 4096 * 2; i < len(data); i++ { // keep the meta pages, ruin the rest
		data[i] = 0xff
	}
	os.WriteFile(path, data, 0o600)
	db, err = Open(path)
	if err == nil {
		_, err = db.State()
		db.Close()
	}
	if err == nil {
		t.Fatal("a corrupt file was opened and read without error")
	}
}

// A truncated file (a copy cut short, `head -c 20000 gated.db`) is refused
// with an error that says so. bbolt would crash the process with SIGBUS,
// so each Open runs in a child process: a crash fails the case cleanly.
func TestTruncatedFileIsRefused(t *testing.T) {
	if path := os.Getenv("GATED_STORAGE_OPEN"); path != "" {
		db, err := Open(path)
		if err == nil {
			_, err = db.State()
			db.Close()
		}
		fmt.Printf("open: %v\n", err)
		os.Exit(0)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gated.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		part := bytes.Repeat([]byte{byte(i)}, 4000)
		if _, err := db.Commit(Transition{State: map[string][]byte{fmt.Sprint("part", i): part}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := readMeta(f, int64(4096))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	need := int(m.pgid) * int(m.pageSize)
	t.Logf("file %d bytes, meta page says %d pages of %d (%d bytes)", len(data), m.pgid, m.pageSize, need)
	if need <= 20000 {
		t.Fatalf("the file needs only %d bytes; the test wants more", need)
	}
	cases := []struct {
		name string
		size int
		want string // in the child's output
	}{
		{"cut as in the report", 20000, "the file is truncated"},
		{"one byte short", need - 1, "the file is truncated"},
		{"the meta pages only", 2 * int(m.pageSize), "the file is truncated"},
		{"one meta page", int(m.pageSize) + 100, "the file is truncated"},
		{"less than a header", 10, "not a gated database"},
		{"whole", len(data), "open: <nil>"},
		{"longer, with zeros", len(data) + 8192, "open: <nil>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "gated.db")
			content := append(append([]byte{}, data...), make([]byte, max(0, tc.size-len(data)))...)[:tc.size]
			if err := os.WriteFile(cut, content, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestTruncatedFileIsRefused$")
			cmd.Env = append(os.Environ(), "GATED_STORAGE_OPEN="+cut)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the child crashed (%v):\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("child said:\n%s\nwant %q", out, tc.want)
			}
		})
	}
}
