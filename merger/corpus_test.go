package merger

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"strings"

	mt "gated.dev/gated/merger/mergertest"
)

// The corpus of the differential test: random histories, each a branch
// with a few commits and a queue of changes to apply to it, built to
// exercise what merges get wrong and where JGit and git differ —
// same-line and adjacent-line edits, adds, deletes, renames (of files, of
// directories, of case only), mode changes, binary files by git's rule and
// by JGit's only (a lone carriage return, a NUL past byte 8,000), empty
// files, symbolic links, submodules, files becoming directories; changes
// on different bases, stacked, independent and conflicting with each
// other, empty, already merged, and merge commits.

// corpusFile is a file of a generated tree.
type corpusFile struct{ mode, content string }

// corpusTree is a generated tree, by path.
type corpusTree map[string]corpusFile

func (t corpusTree) clone() corpusTree { return maps.Clone(t) }

// set writes a file, replacing a directory at its path or a file at the
// path of one of its directories.
func (t corpusTree) set(p string, f corpusFile) {
	for q := range t {
		if strings.HasPrefix(q, p+"/") || strings.HasPrefix(p, q+"/") {
			delete(t, q)
		}
	}
	t[p] = f
}

func (t corpusTree) paths() []string { return slices.Sorted(maps.Keys(t)) }

// ops rewrites a commit's whole tree, so that fast-import writes exactly t.
func (t corpusTree) ops() []mt.Op {
	ops := []mt.Op{mt.DeleteAll()}
	for _, p := range t.paths() {
		f := t[p]
		switch f.mode {
		case "100755":
			ops = append(ops, mt.Exec(p, f.content))
		case "120000":
			ops = append(ops, mt.Symlink(p, f.content))
		case "160000":
			ops = append(ops, mt.Gitlink(p, f.content))
		default:
			ops = append(ops, mt.Write(p, f.content))
		}
	}
	return ops
}

var (
	corpusDirs  = []string{"", "src/", "src/lib/", "doc/"}
	corpusNames = []string{"a.txt", "b.txt", "c.go", "d.md", "e.bin", "f.sh", "g.txt", "h.txt", "i.cr", "j.nul", "README"}
	corpusWords = []string{"alpha", "beta", "gamma", "delta", "func", "return", "}", "{", "if", "x := 1", "", "// note"}
)

// corpusGen draws the corpus from a seeded source.
type corpusGen struct {
	rng *rand.Rand
	// hot is a line most edits go near, so that both sides of a merge
	// touch the same or adjacent lines often.
	hotPath string
	hotLine int
}

func (g *corpusGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *corpusGen) path() string { return g.pick(corpusDirs) + g.pick(corpusNames) }

func (g *corpusGen) line() string {
	return fmt.Sprintf("%s %s %d", g.pick(corpusWords), g.pick(corpusWords), g.rng.IntN(5))
}

func (g *corpusGen) text() string {
	n := 6 + g.rng.IntN(20)
	lines := make([]string, n)
	for i := range lines {
		lines[i] = g.line()
	}
	return strings.Join(lines, "\n") + "\n"
}

// file makes the content of a new file by its name: .bin is binary to git
// and JGit (a NUL first), .cr has a lone carriage return and .nul a NUL
// past byte 8,000 (binary to JGit only), .sh is executable, the rest text.
func (g *corpusGen) file(p string) corpusFile {
	switch path.Ext(p) {
	case ".bin":
		b := make([]byte, 16+g.rng.IntN(64))
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		b[0] = 0
		return corpusFile{"100644", string(b)}
	case ".cr":
		t := g.text()
		i := strings.Index(t, "\n")
		return corpusFile{"100644", t[:i] + "\r" + t[i:]}
	case ".nul":
		return corpusFile{"100644", g.text() + strings.Repeat("// padding\n", 800) + "\x00\n"}
	case ".sh":
		return corpusFile{"100755", g.text()}
	}
	return corpusFile{"100644", g.text()}
}

func (g *corpusGen) base() corpusTree {
	t := corpusTree{}
	for range 6 + g.rng.IntN(6) {
		p := g.path()
		t.set(p, g.file(p))
	}
	if g.rng.IntN(4) == 0 {
		t.set("sub", corpusFile{"160000", g.gitlink()})
	}
	texts := g.textFiles(t)
	if len(texts) > 0 {
		g.hotPath = g.pick(texts)
		g.hotLine = g.rng.IntN(strings.Count(t[g.hotPath].content, "\n"))
	}
	return t
}

func (g *corpusGen) gitlink() string { return fmt.Sprintf("%040x", g.rng.Uint64()) }

// textFiles are the files whose lines edits can change: not binary to
// git, not links.
func (g *corpusGen) textFiles(t corpusTree) []string {
	var out []string
	for _, p := range t.paths() {
		if f := t[p]; (f.mode == "100644" || f.mode == "100755") && !strings.HasPrefix(f.content, "\x00") {
			out = append(out, p)
		}
	}
	return out
}

// editLine replaces, inserts or deletes line i of a text file, keeping a
// lone carriage return or a late NUL where they are.
func (g *corpusGen) editLine(t corpusTree, p string, i int) {
	f := t[p]
	lines := strings.Split(strings.TrimSuffix(f.content, "\n"), "\n")
	i = max(0, min(i, len(lines)-1, 20))
	switch g.rng.IntN(6) {
	case 0:
		lines = slices.Insert(lines, i, g.line())
	case 1:
		if len(lines) > 1 && !strings.ContainsAny(lines[i], "\r\x00") {
			lines = slices.Delete(lines, i, i+1)
		}
	default:
		if !strings.ContainsAny(lines[i], "\r\x00") {
			lines[i] = g.line()
		}
	}
	f.content = strings.Join(lines, "\n") + "\n"
	if len(lines) == 1 && lines[0] == "" {
		f.content = ""
	}
	t[p] = f
}

// edit returns t changed by one to three random operations.
func (g *corpusGen) edit(t corpusTree) corpusTree {
	t = t.clone()
	for range 1 + g.rng.IntN(3) {
		paths, texts := t.paths(), g.textFiles(t)
		switch r := g.rng.IntN(100); {
		case r < 30 && slices.Contains(texts, g.hotPath):
			g.editLine(t, g.hotPath, g.hotLine+g.rng.IntN(3)-1)
		case r < 44 && len(texts) > 0:
			p := g.pick(texts)
			g.editLine(t, p, g.rng.IntN(1+strings.Count(t[p].content, "\n")))
		case r < 54:
			p := g.path()
			f := g.file(p)
			if g.rng.IntN(3) == 0 {
				f.content = "the same new file\n"
			}
			t.set(p, f)
		case r < 60 && len(paths) > 1:
			delete(t, g.pick(paths))
		case r < 68 && len(texts) > 0:
			// a rename, sometimes with an edit
			from := g.pick(texts)
			f := t[from]
			delete(t, from)
			to := g.pick(corpusDirs) + g.pick(corpusNames)
			t.set(to, f)
			if g.rng.IntN(2) == 0 {
				g.editLine(t, to, g.rng.IntN(1+strings.Count(f.content, "\n")))
			}
		case r < 71 && len(paths) > 0:
			// a rename of the case of a name only
			from := g.pick(paths)
			dir, name := path.Split(from)
			f := t[from]
			delete(t, from)
			t.set(dir+strings.ToUpper(name[:1])+name[1:], f)
		case r < 75:
			g.renameDir(t)
		case r < 81 && len(texts) > 0:
			p := g.pick(texts)
			f := t[p]
			f.mode = map[string]string{"100644": "100755", "100755": "100644"}[f.mode]
			t[p] = f
		case r < 84 && len(texts) > 0:
			p := g.pick(texts)
			t[p] = corpusFile{t[p].mode, ""}
		case r < 88:
			t.set(g.pick(corpusDirs)+"e.bin", g.file("e.bin"))
		case r < 91:
			t.set("sub", corpusFile{"160000", g.gitlink()})
		case r < 95 && len(paths) > 0:
			p := g.pick(paths)
			t.set(p+"/inner.txt", corpusFile{"100644", t[p].content})
		default:
			t.set(g.pick(corpusDirs)+"link", corpusFile{"120000", g.pick(append(paths, "nowhere"))})
		}
	}
	return t
}

// renameDir moves every file of a directory to another.
func (g *corpusGen) renameDir(t corpusTree) {
	from, to := g.pick(corpusDirs[1:]), g.pick([]string{"moved/", "src/moved/", "doc/old/"})
	for _, p := range t.paths() {
		if strings.HasPrefix(p, from) {
			f := t[p]
			delete(t, p)
			t.set(to+strings.TrimPrefix(p, from), f)
		}
	}
}

// corpusCase is one history: the branch tip and the changes of a queue,
// in order, by fast-import mark until imported and by commit id after.
type corpusCase struct {
	index   int
	branch  string
	tip     string
	changes []string
	// kinds say how each change was made, for the statistics.
	kinds []string
	// parents of every commit of the case.
	parents map[string][]string
}

// change is the i-th change of the case, at revision rev.
func (c *corpusCase) change(project string, i int, rev, submitType string) ChangeRef {
	return ChangeRef{Project: project, Branch: c.branch, Number: 100*c.index + i + 1, Patchset: 1,
		Revision: rev, SubmitType: submitType}
}

// queueCase writes a case: a branch of two to five commits, then a queue
// of five to seven changes — on the tip or older commits of the branch,
// stacked on changes ahead, empty, already merged, or merge commits of
// the branch and a change ahead.
func (g *corpusGen) queueCase(s *mt.Stream, i int) *corpusCase {
	c := &corpusCase{index: i, branch: fmt.Sprintf("case/%d", i), parents: map[string][]string{}}
	ref := "refs/heads/" + c.branch
	trees := map[string]corpusTree{}
	commit := func(parents []string, t corpusTree) string {
		mark := s.Commit(ref, parents, fmt.Sprintf("case %d commit", i), t.ops()...)
		trees[mark], c.parents[mark] = t, parents
		return mark
	}
	history := []string{commit(nil, g.base())}
	for range 1 + g.rng.IntN(4) {
		history = append(history, commit(history[len(history)-1:], g.edit(trees[history[len(history)-1]])))
	}
	c.tip = history[len(history)-1]
	for k := range 5 + g.rng.IntN(3) {
		var rev, kind string
		switch r := g.rng.IntN(100); {
		case r < 30 || k == 0:
			on := history[g.rng.IntN(len(history))]
			rev, kind = commit([]string{on}, g.edit(trees[on])), "on the branch"
		case r < 60:
			on := c.changes[g.rng.IntN(len(c.changes))]
			rev, kind = commit([]string{on}, g.edit(trees[on])), "stacked"
		case r < 70:
			on := history[g.rng.IntN(len(history))]
			rev, kind = commit([]string{on}, trees[on]), "empty"
		case r < 78:
			rev, kind = history[1+g.rng.IntN(len(history)-1)], "already merged"
		default:
			// a change merged with the tip: its merge base with any state
			// is the change's own base, as for a plain change
			ahead := c.changes[g.rng.IntN(len(c.changes))]
			t := g.edit(g.mergeTrees(trees[c.tip], trees[firstParent(c, ahead)], trees[ahead]))
			rev, kind = commit([]string{c.tip, ahead}, t), "merge commit"
		}
		c.changes, c.kinds = append(c.changes, rev), append(c.kinds, kind)
	}
	s.Reset(ref, c.tip)
	return c
}

func firstParent(c *corpusCase, mark string) string { return c.parents[mark][0] }

// mergeTrees is ours with the files theirs changed since base, as a
// hand-made merge would have them.
func (g *corpusGen) mergeTrees(ours, base, theirs corpusTree) corpusTree {
	t := ours.clone()
	for _, p := range theirs.paths() {
		if base[p] != theirs[p] {
			t.set(p, theirs[p])
		}
	}
	for _, p := range base.paths() {
		if _, ok := theirs[p]; !ok {
			delete(t, p)
		}
	}
	return t
}

// crissCrossCase writes a history whose tip and change merged each
// other's first commit: several merge bases, merged into a virtual one.
// git merges those otherwise than JGit, so only a JGit can judge it.
func (g *corpusGen) crissCrossCase(s *mt.Stream, i int) *corpusCase {
	c := &corpusCase{index: i, branch: fmt.Sprintf("case/%d", i), parents: map[string][]string{}}
	ref := "refs/heads/" + c.branch
	commit := func(parents []string, t corpusTree) string {
		mark := s.Commit(ref, parents, fmt.Sprintf("case %d commit", i), t.ops()...)
		c.parents[mark] = parents
		return mark
	}
	bt := g.base()
	base := commit(nil, bt)
	xt, yt := g.edit(bt), g.edit(bt)
	x1, y1 := commit([]string{base}, xt), commit([]string{base}, yt)
	c.tip = commit([]string{x1, y1}, g.edit(g.mergeTrees(xt, bt, yt)))
	y2t := g.mergeTrees(yt, bt, xt)
	y2 := commit([]string{y1, x1}, g.edit(y2t))
	c.changes, c.kinds = []string{y2}, []string{"criss-cross"}
	if g.rng.IntN(2) == 0 {
		c.changes, c.kinds = append(c.changes, commit([]string{y2}, g.edit(y2t))), append(c.kinds, "stacked")
	}
	s.Reset(ref, c.tip)
	return c
}

// resolve replaces the marks of a case with the commit ids fast-import
// gave them.
func (c *corpusCase) resolve(ids map[string]string) {
	id := func(m string) string {
		if v, ok := ids[m]; ok {
			return v
		}
		return m
	}
	c.tip = id(c.tip)
	for i, m := range c.changes {
		c.changes[i] = id(m)
	}
	parents := map[string][]string{}
	for m, ps := range c.parents {
		for _, p := range ps {
			parents[id(m)] = append(parents[id(m)], id(p))
		}
		if len(ps) == 0 {
			parents[id(m)] = nil
		}
	}
	c.parents = parents
}
