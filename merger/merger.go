package merger

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// Merger builds, keeps and serves speculative states. It is safe for
// concurrent use: work on one project is serialized, projects proceed in
// parallel.
type Merger struct {
	dir       string
	remote    func(project string) string
	log       *slog.Logger
	committer object.Signature
	// attributes: merge as Gerrit does with core.useGitattributesForMerge.
	attributes bool

	fetches, merges, reused atomic.Int64

	mu    sync.Mutex
	repos map[string]*repo
}

// Option configures a Merger.
type Option func(*Merger)

// WithLogger sets where the merger logs; the default discards.
func WithLogger(l *slog.Logger) Option { return func(m *Merger) { m.log = l } }

// WithGitattributesForMerge makes the merger follow .gitattributes as
// Gerrit 3.12 and later do when gerrit.config sets
// core.useGitattributesForMerge (it cannot be read over REST): the "ours"
// side's binary, -merge and merge=binary make a file changed on both sides
// a conflict, and merge=union joins both sides' lines. The default, off,
// is Gerrit's default and the only behaviour of older Gerrits: attributes
// are ignored.
func WithGitattributesForMerge(on bool) Option { return func(m *Merger) { m.attributes = on } }

// New returns a merger whose repository cache is under dir (created if
// needed; repositories already there are reused). remote gives the URL a
// project is fetched from, typically Gerrit's; it may carry basic-auth
// credentials, which the merger never logs.
func New(ctx context.Context, dir string, remote func(project string) string, opts ...Option) (*Merger, error) {
	if err := checkGit(ctx); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("merger directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("merger directory: %w", err)
	}
	m := &Merger{
		dir:       abs,
		remote:    remote,
		log:       slog.New(slog.DiscardHandler),
		committer: object.Signature{Name: "gated", Email: "gated@gated.invalid"},
		repos:     map[string]*repo{},
	}
	for _, o := range opts {
		o(m)
	}
	if err := m.discover(); err != nil {
		return nil, err
	}
	return m, nil
}

// discover registers the repositories already in the cache, so that Forget
// and GC reach them after a restart.
func (m *Merger) discover() error {
	err := filepath.WalkDir(m.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !strings.HasSuffix(path, ".git") || path == m.dir {
			return err
		}
		rel, err := filepath.Rel(m.dir, path)
		if err != nil {
			return err
		}
		project := strings.TrimSuffix(filepath.ToSlash(rel), ".git")
		if checkProject(project) == nil {
			m.repos[project] = newRepo(project, path, m.attributes)
		}
		return fs.SkipDir
	})
	if err != nil {
		return fmt.Errorf("scan repository cache %s: %w", m.dir, err)
	}
	return nil
}

// repo returns the cache entry of a project, registering it.
func (m *Merger) repo(project string) (*repo, error) {
	if err := checkProject(project); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.repos[project]
	if !ok {
		r = newRepo(project, projectDir(m.dir, project), m.attributes)
		m.repos[project] = r
	}
	return r, nil
}

// allRepos returns every cached repository, sorted by project.
func (m *Merger) allRepos() []*repo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*repo, 0, len(m.repos))
	for _, r := range m.repos {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].project < out[j].project })
	return out
}

// Stats counts the merger's work since New, for metrics.
type Stats struct {
	// Fetches from remotes.
	Fetches int64
	// Merges run: merges, rebases and cherry-picks.
	Merges int64
	// Reused steps: changes whose outcome on the same state was known
	// from an earlier request, so that only a commit was written.
	Reused int64
}

// Stats returns the counters.
func (m *Merger) Stats() Stats {
	return Stats{Fetches: m.fetches.Load(), Merges: m.merges.Load(), Reused: m.reused.Load()}
}

// signature is the merger's identity at the request's time, normalized so
// that the encoding of a commit depends on the instant alone.
func (m *Merger) signature(when time.Time) object.Signature {
	s := m.committer
	s.When = when.UTC().Truncate(time.Second)
	return s
}
