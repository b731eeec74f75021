package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The build history. Each build is stored in bucketHistory under a key
// that sorts by time: the time of its transition and a sequence number (8
// bytes each, big-endian), so the newest build is last and pruning by age
// walks from the first. Its value is the build's fields (see Build), then
// its data.
//
// Indexes make every filtered page a walk backwards from a cursor: each
// holds, per build, a key of the field's value followed by the build's
// key, with the build's fields as value, so that a filter on a second
// field is checked on the index entry and only the builds returned are
// read. By-build maps a build's name to its key.
var (
	bucketHistoryByChange   = []byte("history-by-change")   // change (8 bytes) + key → fields
	bucketHistoryByProject  = []byte("history-by-project")  // project + 0 + key → fields
	bucketHistoryByPipeline = []byte("history-by-pipeline") // pipeline + 0 + key → fields
	bucketHistoryByResult   = []byte("history-by-result")   // result + 0 + key → fields
	bucketHistoryByBuild    = []byte("history-by-build")    // build name → key
	keyHistoryCount         = []byte("history-count")       // in bucketMeta: builds kept
)

// historyKeyLen is the length of a build's key in bucketHistory.
const historyKeyLen = 16

// Build is one finished build in the history: the fields it can be found
// by, and its record (opaque to storage; the daemon's JSON).
type Build struct {
	Pipeline string
	Project  string
	Change   int
	Result   string
	// Name is the build's name, unique among builds ("" for builds of
	// old files that did not record it): Build finds it by name.
	Name string
	Data []byte
	// ID is the build's place in the history, set by History and
	// BuildNamed: a cursor for the page after it.
	ID string
}

// HistoryQuery selects builds: every non-zero field must match.
type HistoryQuery struct {
	Pipeline, Project, Result string
	Change                    int
	// Limit is the most builds returned; 0 or less means 50.
	Limit int
	// Before, if set, is the ID of a build returned before (HistoryPage's
	// Next): the page starts with the next older build.
	Before string
}

// HistoryPage is a page of builds, newest first.
type HistoryPage struct {
	Builds []Build
	// Next is the cursor of the following page (HistoryQuery.Before); ""
	// when there is none.
	Next string
}

// ErrBadCursor is returned for a HistoryQuery.Before that no History call
// returned.
var ErrBadCursor = errors.New("bad history cursor")

// indexes lists the history's indexes, most selective first; prefix gives
// the start of an index key for a build's fields, "" when the build has
// no value for that field (the index does not hold it).
var indexes = []struct {
	bucket []byte
	prefix func(*Build) []byte
}{
	{bucketHistoryByChange, func(b *Build) []byte {
		if b.Change <= 0 {
			return nil
		}
		return u64(uint64(b.Change))
	}},
	{bucketHistoryByProject, func(b *Build) []byte { return textPrefix(b.Project) }},
	{bucketHistoryByPipeline, func(b *Build) []byte { return textPrefix(b.Pipeline) }},
	{bucketHistoryByResult, func(b *Build) []byte { return textPrefix(b.Result) }},
}

func textPrefix(s string) []byte {
	if s == "" {
		return nil
	}
	return append([]byte(s), 0)
}

// matches reports whether a build's fields pass the query's filters.
func (q *HistoryQuery) matches(b *Build) bool {
	return (q.Pipeline == "" || q.Pipeline == b.Pipeline) && (q.Project == "" || q.Project == b.Project) &&
		(q.Result == "" || q.Result == b.Result) && (q.Change == 0 || q.Change == b.Change)
}

// encodeFields encodes the fields of a build (not its data).
func encodeFields(b *Build) []byte {
	var buf []byte
	for _, s := range []string{b.Pipeline, b.Project, b.Result, b.Name} {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return binary.AppendUvarint(buf, uint64(b.Change))
}

// decodeFields decodes what encodeFields wrote into b and returns the
// rest of data (the build's record, in bucketHistory).
func decodeFields(data []byte, b *Build) ([]byte, error) {
	for _, s := range []*string{&b.Pipeline, &b.Project, &b.Result, &b.Name} {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return nil, errors.New("corrupt build record")
		}
		*s = string(data[k : k+int(n)])
		data = data[k+int(n):]
	}
	c, k := binary.Uvarint(data)
	if k <= 0 {
		return nil, errors.New("corrupt build record")
	}
	b.Change = int(c)
	return data[k:], nil
}

// addBuilds stores builds committed at now, with their index entries.
func addBuilds(tx *bolt.Tx, builds []Build, now time.Time) error {
	if len(builds) == 0 {
		return nil
	}
	hist := tx.Bucket(bucketHistory)
	for i := range builds {
		b := &builds[i]
		seq, err := hist.NextSequence()
		if err != nil {
			return err
		}
		key := append(u64(uint64(now.UnixNano())), u64(seq)...)
		fields := encodeFields(b)
		if err := hist.Put(key, append(fields[:len(fields):len(fields)], b.Data...)); err != nil {
			return err
		}
		if err := index(tx, key, b, fields); err != nil {
			return err
		}
	}
	return addCount(tx, len(builds))
}

// index adds a build's index entries.
func index(tx *bolt.Tx, key []byte, b *Build, fields []byte) error {
	for _, ix := range indexes {
		if p := ix.prefix(b); p != nil {
			if err := tx.Bucket(ix.bucket).Put(append(p, key...), fields); err != nil {
				return err
			}
		}
	}
	if b.Name != "" {
		return tx.Bucket(bucketHistoryByBuild).Put([]byte(b.Name), key)
	}
	return nil
}

// unindex removes a build's index entries.
func unindex(tx *bolt.Tx, key []byte, b *Build) error {
	for _, ix := range indexes {
		if p := ix.prefix(b); p != nil {
			if err := tx.Bucket(ix.bucket).Delete(append(p, key...)); err != nil {
				return err
			}
		}
	}
	if b.Name != "" {
		by := tx.Bucket(bucketHistoryByBuild)
		if bytes.Equal(by.Get([]byte(b.Name)), key) {
			return by.Delete([]byte(b.Name))
		}
	}
	return nil
}

func historyCount(tx *bolt.Tx) int {
	v := tx.Bucket(bucketMeta).Get(keyHistoryCount)
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func addCount(tx *bolt.Tx, n int) error {
	return tx.Bucket(bucketMeta).Put(keyHistoryCount, u64(uint64(max(historyCount(tx)+n, 0))))
}

// History returns a page of builds that match the query, newest first.
// A filtered page is a walk over the most selective index the query
// names, from the cursor backwards: its cost grows with the page, not with
// the history.
func (d *DB) History(q HistoryQuery) (HistoryPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	before := bytes.Repeat([]byte{0xff}, historyKeyLen)
	if q.Before != "" {
		k, err := hex.DecodeString(q.Before)
		if err != nil || len(k) != historyKeyLen {
			return HistoryPage{}, fmt.Errorf("%w %q: not one that a page of builds gave", ErrBadCursor, q.Before)
		}
		before = k
	}
	var page HistoryPage
	err := d.db.View(func(tx *bolt.Tx) error {
		hist := tx.Bucket(bucketHistory)
		bucket, prefix := bucketHistory, []byte(nil)
		probe := Build{Pipeline: q.Pipeline, Project: q.Project, Change: q.Change, Result: q.Result}
		for _, ix := range indexes {
			if p := ix.prefix(&probe); p != nil {
				bucket, prefix = ix.bucket, p
				break
			}
		}
		c := tx.Bucket(bucket).Cursor()
		start := append(bytes.Clone(prefix), before...)
		k, v := c.Seek(start)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev() // Seek lands at or after the cursor: the page starts before it
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			key := k[len(prefix):]
			var b Build
			var err error
			if prefix == nil {
				b.Data, err = decodeFields(v, &b)
			} else {
				_, err = decodeFields(v, &b)
			}
			if err != nil {
				return fmt.Errorf("build %x: %w", key, err)
			}
			if !q.matches(&b) {
				continue
			}
			if len(page.Builds) == q.Limit {
				page.Next = page.Builds[len(page.Builds)-1].ID
				break
			}
			if prefix != nil {
				if b.Data, err = decodeFields(hist.Get(key), &b); err != nil {
					return fmt.Errorf("build %x: %w", key, err)
				}
			}
			b.Data = bytes.Clone(b.Data)
			b.ID = hex.EncodeToString(key)
			page.Builds = append(page.Builds, b)
		}
		return nil
	})
	if err != nil {
		return HistoryPage{}, fmt.Errorf("read build history: %w", err)
	}
	return page, nil
}

// BuildNamed returns the build of that name; false if the history has
// none (never finished, or pruned).
func (d *DB) BuildNamed(name string) (Build, bool, error) {
	var (
		b     Build
		found bool
	)
	err := d.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketHistoryByBuild).Get([]byte(name))
		if key == nil {
			return nil
		}
		v := tx.Bucket(bucketHistory).Get(key)
		if v == nil {
			return fmt.Errorf("build %s: indexed at %x, which is missing", name, key)
		}
		data, err := decodeFields(v, &b)
		if err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
		b.Data, b.ID, found = bytes.Clone(data), hex.EncodeToString(key), true
		return nil
	})
	if err != nil {
		return Build{}, false, fmt.Errorf("read build history: %w", err)
	}
	return b, found, nil
}

// pruneHistory deletes the builds older than cut (nanoseconds since the
// epoch) and the oldest beyond keep (keep <= 0: no limit by count), with
// their index entries, and returns how many.
func pruneHistory(tx *bolt.Tx, cut uint64, keep int) (int, error) {
	hist := tx.Bucket(bucketHistory)
	total := historyCount(tx)
	type doomed struct {
		key []byte
		b   Build
	}
	// Collect, then delete: deleting under a bbolt cursor skips keys.
	var gone []doomed
	c := hist.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		old := binary.BigEndian.Uint64(k[:8]) < cut
		over := keep > 0 && total-len(gone) > keep
		if !old && !over {
			break // keys sort by time: the rest is newer
		}
		x := doomed{key: bytes.Clone(k)}
		if _, err := decodeFields(v, &x.b); err != nil {
			return 0, fmt.Errorf("build %x: %w", k, err)
		}
		gone = append(gone, x)
	}
	for _, x := range gone {
		if err := hist.Delete(x.key); err != nil {
			return 0, err
		}
		if err := unindex(tx, x.key, &x.b); err != nil {
			return 0, err
		}
	}
	return len(gone), addCount(tx, -len(gone))
}

// migrateHistoryIndexes turns schema 1's history (the daemon's JSON
// records, no indexes) into schema 2's: each record gets its fields, read
// from the JSON that schema 1 wrote, and its index entries.
func migrateHistoryIndexes(tx *bolt.Tx) error {
	for _, ix := range indexes {
		if _, err := tx.CreateBucketIfNotExists(ix.bucket); err != nil {
			return err
		}
	}
	if _, err := tx.CreateBucketIfNotExists(bucketHistoryByBuild); err != nil {
		return err
	}
	hist := tx.Bucket(bucketHistory)
	type entry struct{ k, v []byte }
	var old []entry
	if err := hist.ForEach(func(k, v []byte) error {
		old = append(old, entry{bytes.Clone(k), bytes.Clone(v)})
		return nil
	}); err != nil {
		return err
	}
	for _, e := range old {
		var rec struct {
			Pipeline string `json:"pipeline"`
			Project  string `json:"project"`
			Result   string `json:"result"`
			Change   struct {
				Number int `json:"number"`
			} `json:"change"`
		}
		_ = json.Unmarshal(e.v, &rec) // an unreadable record is kept, unindexed but for time
		b := Build{Pipeline: rec.Pipeline, Project: rec.Project, Result: rec.Result, Change: rec.Change.Number, Data: e.v}
		fields := encodeFields(&b)
		if err := hist.Put(e.k, append(fields[:len(fields):len(fields)], e.v...)); err != nil {
			return err
		}
		if err := index(tx, e.k, &b, fields); err != nil {
			return err
		}
	}
	return addCount(tx, len(old)-historyCount(tx))
}
