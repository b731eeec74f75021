package merger

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	mt "gated.dev/gated/merger/mergertest"
)

// The corpus of the differential test: random histories, each a branch tip
// and a chain of changes to apply to it, built to exercise what merges get
// wrong — same-line and adjacent-line edits, adds, deletes, renames, mode
// changes, binary files, symbolic links, files becoming directories, and
// criss-cross merges that give several merge bases.

// corpusFile is a file of a generated tree.
type corpusFile struct{ mode, content string }

// corpusTree is a generated tree, by path.
type corpusTree map[string]corpusFile

func (t corpusTree) clone() corpusTree { return maps.Clone(t) }

// set writes a file, replacing a directory at its path or a file at the
// path of one of its directories.
func (t corpusTree) set(path string, f corpusFile) {
	for p := range t {
		if strings.HasPrefix(p, path+"/") || strings.HasPrefix(path, p+"/") {
			delete(t, p)
		}
	}
	t[path] = f
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
		default:
			ops = append(ops, mt.Write(p, f.content))
		}
	}
	return ops
}

var (
	corpusDirs  = []string{"", "src/", "src/lib/", "doc/"}
	corpusNames = []string{"a.txt", "b.txt", "c.go", "d.md", "e.bin", "f.sh", "g.txt", "h.txt"}
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

func (g *corpusGen) binary() string {
	b := make([]byte, 16+g.rng.IntN(64))
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	b[0] = 0
	return string(b)
}

func (g *corpusGen) base() corpusTree {
	t := corpusTree{}
	for range 6 + g.rng.IntN(6) {
		p := g.path()
		switch {
		case strings.HasSuffix(p, ".bin"):
			t.set(p, corpusFile{"100644", g.binary()})
		case strings.HasSuffix(p, ".sh"):
			t.set(p, corpusFile{"100755", g.text()})
		default:
			t.set(p, corpusFile{"100644", g.text()})
		}
	}
	texts := g.textFiles(t)
	if len(texts) > 0 {
		g.hotPath = g.pick(texts)
		g.hotLine = g.rng.IntN(strings.Count(t[g.hotPath].content, "\n"))
	}
	return t
}

func (g *corpusGen) textFiles(t corpusTree) []string {
	var out []string
	for _, p := range t.paths() {
		if t[p].mode != "120000" && !strings.HasSuffix(p, ".bin") {
			out = append(out, p)
		}
	}
	return out
}

// editLine replaces, inserts or deletes line i of a text file.
func (g *corpusGen) editLine(t corpusTree, p string, i int) {
	f := t[p]
	lines := strings.Split(strings.TrimSuffix(f.content, "\n"), "\n")
	i = max(0, min(i, len(lines)-1))
	switch g.rng.IntN(6) {
	case 0:
		lines = slices.Insert(lines, i, g.line())
	case 1:
		if len(lines) > 1 {
			lines = slices.Delete(lines, i, i+1)
		}
	default:
		lines[i] = g.line()
	}
	f.content = strings.Join(lines, "\n") + "\n"
	t[p] = f
}

// edit returns t changed by one to three random operations.
func (g *corpusGen) edit(t corpusTree) corpusTree {
	t = t.clone()
	for range 1 + g.rng.IntN(3) {
		paths, texts := t.paths(), g.textFiles(t)
		switch r := g.rng.IntN(100); {
		case r < 30 && t[g.hotPath].content != "" && t[g.hotPath].mode != "120000":
			g.editLine(t, g.hotPath, g.hotLine+g.rng.IntN(3)-1)
		case r < 45 && len(texts) > 0:
			p := g.pick(texts)
			g.editLine(t, p, g.rng.IntN(1+strings.Count(t[p].content, "\n")))
		case r < 57:
			content := g.text()
			if g.rng.IntN(3) == 0 {
				content = "the same new file\n"
			}
			t.set(g.path(), corpusFile{"100644", content})
		case r < 65 && len(paths) > 1:
			delete(t, g.pick(paths))
		case r < 77 && len(texts) > 0:
			from := g.pick(texts)
			f := t[from]
			delete(t, from)
			to := g.path()
			t.set(to, f)
			if g.rng.IntN(2) == 0 && f.mode != "120000" {
				g.editLine(t, to, g.rng.IntN(1+strings.Count(f.content, "\n")))
			}
		case r < 84 && len(texts) > 0:
			p := g.pick(texts)
			f := t[p]
			f.mode = map[string]string{"100644": "100755", "100755": "100644"}[f.mode]
			t[p] = f
		case r < 92:
			t.set(g.pick(corpusDirs)+"e.bin", corpusFile{"100644", g.binary()})
		case r < 96 && len(paths) > 0:
			p := g.pick(paths)
			t.set(p+"/inner.txt", corpusFile{"100644", t[p].content})
		default:
			t.set(g.pick(corpusDirs)+"link", corpusFile{"120000", g.pick(paths)})
		}
	}
	return t
}

// corpusCase is one history: the branch tip and the changes, in order,
// by fast-import mark until imported and by commit id after.
type corpusCase struct {
	index   int
	shape   string
	branch  string
	tip     string
	changes []string
}

// change is the i-th change of the case, at revision rev.
func (c *corpusCase) change(project string, i int, rev, submitType string) ChangeRef {
	return ChangeRef{Project: project, Branch: c.branch, Number: 10*c.index + i + 1, Patchset: 1,
		Revision: rev, SubmitType: submitType}
}

// corpus writes n cases into a stream.
func (g *corpusGen) corpus(s *mt.Stream, n int) []*corpusCase {
	cases := make([]*corpusCase, n)
	for i := range cases {
		c := &corpusCase{index: i, branch: fmt.Sprintf("case/%d", i)}
		ref := "refs/heads/" + c.branch
		commit := func(parents []string, t corpusTree) string {
			return s.Commit(ref, parents, fmt.Sprintf("case %d commit", i), t.ops()...)
		}
		bt := g.base()
		first := commit(nil, g.base())
		base := commit([]string{first}, bt)
		switch r := g.rng.IntN(100); {
		case r < 12: // criss-cross: both sides merged each other's first commit
			c.shape = "criss-cross"
			xt, yt := g.edit(bt), g.edit(bt)
			x1, y1 := commit([]string{base}, xt), commit([]string{base}, yt)
			x2t, y2t := g.overlay(xt, bt, yt), g.overlay(yt, bt, xt)
			c.tip = commit([]string{x1, y1}, g.edit(x2t))
			y2 := commit([]string{y1, x1}, g.edit(y2t))
			c.changes = []string{y2}
			if g.rng.IntN(2) == 0 {
				c.changes = append(c.changes, commit([]string{y2}, g.edit(y2t)))
			}
		default:
			tips := []string{base}
			tt := bt
			trees := []corpusTree{bt}
			for range 1 + g.rng.IntN(3) {
				tt = g.edit(tt)
				tips = append(tips, commit(tips[len(tips)-1:], tt))
				trees = append(trees, tt)
			}
			c.tip = tips[len(tips)-1]
			on, ot := 0, bt
			switch {
			case r < 20:
				c.shape, on = "on the tip", len(tips)-1
			case r < 35:
				c.shape, on = "on the tip's history", g.rng.IntN(len(tips)-1)
			default:
				c.shape = "on the base"
			}
			ot = trees[on]
			parent := tips[on]
			for range 1 + g.rng.IntN(2) {
				ot = g.edit(ot)
				parent = commit([]string{parent}, ot)
				c.changes = append(c.changes, parent)
			}
			if len(c.changes) > 1 {
				c.shape += ", stacked"
			}
		}
		s.Reset(ref, c.tip)
		cases[i] = c
	}
	return cases
}

// overlay returns ours with the files theirs changed since base, as a
// hand-made merge would have them.
func (g *corpusGen) overlay(ours, base, theirs corpusTree) corpusTree {
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
