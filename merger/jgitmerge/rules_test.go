package jgitmerge

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	mt "gated.dev/gated/merger/mergertest"
)

// files is a tree for a test: path to content; a content starting with
// "link:" is a symbolic link, "empty:" an empty file, "exec:" an executable, "gitlink:" a
// submodule commit.
type files map[string]string

func (f files) ops() []mt.Op {
	ops := []mt.Op{mt.DeleteAll()}
	for _, p := range slices.Sorted(maps.Keys(f)) {
		c := f[p]
		switch {
		case strings.HasPrefix(c, "link:"):
			ops = append(ops, mt.Symlink(p, strings.TrimPrefix(c, "link:")))
		case strings.HasPrefix(c, "exec:"):
			ops = append(ops, mt.Exec(p, strings.TrimPrefix(c, "exec:")))
		case c == "empty:":
			ops = append(ops, mt.Write(p, ""))
		case strings.HasPrefix(c, "gitlink:"):
			ops = append(ops, mt.Gitlink(p, strings.TrimPrefix(c, "gitlink:")))
		default:
			ops = append(ops, mt.Write(p, c))
		}
	}
	return ops
}

// with returns f with some paths set (or deleted, for "").
func (f files) with(kv ...string) files {
	g := maps.Clone(f)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(g, kv[i])
		} else {
			g[kv[i]] = kv[i+1]
		}
	}
	return g
}

// text is n numbered lines, with some replaced: text(20, 2, "x") is lines
// 1 to 20 with line 2 "x".
func text(n int, repl ...any) string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i+1)
	}
	for i := 0; i < len(repl); i += 2 {
		lines[repl[i].(int)-1] = repl[i+1].(string)
	}
	return strings.Join(lines, "\n") + "\n"
}

// rulesCase is a merge whose outcome JGit's source decides, where git's
// merge-ort decides otherwise or where the two must agree.
type rulesCase struct {
	name               string
	base, ours, theirs files
	attributes         bool
	// pick: a cherry-pick or rebase (a merge on the given base) rather
	// than a merge of commits.
	pick bool
	// conflicts is JGit's answer when it conflicts; else want holds
	// files of the merged tree.
	conflicts []string
	want      files
}

var (
	plain = files{"a.txt": text(20), "README": "readme\n"}
	ed2   = text(20, 2, "ours 2")
	ed18  = text(20, 18, "theirs 18")
	both  = text(20, 2, "ours 2", 18, "theirs 18")
	big   = strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", BigFileThreshold/64+1)
	late  = text(20) + strings.Repeat("x", 8100) + "\x00\n"
)

func rulesCases() []rulesCase {
	withCR := func(s string) string { return strings.Replace(s, "line 10\n", "line\r10\n", 1) }
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	return []rulesCase{
		{name: "edits far apart merge", base: plain, ours: plain.with("a.txt", ed2), theirs: plain.with("a.txt", ed18),
			want: files{"a.txt": both}},
		{name: "a lone carriage return makes a file binary", base: plain.with("a.txt", withCR(text(20))),
			ours: plain.with("a.txt", withCR(ed2)), theirs: plain.with("a.txt", withCR(ed18)), conflicts: []string{"a.txt"}},
		{name: "a final carriage return makes a file binary", base: plain.with("a.txt", text(20)+"\r"),
			ours: plain.with("a.txt", ed2+"\r"), theirs: plain.with("a.txt", ed18+"\r"), conflicts: []string{"a.txt"}},
		{name: "CRLF line ends are text", base: plain.with("a.txt", crlf(text(20))),
			ours: plain.with("a.txt", crlf(ed2)), theirs: plain.with("a.txt", crlf(ed18)), want: files{"a.txt": crlf(both)}},
		{name: "a NUL after byte 8000 makes a file binary", base: plain.with("a.txt", late),
			ours:   plain.with("a.txt", strings.Replace(late, "line 2\n", "ours 2\n", 1)),
			theirs: plain.with("a.txt", strings.Replace(late, "line 18\n", "theirs 18\n", 1)), conflicts: []string{"a.txt"}},
		{name: "a NUL in the first 8000 bytes makes a file binary", base: plain.with("a.txt", "\x00"+text(20)),
			ours: plain.with("a.txt", "\x00"+ed2), theirs: plain.with("a.txt", "\x00"+ed18), conflicts: []string{"a.txt"}},
		{name: "a file over 50 MiB on one side is binary", base: plain,
			ours: plain.with("a.txt", ed2+big), theirs: plain.with("a.txt", ed18), conflicts: []string{"a.txt"}},
		{name: "binary content changed on one side only merges", base: plain.with("a.txt", withCR(text(20))),
			ours: plain.with("a.txt", withCR(ed2)), theirs: plain.with("a.txt", withCR(text(20)), "README", "changed\n"),
			want: files{"a.txt": withCR(ed2), "README": "changed\n"}},
		{name: "a file emptied on one side and changed on the other conflicts", base: plain,
			ours: plain.with("a.txt", "empty:"), theirs: plain.with("a.txt", ed18), conflicts: []string{"a.txt"}},
		{name: "an empty file added against a non-empty one conflicts", base: plain,
			ours: plain.with("new.txt", "empty:"), theirs: plain.with("new.txt", "new\n"), conflicts: []string{"new.txt"}},
		{name: "a file emptied on one side and deleted on the other", base: plain,
			ours: plain.with("a.txt", ""), theirs: plain.with("a.txt", "empty:"), conflicts: []string{"a.txt"}},
		{name: "a file emptied on one side, its mode changed on the other, stays empty", base: plain,
			ours: plain.with("a.txt", "empty:"), theirs: plain.with("a.txt", "exec:"+text(20)), want: files{"a.txt": "exec:"}},
		{name: "a mode changed on one side and the file deleted on the other is deleted", base: plain,
			ours: plain.with("a.txt", ""), theirs: plain.with("a.txt", "exec:"+text(20)), want: files{"a.txt": ""}},
		{name: "a file added with different modes conflicts", base: plain,
			ours: plain.with("new.txt", "new\n"), theirs: plain.with("new.txt", "exec:new\n"), conflicts: []string{"new.txt"}},
		{name: "modes changed on one side merge with content from the other", base: plain,
			ours: plain.with("a.txt", "exec:"+ed2), theirs: plain.with("a.txt", ed18), want: files{"a.txt": "exec:" + both}},
		{name: "a rename is a deletion: renamed on one side, edited on the other conflicts", base: plain,
			ours: plain.with("a.txt", "", "b.txt", text(20)), theirs: plain.with("a.txt", ed18), conflicts: []string{"a.txt"}},
		{name: "renamed differently on both sides keeps both names", base: plain,
			ours: plain.with("a.txt", "", "b.txt", text(20)), theirs: plain.with("a.txt", "", "c.txt", text(20)),
			want: files{"a.txt": "", "b.txt": text(20), "c.txt": text(20)}},
		{name: "a case-only rename is a deletion", base: plain,
			ours: plain.with("README", "", "readme", "readme\n"), theirs: plain.with("README", "edited\n"), conflicts: []string{"README"}},
		{name: "no directory renames: a file added in a renamed directory stays", base: files{"d/x.txt": "x\n", "d/y.txt": "y\n"},
			ours: files{"e/x.txt": "x\n", "e/y.txt": "y\n"}, theirs: files{"d/x.txt": "x\n", "d/y.txt": "y\n", "d/z.txt": "z\n"},
			want: files{"e/x.txt": "x\n", "d/z.txt": "z\n", "d/x.txt": ""}},
		{name: "a submodule moved on both sides conflicts", base: plain.with("sub", "gitlink:"+strings.Repeat("1", 40)),
			ours:   plain.with("sub", "gitlink:"+strings.Repeat("2", 40)),
			theirs: plain.with("sub", "gitlink:"+strings.Repeat("3", 40)), conflicts: []string{"sub"}},
		{name: "a submodule moved on one side merges", base: plain.with("sub", "gitlink:"+strings.Repeat("1", 40)),
			ours:   plain.with("sub", "gitlink:"+strings.Repeat("2", 40), "a.txt", ed2),
			theirs: plain.with("sub", "gitlink:"+strings.Repeat("1", 40), "a.txt", ed18),
			want:   files{"sub": "gitlink:" + strings.Repeat("2", 40), "a.txt": both}},
		{name: "a symbolic link changed on both sides conflicts", base: plain.with("l", "link:a.txt"),
			ours: plain.with("l", "link:README"), theirs: plain.with("l", "link:b"), conflicts: []string{"l"}},
		{name: "a file on one side and a directory on the other conflict", base: plain,
			ours: plain.with("x", "file\n"), theirs: plain.with("x/y", "file\n"), conflicts: []string{"x"}},
	}
}

// attributesCases are the cases of the research note's matrix that
// depend on core.useGitattributesForMerge.
func attributesCases() []rulesCase {
	attrs := func(rule string, f files) files { return f.with(".gitattributes", rule+"\n") }
	var out []rulesCase
	for _, on := range []bool{false, true} {
		ifOn := func(conflicts ...string) []string {
			if on {
				return conflicts
			}
			return nil
		}
		for _, rule := range []string{"*.txt binary", "*.txt -merge", "*.txt merge=binary"} {
			c := rulesCase{name: rule, attributes: on, base: attrs(rule, plain), ours: attrs(rule, plain.with("a.txt", ed2)),
				theirs: attrs(rule, plain.with("a.txt", ed18)), conflicts: ifOn("a.txt")}
			if !on {
				c.want = files{"a.txt": both}
			}
			out = append(out, c)
		}
		union := rulesCase{name: "*.txt merge=union, the same line", attributes: on, base: attrs("*.txt merge=union", plain),
			ours:   attrs("*.txt merge=union", plain.with("a.txt", text(20, 5, "ours 5"))),
			theirs: attrs("*.txt merge=union", plain.with("a.txt", text(20, 5, "theirs 5")))}
		nested := rulesCase{name: "merge=union in a subdirectory's attributes", attributes: on,
			base:   files{"d/.gitattributes": "*.txt merge=union\n", "d/u.txt": text(20)},
			ours:   files{"d/.gitattributes": "*.txt merge=union\n", "d/u.txt": text(20, 5, "ours 5")},
			theirs: files{"d/.gitattributes": "*.txt merge=union\n", "d/u.txt": text(20, 5, "theirs 5")}}
		rebase := union
		rebase.name, rebase.pick = "merge=union, rebased: the change is ours", true
		if on {
			union.want = files{"a.txt": text(20, 5, "ours 5\ntheirs 5")}
			nested.want = files{"d/u.txt": text(20, 5, "ours 5\ntheirs 5")}
			rebase.want = union.want
		} else {
			union.conflicts, nested.conflicts, rebase.conflicts = []string{"a.txt"}, []string{"d/u.txt"}, []string{"a.txt"}
		}
		out = append(out, union, nested, rebase,
			rulesCase{name: "binary only in theirs", attributes: on, base: plain,
				ours: plain.with("a.txt", ed2), theirs: attrs("*.txt binary", plain.with("a.txt", ed18)), want: files{"a.txt": both}},
			rulesCase{name: "binary only in ours", attributes: on, base: plain,
				ours: attrs("*.txt binary", plain.with("a.txt", ed2)), theirs: plain.with("a.txt", ed18), conflicts: ifOn("a.txt")},
			rulesCase{name: "binary, changed on one side only", attributes: on, base: attrs("*.txt binary", plain),
				ours: attrs("*.txt binary", plain.with("a.txt", ed2)), theirs: attrs("*.txt binary", plain.with("README", "x\n")),
				want: files{"a.txt": ed2}},
			rulesCase{name: "merge=text, merge=foo, -text and eol merge as text, bytes as stored", attributes: on,
				base:   files{".gitattributes": "a.txt merge=text\nb.txt merge=foo\nc.txt -text\nd.txt text eol=crlf\n", "a.txt": text(20), "b.txt": text(20), "c.txt": text(20), "d.txt": text(20)},
				ours:   files{".gitattributes": "a.txt merge=text\nb.txt merge=foo\nc.txt -text\nd.txt text eol=crlf\n", "a.txt": ed2, "b.txt": ed2, "c.txt": ed2, "d.txt": ed2},
				theirs: files{".gitattributes": "a.txt merge=text\nb.txt merge=foo\nc.txt -text\nd.txt text eol=crlf\n", "a.txt": ed18, "b.txt": ed18, "c.txt": ed18, "d.txt": ed18},
				want:   files{"a.txt": both, "b.txt": both, "c.txt": both, "d.txt": both}},
		)
	}
	for i := range out {
		if out[i].conflicts == nil && out[i].want == nil {
			out[i].want = files{}
		}
		if out[i].attributes {
			out[i].name += " (attributes on)"
		} else {
			out[i].name += " (attributes off)"
		}
	}
	return out
}

// TestRules merges each case with the engine, checks JGit's answer as
// JGit's source gives it, and, when a JGit is at hand (mergertest.JGitEnv),
// that JGit answers the same, tree for tree.
func TestRules(t *testing.T) {
	up := mt.NewUpstream(t)
	dir := up.Repo(t, "rules")
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	var jgit *mt.JGit
	if testingJGit() {
		jgit = mt.StartJGit(t, dir)
	}
	engines := map[bool]*Engine{false: New(dir, false), true: New(dir, true)}
	for _, e := range engines {
		t.Cleanup(func() { e.Close() })
	}
	for _, c := range append(rulesCases(), attributesCases()...) {
		t.Run(c.name, func(t *testing.T) {
			s := mt.NewStream()
			b := s.Commit("refs/heads/base", nil, "base", c.base.ops()...)
			o := s.Commit("refs/heads/ours", []string{b}, "ours", c.ours.ops()...)
			th := s.Commit("refs/heads/theirs", []string{b}, "theirs", c.theirs.ops()...)
			ids := s.Import(t, dir)
			st = filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
			e := engines[c.attributes]
			var res Result
			var err error
			if c.pick {
				// as a rebase: the change (theirs here) is JGit's ours
				bt, ot, tt := treeOfCommit(t, st, ids[b]), treeOfCommit(t, st, ids[o]), treeOfCommit(t, st, ids[th])
				res, err = e.MergeTrees(t.Context(), st, bt, ot, tt)
			} else {
				res, err = e.Merge(t.Context(), st, plumbing.NewHash(ids[o]), plumbing.NewHash(ids[th]))
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRules(t, st, c, res)
			if jgit == nil {
				return
			}
			var jr mt.JGitResult
			if c.pick {
				jr, err = jgit.Pick(c.attributes, ids[b], ids[o], ids[th])
			} else {
				jr, err = jgit.Merge(c.attributes, ids[o], ids[th])
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(jr.Conflicts, res.Paths()) || jr.Tree != treeString(res.Tree) {
				t.Errorf("JGit gives tree %q, conflicts %q; the engine tree %q, conflicts %q", jr.Tree, jr.Conflicts, treeString(res.Tree), res.Paths())
			}
		})
	}
}

func treeString(h plumbing.Hash) string {
	if h == plumbing.ZeroHash {
		return ""
	}
	return h.String()
}

func treeOfCommit(t *testing.T, st *filesystem.Storage, id string) plumbing.Hash {
	t.Helper()
	c, err := object.GetCommit(st, plumbing.NewHash(id))
	if err != nil {
		t.Fatal(err)
	}
	return c.TreeHash
}

func checkRules(t *testing.T, st *filesystem.Storage, c rulesCase, res Result) {
	t.Helper()
	if c.conflicts != nil {
		if !slices.Equal(res.Paths(), c.conflicts) {
			t.Fatalf("conflicts %q (tree %s); JGit conflicts on %q", res.Paths(), treeString(res.Tree), c.conflicts)
		}
		return
	}
	if len(res.Conflicts) > 0 {
		t.Fatalf("conflicts %q; JGit merges cleanly", res.Reasons())
	}
	tree, err := object.GetTree(st, res.Tree)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range c.want {
		f, err := tree.FindEntry(p)
		if want == "" {
			if err == nil {
				t.Errorf("%s is in the merged tree; JGit leaves it out", p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got := ""
		switch {
		case f.Mode.String() == "0160000":
			got = "gitlink:" + f.Hash.String()
		default:
			data, err := readBlob(st, f.Hash)
			if err != nil {
				t.Fatal(err)
			}
			got = string(data)
			if f.Mode.String() == "0100755" && got == "" {
				got = "exec:"
			} else if f.Mode.String() == "0100755" {
				got = "exec:" + got
			}
		}
		if got != want {
			t.Errorf("%s is %q; JGit makes it %q", p, trim(got), trim(want))
		}
	}
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// testingJGit reports whether a JGit is at hand to compare with.
func testingJGit() bool { return os.Getenv(mt.JGitEnv) != "" }
