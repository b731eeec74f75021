package merger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"gated.dev/gated/merger/jgitmerge"
)

// memoSize bounds the step outcomes remembered per project: enough for
// several pipelines of long queues and their resets.
const memoSize = 4096

// repo is the cache of one project: a bare repository, opened with go-git
// on first use, and the memo of its recent states.
type repo struct {
	project string
	dir     string

	// mu serializes all work on the repository: go-git's storage is not
	// safe for concurrent use, and fetches of one project must not
	// overlap. Different projects proceed in parallel.
	mu      sync.Mutex
	git     *git.Repository
	storage *filesystem.Storage
	memo    *memo
	// engine merges as Gerrit's JGit does, and knows the commit graph.
	engine *jgitmerge.Engine
	// known holds objects found or written since the last GC, which
	// spares a look in the store for each: a queue's items write and
	// read the same commits over and over.
	known map[plumbing.Hash]bool
	// repaired: the refs a crash may have broken were repaired, which
	// the first open does; later ones (after each fetch) need not walk
	// every ref again.
	repaired bool
}

func newRepo(project, dir string, attributes bool) *repo {
	return &repo{project: project, dir: dir, memo: newMemo(memoSize), engine: jgitmerge.New(dir, attributes),
		known: map[plumbing.Hash]bool{}}
}

// open opens the repository, creating it if needed. Callers hold r.mu.
func (r *repo) open() error {
	if r.git != nil {
		return nil
	}
	if _, err := os.Stat(r.dir); errors.Is(err, os.ErrNotExist) {
		if err := r.create(); err != nil {
			return err
		}
	} else if !r.repaired {
		if err := repairRefs(r.dir); err != nil {
			return fmt.Errorf("repair repository of %s: %w", r.project, err)
		}
	}
	r.repaired = true
	st := filesystem.NewStorageWithOptions(osfs.New(r.dir), cache.NewObjectLRU(32*cache.MiByte),
		filesystem.Options{MaxOpenDescriptors: 16})
	g, err := git.Open(st, nil)
	if err != nil {
		return fmt.Errorf("open repository of %s: %w", r.project, err)
	}
	r.git, r.storage = g, st
	return nil
}

// create initializes an empty bare repository whose garbage collection is
// the merger's to schedule.
func (r *repo) create() error {
	g, err := git.PlainInit(r.dir, true)
	if err != nil {
		return fmt.Errorf("create repository of %s: %w", r.project, err)
	}
	cfg, err := g.Config()
	if err != nil {
		return fmt.Errorf("create repository of %s: %w", r.project, err)
	}
	cfg.Raw.Section("gc").SetOption("auto", "0")
	if err := g.SetConfig(cfg); err != nil {
		return fmt.Errorf("create repository of %s: %w", r.project, err)
	}
	return nil
}

// close releases the go-git storage, so that the next use sees the
// packfiles as they are on disk. Callers hold r.mu.
func (r *repo) close() error {
	if r.storage == nil {
		return nil
	}
	err := r.storage.Close()
	r.git, r.storage = nil, nil
	return err
}

// has reports whether the object is in the repository.
func (r *repo) has(h plumbing.Hash) bool {
	if r.known[h] {
		return true
	}
	if r.storage.HasEncodedObject(h) != nil {
		return false
	}
	r.remember(h)
	return true
}

// knownLimit bounds the objects known; past it, the set starts over.
const knownLimit = 1 << 16

func (r *repo) remember(h plumbing.Hash) {
	if len(r.known) >= knownLimit {
		clear(r.known)
	}
	r.known[h] = true
}

func (r *repo) commit(h plumbing.Hash) (*object.Commit, error) {
	c, err := object.GetCommit(r.storage, h)
	if err != nil {
		return nil, fmt.Errorf("%s: read commit %s: %w", r.project, h, err)
	}
	return c, nil
}

// isAncestor reports whether commit a is b or an ancestor of b.
func (r *repo) isAncestor(a, b plumbing.Hash) (bool, error) {
	in, err := r.engine.IsAncestor(r.storage, a, b)
	if err != nil {
		return false, fmt.Errorf("%s: is %s an ancestor of %s: %w", r.project, a, b, err)
	}
	return in, nil
}

// resolve returns the commit a ref points at, or false.
func (r *repo) resolve(name string) (plumbing.Hash, bool) {
	ref, err := r.storage.Reference(plumbing.ReferenceName(name))
	if err != nil || ref.Type() != plumbing.HashReference {
		return plumbing.ZeroHash, false
	}
	return ref.Hash(), true
}

// repairRefs removes the loose ref files a crash left empty: go-git writes
// a ref by truncating its file, so a kill at the wrong moment leaves an
// empty one, and every later fetch fails on it ("ref file is empty"). Every
// ref of the cache can be had again — branches and patchsets are fetched
// when needed, speculative states are merged again — so an empty one is
// removed rather than guessed at.
func repairRefs(dir string) error {
	return filepath.WalkDir(filepath.Join(dir, "refs"), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() == 0 {
			return os.Remove(path)
		}
		return nil
	})
}
