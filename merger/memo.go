package merger

import (
	"container/list"
	"crypto/sha256"

	"github.com/go-git/go-git/v5/plumbing"
)

// stateKey identifies a branch state by how it was built: the base commit
// and, in order, every patchset applied with its submit type. Two requests
// that share a prefix of changes share the keys of that prefix, whatever
// their commit times; this is what makes the merger incremental.
type stateKey [sha256.Size]byte

func baseStateKey(project, branch string, base plumbing.Hash) stateKey {
	return sha256.Sum256([]byte("base\x00" + project + "\x00" + branch + "\x00" + base.String()))
}

func (k stateKey) next(revision plumbing.Hash, submitType string) stateKey {
	return sha256.Sum256(append(k[:], []byte("\x00"+revision.String()+"\x00"+submitType)...))
}

// memo remembers the outcome of the steps of recent states, least recently
// used first out. Outcomes hold trees, not commits: the commits of a state
// are cheap to write again with another request's time, the merges are
// not. It belongs to one repository and is guarded by its lock.
type memo struct {
	max   int
	order *list.List // of *memoEntry, most recent first
	byKey map[stateKey]*list.Element
}

type memoEntry struct {
	key stateKey
	out outcome
}

func newMemo(max int) *memo {
	return &memo{max: max, order: list.New(), byKey: map[stateKey]*list.Element{}}
}

func (m *memo) get(k stateKey) (outcome, bool) {
	e, ok := m.byKey[k]
	if !ok {
		return outcome{}, false
	}
	m.order.MoveToFront(e)
	return e.Value.(*memoEntry).out, true
}

func (m *memo) put(k stateKey, out outcome) {
	if e, ok := m.byKey[k]; ok {
		e.Value.(*memoEntry).out = out
		m.order.MoveToFront(e)
		return
	}
	m.byKey[k] = m.order.PushFront(&memoEntry{key: k, out: out})
	for m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.byKey, last.Value.(*memoEntry).key)
	}
}

// clear forgets everything, for when garbage collection may have pruned
// the trees outcomes refer to.
func (m *memo) clear() {
	m.order.Init()
	clear(m.byKey)
}
