package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Entry is one record of the inbox or the outbox, in the order it was added.
type Entry struct {
	ID   uint64
	Data []byte
}

// Transition is everything one step of the gate loop writes, in one
// transaction: so a crash leaves either all of it or none.
type Transition struct {
	// State holds the parts of the engine state that changed; a nil part
	// is deleted.
	State map[string][]byte
	// EventIDs are recorded as consumed (see Seen).
	EventIDs []string
	// Inbox lists inbox entries consumed by this step.
	Inbox []uint64
	// Done lists outbox entries whose work is finished.
	Done []uint64
	// Actions are appended to the outbox; their ids are returned.
	Actions [][]byte
	// History are builds finished, added to the build history.
	History []Build
}

// Commit writes a transition and returns the outbox ids of its actions.
func (d *DB) Commit(t Transition, now time.Time) ([]uint64, error) {
	var ids []uint64
	err := d.db.Update(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketState)
		for k, v := range t.State {
			var err error
			if v == nil {
				err = st.Delete([]byte(k))
			} else {
				err = st.Put([]byte(k), v)
			}
			if err != nil {
				return err
			}
		}
		for _, id := range t.EventIDs {
			if err := tx.Bucket(bucketEvents).Put([]byte(id), u64(uint64(now.UnixNano()))); err != nil {
				return err
			}
		}
		for _, id := range t.Inbox {
			if err := tx.Bucket(bucketInbox).Delete(u64(id)); err != nil {
				return err
			}
		}
		out := tx.Bucket(bucketOutbox)
		for _, id := range t.Done {
			if err := out.Delete(u64(id)); err != nil {
				return err
			}
		}
		for _, a := range t.Actions {
			id, err := out.NextSequence()
			if err != nil {
				return err
			}
			if err := out.Put(u64(id), a); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return addBuilds(tx, t.History, now)
	})
	if err != nil {
		return nil, fmt.Errorf("commit transition: %w", err)
	}
	return ids, nil
}

// State returns every stored part of the engine state.
func (d *DB) State() (map[string][]byte, error) {
	parts := map[string][]byte{}
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).ForEach(func(k, v []byte) error {
			parts[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return parts, nil
}

// Seen reports whether an event id was consumed.
func (d *DB) Seen(id string) (bool, error) {
	var seen bool
	err := d.db.View(func(tx *bolt.Tx) error {
		seen = tx.Bucket(bucketEvents).Get([]byte(id)) != nil
		return nil
	})
	return seen, err
}

// AddInbox stores a received event until a transition consumes it, and
// returns its id.
func (d *DB) AddInbox(data []byte) (uint64, error) {
	var id uint64
	err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbox)
		var err error
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(u64(id), data)
	})
	if err != nil {
		return 0, fmt.Errorf("store received event: %w", err)
	}
	return id, nil
}

// Inbox returns the events received and not consumed, oldest first.
func (d *DB) Inbox() ([]Entry, error) { return d.entries(bucketInbox) }

// Outbox returns the actions not yet performed, oldest first.
func (d *DB) Outbox() ([]Entry, error) { return d.entries(bucketOutbox) }

func (d *DB) entries(bucket []byte) ([]Entry, error) {
	var out []Entry
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			out = append(out, Entry{ID: binary.BigEndian.Uint64(k), Data: bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bucket, err)
	}
	return out, nil
}

// Prune deletes consumed-event ids and builds older than before, and the
// oldest builds beyond keep (keep <= 0: no limit by count). It returns how
// many records it deleted.
func (d *DB) Prune(before time.Time, keep int) (int, error) {
	cut := uint64(before.UnixNano())
	var n int
	err := d.db.Update(func(tx *bolt.Tx) error {
		// Collect, then delete: deleting under a bbolt cursor skips keys.
		var evKeys [][]byte
		ev := tx.Bucket(bucketEvents)
		_ = ev.ForEach(func(k, v []byte) error {
			if binary.BigEndian.Uint64(v) < cut {
				evKeys = append(evKeys, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range evKeys {
			if err := ev.Delete(k); err != nil {
				return err
			}
		}
		builds, err := pruneHistory(tx, cut, keep)
		n = len(evKeys) + builds
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return n, nil
}
