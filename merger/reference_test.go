package merger

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gated.dev/gated/merger/jgitmerge"
	mt "gated.dev/gated/merger/mergertest"
)

// reference applies changes one at a time to a state, as Gerrit would
// submit them; queueVerdicts decides which operation each change takes.
type reference interface {
	name() string
	// start makes commit tip the state.
	start(tip string) error
	// merge merges commit c into the state.
	merge(c string) (verdict, error)
	// pick applies c's change against its first parent to the state: a
	// rebase (the change is JGit's "ours") or a cherry-pick.
	pick(c, parent string, rebase bool) (verdict, error)
	// fastForward makes commit c the state.
	fastForward(c string) error
	// tree is the state's tree.
	tree() (string, error)
}

// queueVerdicts applies a case's queue with a submit type, as a gate
// builds it: each change on the state of the changes ahead that did not
// fail. Which operation a change takes is Gerrit's rule, decided here
// from the generated history: already merged changes are kept, a change
// whose parent is neither in the state nor a change ahead is refused,
// fast-forwards where the type allows, merge commits are merged whatever
// the type.
func queueVerdicts(ref reference, c *corpusCase, typ string) ([]verdict, error) {
	if err := ref.start(c.tip); err != nil {
		return nil, err
	}
	ancestors := func(x string) map[string]bool {
		seen := map[string]bool{}
		stack := []string{x}
		for len(stack) > 0 {
			y := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !seen[y] {
				seen[y] = true
				stack = append(stack, c.parents[y]...)
			}
		}
		return seen
	}
	inState := ancestors(c.tip)
	head, applied := c.tip, map[string]bool{}
	var out []verdict
	for _, ch := range c.changes {
		parents := c.parents[ch]
		eff := typ
		if len(parents) > 1 && (typ == CherryPick || typ == RebaseIfNecessary || typ == RebaseAlways) {
			eff = MergeIfNecessary
		}
		refused := false
		if eff != CherryPick {
			for _, p := range parents {
				refused = refused || !inState[p] && !applied[p]
			}
		}
		ff := head != "" && ancestors(ch)[head]
		var v verdict
		var err error
		switch {
		case eff != CherryPick && inState[ch]:
			v.tree, err = ref.tree()
		case refused, eff == FastForwardOnly && !ff:
			out = append(out, verdict{conflict: true})
			continue
		case ff && (eff == MergeIfNecessary || eff == RebaseIfNecessary || eff == FastForwardOnly):
			if err = ref.fastForward(ch); err == nil {
				v.tree, err = ref.tree()
			}
			head = ch
			for a := range ancestors(ch) {
				inState[a] = true
			}
		case eff == MergeIfNecessary || eff == MergeAlways:
			if v, err = ref.merge(ch); err == nil && !v.conflict {
				head = ""
				for a := range ancestors(ch) {
					inState[a] = true
				}
			}
		default:
			if v, err = ref.pick(ch, parents[0], eff != CherryPick); err == nil && !v.conflict {
				head = ""
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if v.unjudged {
			for len(out) < len(c.changes) {
				out = append(out, v)
			}
			break
		}
		if !v.conflict {
			applied[ch] = true
		}
	}
	return out, nil
}

// gitReference applies changes with git's porcelain in a work tree, as a
// person would, with merge-recursive: merge-ort, which the merger's line
// merges share, cannot be kept from following renames before git 2.50,
// and JGit follows none. Where JGit's rules differ from git's, jgitRules
// corrects git's verdict.
type gitReference struct {
	t    *testing.T
	dir  string
	objs *catFile
}

func newGitReference(t *testing.T, upstream string) *gitReference {
	work := t.TempDir()
	mt.Git(t, work, "clone", "--quiet", "--no-checkout", upstream, ".")
	mt.Git(t, work, "config", "gc.auto", "0")
	return &gitReference{t: t, dir: work, objs: startCatFile(t, work)}
}

func (r *gitReference) name() string { return "git with JGit's rules" }

func (r *gitReference) git(args ...string) (string, error) {
	return mt.TryGit(context.Background(), r.dir, nil, args...)
}

// noRenames are the options of a merge as JGit merges: no rename
// detection, the histogram diff.
var noRenames = []string{"--strategy=recursive", "-X", "no-renames", "-X", "diff-algorithm=histogram"}

func (r *gitReference) start(tip string) error {
	_, err := r.git("checkout", "--quiet", "--force", "--detach", tip)
	return err
}

func (r *gitReference) fastForward(c string) error {
	_, err := r.git("checkout", "--quiet", "--force", "--detach", c)
	return err
}

func (r *gitReference) merge(c string) (verdict, error) {
	state, err := r.git("rev-parse", "HEAD")
	if err != nil {
		return verdict{}, err
	}
	bases, err := r.git("merge-base", "--all", state, c)
	if err != nil {
		return verdict{}, err
	}
	base, more, _ := strings.Cut(bases, "\n")
	if more != "" {
		return verdict{unjudged: true}, nil
	}
	_, merr := r.git(append(append([]string{"merge", "--quiet", "--no-ff", "--no-edit"}, noRenames...), c)...)
	return r.outcome(state, base, state, c, merr)
}

func (r *gitReference) tree() (string, error) { return r.git("rev-parse", "HEAD^{tree}") }

func (r *gitReference) pick(c, _ string, _ bool) (verdict, error) {
	state, err := r.git("rev-parse", "HEAD")
	if err != nil {
		return verdict{}, err
	}
	_, perr := r.git(append(append([]string{"cherry-pick", "--allow-empty", "--keep-redundant-commits"}, noRenames...), c)...)
	return r.outcome(state, c+"^", state, c, perr)
}

// outcome reads git's verdict on a merge or cherry-pick, corrects it with
// JGit's rules, and leaves the work tree at the new state, or at the old
// one on a conflict.
func (r *gitReference) outcome(state, base, ours, theirs string, gitErr error) (verdict, error) {
	var conflicts []string
	if gitErr != nil {
		files, err := r.git("diff", "--name-only", "--diff-filter=U")
		if err != nil {
			return verdict{}, err
		}
		if files == "" {
			return verdict{}, gitErr // not a conflict
		}
		for _, p := range strings.Split(files, "\n") {
			// a file in the way of a directory is moved aside to
			// path~<side>: the conflict is about path
			p, _, _ = strings.Cut(p, "~")
			conflicts = append(conflicts, p)
		}
	}
	rules, deleted, err := jgitRules(r.objs, base, ours, theirs)
	if err != nil {
		return verdict{}, err
	}
	conflicts = slices.DeleteFunc(conflicts, func(p string) bool { return slices.Contains(deleted, p) })
	conflicts = append(conflicts, rules...)
	slices.Sort(conflicts)
	conflicts = slices.Compact(conflicts)
	// A path that is a file on one side and a directory on the other is
	// one conflict in JGit, which does not enter the directory
	// (ResolveMerger's enterSubtree); git lists what conflicts below too.
	conflicts = slices.DeleteFunc(slices.Clone(conflicts), func(p string) bool {
		return slices.ContainsFunc(conflicts, func(d string) bool { return strings.HasPrefix(p, d+"/") })
	})
	if len(conflicts) > 0 {
		r.git("merge", "--abort")
		r.git("cherry-pick", "--abort")
		if _, err := r.git("checkout", "--quiet", "--force", "--detach", state); err != nil {
			return verdict{}, err
		}
		if _, err := r.git("clean", "-q", "-fdx"); err != nil {
			return verdict{}, err
		}
		return verdict{conflict: true, files: conflicts}, nil
	}
	if gitErr != nil {
		// git's only conflicts were deletions JGit makes: resolve them so.
		if _, err := r.git(append([]string{"rm", "--quiet", "--"}, deleted...)...); err != nil {
			return verdict{}, err
		}
		if _, err := r.git("-c", "core.editor=true", "commit", "--quiet", "--no-edit", "--allow-empty"); err != nil {
			if _, err := r.git("-c", "core.editor=true", "cherry-pick", "--continue"); err != nil {
				return verdict{}, err
			}
		}
	}
	tree, err := r.git("rev-parse", "HEAD^{tree}")
	return verdict{tree: tree}, err
}

// jgitRules returns the paths JGit conflicts on where git's
// merge-recursive does not, and those git conflicts on where JGit
// deletes, for a merge of ours and theirs on base:
//   - a file changed on both sides is binary to JGit if any of its three
//     versions has a NUL anywhere or a carriage return not followed by a
//     line feed (git looks for a NUL in the first 8,000 bytes): a conflict;
//   - a file emptied on one side and whose content the other changed, or
//     added empty on one side and not on the other, conflicts in JGit (git
//     merges);
//   - a file added on both sides with the same content and different
//     modes conflicts in JGit;
//   - a directory of the base replaced by a file on one side and changed
//     or deleted on the other conflicts in JGit (git takes the file);
//   - a file deleted on one side whose content the other left alone (its
//     mode alone changed) is deleted by JGit (git conflicts), unless a
//     directory took its place.
func jgitRules(objs *catFile, base, ours, theirs string) (conflicts, deleted []string, err error) {
	var trees [3]map[string]flatEntry
	for i, rev := range []string{base, ours, theirs} {
		if trees[i], err = objs.flatTree(rev); err != nil {
			return nil, nil, err
		}
	}
	b, o, t := trees[0], trees[1], trees[2]
	dirs := dirsOf(o)
	maps.Copy(dirs, dirsOf(t))
	paths := map[string]bool{}
	for _, m := range trees {
		for p := range m {
			paths[p] = true
		}
	}
	for p := range paths {
		be, bok := b[p]
		oe, ook := o[p]
		te, tok := t[p]
		switch {
		case ook && tok && oe == te, bok && tok && be == te, bok && ook && be == oe:
		case ook && tok && oe.hash == te.hash:
			if !bok && oe.mode != te.mode {
				conflicts = append(conflicts, p)
			}
		case ook && tok && oe.regular() && te.regular():
			binary := false
			for _, e := range []flatEntry{be, oe, te} {
				if e.regular() {
					data, err := objs.blob(e.hash)
					if err != nil {
						return nil, nil, err
					}
					binary = binary || jgitmerge.IsBinary(data)
				}
			}
			emptied := oe.hash == emptyBlobID && (!bok || te.hash != be.hash) ||
				te.hash == emptyBlobID && (!bok || oe.hash != be.hash)
			if binary || emptied {
				conflicts = append(conflicts, p)
			}
		case dirs[p]:
			// a file against a directory: JGit conflicts, as git does
		case bok && !ook && tok && te.hash == be.hash, bok && ook && !tok && oe.hash == be.hash:
			deleted = append(deleted, p)
		}
	}
	// A directory of the base that one side replaced with a file while
	// the other changed or deleted it.
	for _, d := range slices.Sorted(maps.Keys(dirsOf(b))) {
		for _, pair := range [][2]map[string]flatEntry{{o, t}, {t, o}} {
			file, other := pair[0], pair[1]
			if _, ok := file[d]; ok && !slices.Contains(conflicts, d) && !sameDir(b, other, d) {
				if _, both := other[d]; !both {
					conflicts = append(conflicts, d)
				}
			}
		}
	}
	slices.Sort(conflicts)
	slices.Sort(deleted)
	return conflicts, deleted, nil
}

// dirsOf lists the directories of a flat tree.
func dirsOf(m map[string]flatEntry) map[string]bool {
	dirs := map[string]bool{}
	for p := range m {
		for i := range len(p) {
			if p[i] == '/' {
				dirs[p[:i]] = true
			}
		}
	}
	return dirs
}

// sameDir reports whether directory d has the same files in a and b.
func sameDir(a, b map[string]flatEntry, d string) bool {
	n := 0
	for p, e := range a {
		if strings.HasPrefix(p, d+"/") {
			n++
			if b[p] != e {
				return false
			}
		}
	}
	for p := range b {
		if strings.HasPrefix(p, d+"/") {
			n--
		}
	}
	return n == 0
}

const emptyBlobID = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"

// flatEntry is a file of a tree, listed flat.
type flatEntry struct{ mode, hash string }

func (e flatEntry) regular() bool { return e.mode == "100644" || e.mode == "100755" }

// catFile reads objects through one git cat-file --batch.
type catFile struct {
	in    io.WriteCloser
	out   *bufio.Reader
	trees map[string]map[string]flatEntry
}

func startCatFile(t *testing.T, dir string) *catFile {
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir, cmd.Env = dir, mt.Env()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &catFile{in: in, out: bufio.NewReader(out), trees: map[string]map[string]flatEntry{}}
}

func (c *catFile) object(rev string) (string, []byte, error) {
	if _, err := fmt.Fprintln(c.in, rev); err != nil {
		return "", nil, err
	}
	header, err := c.out.ReadString('\n')
	if err != nil {
		return "", nil, err
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		return "", nil, fmt.Errorf("cat-file %s: %s", rev, header)
	}
	size, err := strconv.Atoi(f[2])
	if err != nil {
		return "", nil, err
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, data); err != nil {
		return "", nil, err
	}
	return f[1], data[:size], nil
}

func (c *catFile) blob(hash string) ([]byte, error) {
	_, data, err := c.object(hash)
	return data, err
}

// flatTree lists the files of a commit or tree by path.
func (c *catFile) flatTree(rev string) (map[string]flatEntry, error) {
	typ, data, err := c.object(rev)
	if err != nil {
		return nil, err
	}
	if typ == "commit" {
		tree, _, _ := strings.Cut(strings.TrimPrefix(string(data), "tree "), "\n")
		return c.flatTree(tree)
	}
	if m, ok := c.trees[rev]; ok {
		return m, nil
	}
	m := map[string]flatEntry{}
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		mode, name, hash := string(data[:sp]), string(data[sp+1:nul]), fmt.Sprintf("%x", data[nul+1:nul+21])
		data = data[nul+21:]
		if mode == "40000" {
			sub, err := c.flatTree(hash)
			if err != nil {
				return nil, err
			}
			for p, e := range sub {
				m[name+"/"+p] = e
			}
			continue
		}
		m[name] = flatEntry{mode: mode, hash: hash}
	}
	c.trees[rev] = m
	return m, nil
}

// jgitReference applies changes with a real JGit, as Gerrit's submit
// strategies call it, recording each state as a commit of the upstream
// repository.
type jgitReference struct {
	t     *testing.T
	dir   string
	jgit  *mt.JGit
	objs  *catFile
	head  string
	state string // the state's tree
}

func newJGitReference(t *testing.T, upstream string) *jgitReference {
	return &jgitReference{t: t, dir: upstream, jgit: mt.StartJGit(t, upstream), objs: startCatFile(t, upstream)}
}

func (r *jgitReference) name() string { return "JGit" }

func (r *jgitReference) start(tip string) error { return r.fastForward(tip) }

func (r *jgitReference) fastForward(c string) error {
	_, data, err := r.objs.object(c)
	if err != nil {
		return err
	}
	r.head = c
	r.state, _, _ = strings.Cut(strings.TrimPrefix(string(data), "tree "), "\n")
	return nil
}

func (r *jgitReference) tree() (string, error) { return r.state, nil }

func (r *jgitReference) merge(c string) (verdict, error) {
	res, err := r.jgit.Merge(false, r.head, c)
	if err != nil || res.Tree == "" {
		return verdict{conflict: true, files: res.Conflicts}, err
	}
	return r.commit(res.Tree, r.head, c)
}

func (r *jgitReference) pick(c, parent string, rebase bool) (verdict, error) {
	ours, theirs := r.head, c
	if rebase {
		ours, theirs = c, r.head
	}
	res, err := r.jgit.Pick(false, parent, ours, theirs)
	if err != nil || res.Tree == "" {
		return verdict{conflict: true, files: res.Conflicts}, err
	}
	return r.commit(res.Tree, r.head)
}

// commit records a state; JGit wrote its tree.
func (r *jgitReference) commit(tree string, parents ...string) (verdict, error) {
	args := []string{"commit-tree", tree, "-m", "state"}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	head, err := mt.TryGit(context.Background(), r.dir, nil, args...)
	if err != nil {
		return verdict{}, err
	}
	r.head, r.state = head, tree
	return verdict{tree: tree}, nil
}
