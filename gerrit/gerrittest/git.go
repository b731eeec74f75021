package gerrittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"gated.dev/gated/merger/jgitmerge"
)

// repo is a bare git repository, worked on with the system git; its
// merges are JGit's, as Gerrit's are.
type repo struct {
	dir string
	// home isolates git from the user's and the system's configuration.
	home string
	// merges merges as Gerrit's JGit does; mergeMu guards it, for the
	// few readers (mergeable) that do not hold the server's lock.
	mergeMu sync.Mutex
	merges  *jgitmerge.Engine
}

// ident is a git author or committer.
type ident struct {
	Name  string
	Email string
	When  time.Time
}

// gitEnv is the environment of every git command: the process's, minus
// anything that would point git elsewhere, plus an isolated configuration.
func gitEnv(home string, extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	// No system or user attributes either: Gerrit's merges read none.
	env = append(env, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_ATTR_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return append(env, extra...)
}

// gitError is a failed git command, with its stderr.
type gitError struct {
	args   []string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: exit %d: %s", strings.Join(e.args, " "), e.code, strings.TrimSpace(e.stderr))
}

// run runs git in the repository and returns its stdout.
func (r *repo) run(ctx context.Context, stdin []byte, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = gitEnv(r.home, append([]string{"GIT_DIR=" + r.dir}, env...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.Bytes(), &gitError{args: args, code: ee.ExitCode(), stderr: stderr.String()}
		}
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// exitCode is the exit status of a failed git command, or -1.
func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// initRepo creates a project's repository; gitattributes is Gerrit's
// core.useGitattributesForMerge.
func initRepo(ctx context.Context, dir, home, head string, gitattributes bool) (*repo, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	r := &repo{dir: dir, home: home, merges: jgitmerge.New(dir, gitattributes)}
	cmd := exec.CommandContext(ctx, "git", "init", "--quiet", "--bare", "--initial-branch="+head, dir)
	cmd.Env = gitEnv(home)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git init %s: %w: %s", dir, err, out)
	}
	for _, kv := range [][2]string{
		{"core.logAllRefUpdates", "false"},
		{"gc.auto", "0"},
		{"receive.advertisePushOptions", "true"},
		{"receive.hideRefs", "refs/changes/"},
		{"uploadpack.allowAnySHA1InWant", "true"},
		{"http.receivepack", "true"},
	} {
		if _, err := r.run(ctx, nil, nil, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	hook := filepath.Join(dir, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte(preReceiveHook), 0o755); err != nil {
		return nil, fmt.Errorf("install pre-receive hook: %w", err)
	}
	return r, nil
}

// preReceiveHook lets clients push only to refs/for/* (turned into changes
// by the server after the push), and to branches and tags when the server
// says the pusher may (GATED_SIM_DIRECT_PUSH=1), as Gerrit's access control
// does.
const preReceiveHook = `#!/bin/sh
status=0
while read old new ref; do
	case "$ref" in
	refs/for/*) ;;
	refs/heads/*|refs/tags/*)
		if [ "$GATED_SIM_DIRECT_PUSH" != 1 ]; then
			echo "prohibited by Gerrit: not permitted: update $ref" >&2
			status=1
		fi ;;
	*)
		echo "prohibited by Gerrit: not permitted: create $ref" >&2
		status=1 ;;
	esac
done
exit $status
`

// commitInput describes a commit to create.
type commitInput struct {
	parents   []string
	tree      string
	message   string
	author    ident
	committer ident
}

func identEnv(prefix string, i ident) []string {
	return []string{
		prefix + "_NAME=" + i.Name,
		prefix + "_EMAIL=" + i.Email,
		fmt.Sprintf("%s_DATE=@%d +0000", prefix, i.When.Unix()),
	}
}

func (r *repo) commitTree(ctx context.Context, in commitInput) (string, error) {
	args := []string{"commit-tree", in.tree}
	for _, p := range in.parents {
		args = append(args, "-p", p)
	}
	args = append(args, "-F", "-")
	env := append(identEnv("GIT_AUTHOR", in.author), identEnv("GIT_COMMITTER", in.committer)...)
	out, err := r.run(ctx, []byte(in.message), env, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// writeTree returns the tree of base (empty if "") with files written over
// it.
func (r *repo) writeTree(ctx context.Context, base string, files map[string]string) (string, error) {
	index, err := os.CreateTemp(r.home, "index-*")
	if err != nil {
		return "", err
	}
	index.Close()
	os.Remove(index.Name())
	defer os.Remove(index.Name())
	env := []string{"GIT_INDEX_FILE=" + index.Name()}
	if base != "" {
		if _, err := r.run(ctx, nil, env, "read-tree", base); err != nil {
			return "", err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var info bytes.Buffer
	for _, p := range paths {
		blob, err := r.run(ctx, []byte(files[p]), nil, "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&info, "100644 %s\t%s\n", strings.TrimSpace(string(blob)), p)
	}
	if info.Len() > 0 {
		if _, err := r.run(ctx, info.Bytes(), env, "update-index", "--add", "--index-info"); err != nil {
			return "", err
		}
	}
	out, err := r.run(ctx, nil, env, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// commitData is a parsed commit object.
type commitData struct {
	sha       string
	tree      string
	parents   []string
	author    ident
	committer ident
	message   string
}

func (c *commitData) subject() string {
	s, _, _ := strings.Cut(strings.TrimLeft(c.message, "\n"), "\n")
	return strings.TrimSpace(s)
}

func (r *repo) readCommit(ctx context.Context, sha string) (*commitData, error) {
	out, err := r.run(ctx, nil, nil, "cat-file", "commit", sha)
	if err != nil {
		return nil, err
	}
	head, msg, _ := strings.Cut(string(out), "\n\n")
	c := &commitData{sha: sha, message: msg}
	for _, l := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "tree":
			c.tree = v
		case "parent":
			c.parents = append(c.parents, v)
		case "author":
			c.author = parseIdent(v)
		case "committer":
			c.committer = parseIdent(v)
		}
	}
	return c, nil
}

// parseIdent reads "Name <email> 1700000000 +0000".
func parseIdent(s string) ident {
	name, rest, _ := strings.Cut(s, " <")
	email, rest, _ := strings.Cut(rest, "> ")
	secs, _, _ := strings.Cut(rest, " ")
	n, _ := strconv.ParseInt(secs, 10, 64)
	return ident{Name: name, Email: email, When: time.Unix(n, 0).UTC()}
}

// resolve returns the commit a ref points to, or "" if there is none.
func (r *repo) resolve(ctx context.Context, ref string) (string, error) {
	out, err := r.run(ctx, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if exitCode(err) == 1 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// updateRef moves ref from old ("" for none) to sha, atomically.
func (r *repo) updateRef(ctx context.Context, ref, sha, old string) error {
	if old == "" {
		old = zeroRev
	}
	_, err := r.run(ctx, nil, nil, "update-ref", ref, sha, old)
	return err
}

func (r *repo) deleteRef(ctx context.Context, ref string) error {
	_, err := r.run(ctx, nil, nil, "update-ref", "-d", ref)
	return err
}

// isAncestor reports whether a is an ancestor of (or equal to) b.
func (r *repo) isAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.run(ctx, nil, nil, "merge-base", "--is-ancestor", a, b)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	}
	return false, err
}

// branches maps each branch (short name) to its tip.
func (r *repo) branches(ctx context.Context) (map[string]string, error) {
	out, err := r.run(ctx, nil, nil, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if ref, sha, ok := strings.Cut(l, " "); ok {
			m[strings.TrimPrefix(ref, "refs/heads/")] = sha
		}
	}
	return m, nil
}

// newCommits lists the commits reachable from tip but not from any of not,
// parents first.
func (r *repo) newCommits(ctx context.Context, tip string, not ...string) ([]string, error) {
	args := append([]string{"rev-list", "--reverse", "--topo-order", tip, "--not"}, not...)
	out, err := r.run(ctx, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// objects opens the repository's object store for a merge: anew each
// time, so that it sees what git wrote since.
func (r *repo) objects() *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(r.dir), cache.NewObjectLRUDefault())
}

// mergeTrees merges commit b (the change) into commit a (the branch), as
// Gerrit's JGit does, and returns the resulting tree, or the conflicting
// paths.
func (r *repo) mergeTrees(ctx context.Context, a, b string) (tree string, conflicts []string, err error) {
	r.mergeMu.Lock()
	defer r.mergeMu.Unlock()
	res, err := r.merges.Merge(ctx, r.objects(), plumbing.NewHash(a), plumbing.NewHash(b))
	return mergeResult(res, err)
}

func mergeResult(res jgitmerge.Result, err error) (string, []string, error) {
	switch {
	case err != nil:
		return "", nil, err
	case len(res.Conflicts) > 0:
		return "", res.Paths(), nil
	}
	return res.Tree.String(), nil, nil
}

// pick applies the change that commit makes to its first parent onto
// onto, and returns the resulting tree, or the conflicting paths: a
// rebase, where JGit's "ours" is the change (RebaseChangeOp), or a
// cherry-pick, where it is onto.
func (r *repo) pick(ctx context.Context, commit *commitData, onto string, rebase bool) (string, []string, error) {
	base := plumbing.NewHash(jgitmerge.EmptyTree)
	if len(commit.parents) > 0 {
		p, err := r.readCommit(ctx, commit.parents[0])
		if err != nil {
			return "", nil, err
		}
		base = plumbing.NewHash(p.tree)
	}
	ontoCommit, err := r.readCommit(ctx, onto)
	if err != nil {
		return "", nil, err
	}
	ours, theirs := plumbing.NewHash(ontoCommit.tree), plumbing.NewHash(commit.tree)
	if rebase {
		ours, theirs = theirs, ours
	}
	r.mergeMu.Lock()
	defer r.mergeMu.Unlock()
	res, err := r.merges.MergeTrees(ctx, r.objects(), base, ours, theirs)
	return mergeResult(res, err)
}

// fileStat is one file of a patchset's diff against its first parent.
type fileStat struct {
	path     string
	status   string // A, D, M, T
	inserted int
	deleted  int
}

// diffStat lists the files a commit changes against its first parent.
func (r *repo) diffStat(ctx context.Context, c *commitData) ([]fileStat, error) {
	args := []string{"diff-tree", "-r", "--no-renames", "--raw", "--numstat", "-z"}
	if len(c.parents) == 0 {
		args = append(args, "--root", c.sha)
	} else {
		args = append(args, c.parents[0], c.sha)
	}
	out, err := r.run(ctx, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	// -z: raw entries are ":meta\0path\0", numstat entries "ins\tdel\tpath\0".
	fields := strings.Split(string(out), "\x00")
	index := map[string]int{}
	var files []fileStat
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.HasPrefix(f, ":") && i+1 < len(fields) {
			meta := strings.Fields(f)
			index[fields[i+1]] = len(files)
			files = append(files, fileStat{path: fields[i+1], status: meta[len(meta)-1]})
			i++
			continue
		}
		parts := strings.SplitN(f, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		if j, ok := index[parts[2]]; ok {
			// Binary files have "-" counts, read as 0.
			files[j].inserted, _ = strconv.Atoi(parts[0])
			files[j].deleted, _ = strconv.Atoi(parts[1])
		}
	}
	return files, nil
}

// patchID is git's stable patch id of the commit's diff against its first
// parent: equal for a commit and its trivial rebase.
func (r *repo) patchID(ctx context.Context, c *commitData) (string, error) {
	args := []string{"diff-tree", "-p", "--no-renames"}
	if len(c.parents) == 0 {
		args = append(args, "--root", c.sha)
	} else {
		args = append(args, c.parents[0], c.sha)
	}
	diff, err := r.run(ctx, nil, nil, args...)
	if err != nil {
		return "", err
	}
	if len(diff) == 0 {
		return "", nil
	}
	out, err := r.run(ctx, diff, nil, "patch-id", "--stable")
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(string(out), " ")
	return id, nil
}

// readFile reads a file at a commit.
func (r *repo) readFile(ctx context.Context, rev, path string) (string, error) {
	out, err := r.run(ctx, nil, nil, "cat-file", "blob", rev+":"+path)
	return string(out), err
}

// zeroRev is the revision of a ref that does not exist.
const zeroRev = "0000000000000000000000000000000000000000"
