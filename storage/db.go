package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets.
var (
	bucketMeta    = []byte("meta")    // schema identity and version
	bucketState   = []byte("state")   // the queue engine's state, in parts
	bucketEvents  = []byte("events")  // ids of consumed events → time consumed
	bucketInbox   = []byte("inbox")   // events received, not yet consumed
	bucketOutbox  = []byte("outbox")  // actions decided, not yet performed
	bucketHistory = []byte("history") // build history
)

var (
	keyApp     = []byte("app")
	keyVersion = []byte("schema")
	appID      = []byte("gated")
)

// SchemaVersion is the version of the file layout this package writes.
const SchemaVersion = 2

// ErrForeign is returned for a file that is not a gated database, or one
// written by a newer gated.
var ErrForeign = errors.New("not a gated database of a known version")

// DB is gated's bbolt file.
type DB struct {
	db *bolt.DB
}

// Open opens (creating it if needed) the database at path. A file that is
// not a gated database, is corrupt, is of a newer schema, or is locked by
// another process is refused with an error saying which; it is never
// overwritten. Older schemas are migrated.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := checkHeader(path); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open database %s: it is locked by another process (is another gated running?)", path)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	d := &DB{db: db}
	if err := d.check(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}

// openBolt opens the file; bbolt panics on some corrupt files, which must
// be an error instead.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file is corrupt: %v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
}

// check walks every page of the file once at start, so corruption is found
// before gated trusts the state in it.
func (d *DB) check() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file is corrupt: %v", r)
		}
	}()
	return d.db.View(func(tx *bolt.Tx) error {
		var first error
		for e := range tx.Check() { // drain: the checker stops when read out
			if first == nil {
				first = fmt.Errorf("the file is corrupt: %w", e)
			}
		}
		return first
	})
}

// checkHeader refuses, before bbolt maps it, a file that is not a bbolt
// file at all, or one shorter than its meta page says (a truncated copy):
// bbolt would read past the end of the mapping, which is a SIGBUS in a
// goroutine of its own, where no recover helps.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	first, err := readMeta(f, 0)
	if err != nil {
		return fmt.Errorf("open database %s: %w: cannot read its header: %v", path, ErrForeign, err)
	}
	if first.magic != boltMagic {
		return fmt.Errorf("open database %s: %w: it is not a bbolt file", path, ErrForeign)
	}
	if first.pageSize < 512 || first.pageSize > 1<<20 || first.pageSize&(first.pageSize-1) != 0 {
		return fmt.Errorf("open database %s: the file is corrupt: page size %d", path, first.pageSize)
	}
	// bbolt uses the valid meta page of the latest transaction.
	var use *boltMeta
	for _, m := range []*boltMeta{first, nil} {
		if m == nil {
			if m, err = readMeta(f, int64(first.pageSize)); err != nil {
				break
			}
		}
		if m.valid() && (use == nil || m.txid > use.txid) {
			use = m
		}
	}
	if use == nil {
		return fmt.Errorf("open database %s: the file is corrupt: neither meta page is valid (%d bytes; truncated?)", path, fi.Size())
	}
	if need := int64(use.pgid) * int64(use.pageSize); fi.Size() < need {
		return fmt.Errorf("open database %s: the file is truncated: %d bytes, but its meta page (transaction %d) says %d pages of %d bytes (%d bytes); restore it from a backup or move it away to start afresh",
			path, fi.Size(), use.txid, use.pgid, use.pageSize, need)
	}
	return nil
}

// boltMagic marks bbolt's meta pages.
const boltMagic = 0xED0CDAED

// boltMeta is bbolt's meta page (go.etcd.io/bbolt internal/common.Meta),
// after the 16 bytes of the page header, in the machine's byte order.
type boltMeta struct {
	magic, version, pageSize uint32
	pgid, txid               uint64
	checksum, sum            uint64
}

func readMeta(f *os.File, offset int64) (*boltMeta, error) {
	buf := make([]byte, 80)
	if _, err := f.ReadAt(buf, offset); err != nil {
		return nil, err
	}
	e := binary.NativeEndian
	h := fnv.New64a()
	h.Write(buf[16:72]) // magic to txid, as bbolt's Meta.Sum64
	return &boltMeta{
		magic: e.Uint32(buf[16:]), version: e.Uint32(buf[20:]), pageSize: e.Uint32(buf[24:]),
		pgid: e.Uint64(buf[56:]), txid: e.Uint64(buf[64:]), checksum: e.Uint64(buf[72:]), sum: h.Sum64(),
	}, nil
}

func (m *boltMeta) valid() bool { return m.magic == boltMagic && m.version == 2 && m.checksum == m.sum }

func (d *DB) init() error {
	return d.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if n := countBuckets(tx); n > 0 {
				return fmt.Errorf("%w: a bbolt file of another program (%d buckets, no gated identity)", ErrForeign, n)
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if err := meta.Put(keyApp, appID); err != nil {
				return err
			}
			if err := meta.Put(keyVersion, u64(0)); err != nil {
				return err
			}
		}
		if !bytes.Equal(meta.Get(keyApp), appID) {
			return fmt.Errorf("%w: a bbolt file of another program (app %q)", ErrForeign, meta.Get(keyApp))
		}
		v := binary.BigEndian.Uint64(meta.Get(keyVersion))
		if v > SchemaVersion {
			return fmt.Errorf("%w: schema version %d was written by a newer gated (this one knows %d)", ErrForeign, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return meta.Put(keyVersion, u64(SchemaVersion))
	})
}

func countBuckets(tx *bolt.Tx) int {
	n := 0
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { n++; return nil })
	return n
}

// migrations[v] turns schema v into v+1.
var migrations = []func(*bolt.Tx) error{
	// 0 → 1: the first layout.
	func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketState, bucketEvents, bucketInbox, bucketOutbox, bucketHistory} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 → 2: the build history's indexes.
	migrateHistoryIndexes,
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
