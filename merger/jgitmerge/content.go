package jgitmerge

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// emptyBlob is git's empty blob.
var emptyBlob = plumbing.NewHash("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")

// contentJob is a text file both sides changed, merged line by line.
type contentJob struct {
	path    string
	b, o, t entry
	mode    filemode.FileMode
	done    bool
	result  plumbing.Hash
}

// job queues the content merge of a path; the entry's blob is known once
// contentMerges ran.
func (m *treeMerge) job(p string, b, o, t entry) *resultEntry {
	mode := mergeModes(b.mode, o.mode, t.mode)
	if mode == 0 {
		mode = filemode.Regular
	}
	j := &contentJob{path: p, b: b, o: o, t: t, mode: mode}
	m.jobs = append(m.jobs, j)
	return &resultEntry{job: j}
}

// binary reports whether JGit takes any of the files for binary.
func (m *treeMerge) binary(sides ...entry) (bool, error) {
	for _, x := range sides {
		if !x.nonTree() || x.mode == filemode.Submodule {
			continue
		}
		size, err := m.st.EncodedObjectSize(x.hash)
		if err != nil {
			return false, fmt.Errorf("size of blob %s: %w", x.hash, err)
		}
		if size > BigFileThreshold {
			return true, nil
		}
		data, err := readBlob(m.st, x.hash)
		if err != nil {
			return false, err
		}
		if IsBinary(data) {
			return true, nil
		}
	}
	return false, nil
}

func readBlob(st storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	obj, err := st.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}

// contentMerges merges the queued files line by line. A side that is
// empty conflicts with any change on the other (JGit's MergeAlgorithm
// takes the whole of the other side then); the rest go to git's xdiff in
// one merge-tree of three synthetic commits whose trees hold only these
// files, so that nothing can be taken for a rename.
func (m *treeMerge) contentMerges() error {
	var pending []*contentJob
	for _, j := range m.jobs {
		if j.done {
			continue
		}
		if empty(j.o) || empty(j.t) {
			union, err := m.union(j.path)
			if err != nil {
				return err
			}
			if err := m.emptySide(j, union); err != nil {
				return err
			}
			continue
		}
		pending = append(pending, j)
	}
	if len(pending) == 0 {
		return nil
	}
	var base, ours, theirs []fileAt
	for _, j := range pending {
		if !j.b.absent() {
			base = append(base, fileAt{j.path, j.b.hash})
		}
		ours = append(ours, fileAt{j.path, blobOrEmpty(j.o)})
		theirs = append(theirs, fileAt{j.path, blobOrEmpty(j.t)})
	}
	root, err := m.scaffold(base)
	if err != nil {
		return err
	}
	x, err := m.scaffold(ours, root)
	if err != nil {
		return err
	}
	y, err := m.scaffold(theirs, root)
	if err != nil {
		return err
	}
	workTree, err := m.e.attributeTree(m.st, m.ours)
	if err != nil {
		return err
	}
	args := []string{"merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", x.String(), y.String()}
	if workTree == "" {
		args = append(append([]string(nil), NoAttributes...), args...)
	}
	out, err := run(m.ctx, m.e.gitDir, workTree, args...)
	if err != nil && exitCode(err) != 1 {
		return fmt.Errorf("content merge of %d files: %w", len(pending), err)
	}
	tree, conflicted, perr := parseMergeTree(out, err != nil)
	if perr != nil {
		return fmt.Errorf("content merge of %d files: %w", len(pending), perr)
	}
	merged, err := m.blobsAt(tree)
	if err != nil {
		return err
	}
	for _, j := range pending {
		if conflicted[j.path] && !m.ignoreConflicts {
			m.conflict(j.path, "content conflict")
			continue
		}
		h, ok := merged[j.path]
		if !ok {
			return fmt.Errorf("content merge of %s: no result in merge-tree's tree %s", j.path, tree)
		}
		if conflicted[j.path] {
			if h, err = m.jgitMarkers(h, x, y); err != nil {
				return err
			}
		}
		j.done, j.result = true, h
	}
	return nil
}

// empty reports whether a side has no lines: absent, or an empty file.
func empty(x entry) bool { return x.absent() || x.hash == emptyBlob }

func blobOrEmpty(x entry) plumbing.Hash {
	if x.absent() {
		return emptyBlob
	}
	return x.hash
}

// emptySide decides a content merge one of whose sides is empty, as
// JGit's MergeAlgorithm does: if the other side did not change the
// content either, the emptiness wins; if it did, it is a conflict, or with
// merge=union, the other side's content; a virtual base takes the
// conflict as JGit writes it, everything of one side against nothing of
// the other.
func (m *treeMerge) emptySide(j *contentJob, union bool) error {
	other := j.t
	if empty(j.t) {
		other = j.o
	}
	switch {
	case empty(other), !j.b.absent() && other.hash == j.b.hash:
		j.done, j.result = true, emptyBlob
		return nil
	case union:
		j.done, j.result = true, other.hash
		return nil
	case !m.ignoreConflicts:
		m.conflict(j.path, "content conflict (emptied on one side, changed on the other)")
		return nil
	}
	data, err := readBlob(m.st, other.hash)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("<<<<<<< OURS\n")
	if other == j.o {
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.WriteString("=======\n")
	if other == j.t {
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.WriteString(">>>>>>> THEIRS\n")
	h, err := writeBlob(m.st, b.Bytes())
	if err != nil {
		return err
	}
	j.done, j.result = true, h
	return nil
}

// jgitMarkers relabels the conflict markers git wrote (named by the
// synthetic commits) as JGit labels them in a virtual base.
func (m *treeMerge) jgitMarkers(h, x, y plumbing.Hash) (plumbing.Hash, error) {
	data, err := readBlob(m.st, h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	data = bytes.ReplaceAll(data, []byte("<<<<<<< "+x.String()), []byte("<<<<<<< OURS"))
	data = bytes.ReplaceAll(data, []byte(">>>>>>> "+y.String()), []byte(">>>>>>> THEIRS"))
	return writeBlob(m.st, data)
}

func writeBlob(st storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	return store(st, "blob", func(obj plumbing.EncodedObject) error {
		obj.SetType(plumbing.BlobObject)
		obj.SetSize(int64(len(data)))
		w, err := obj.Writer()
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		return w.Close()
	})
}

// fileAt is a blob at a path of a synthetic tree.
type fileAt struct {
	path string
	hash plumbing.Hash
}

// scaffoldTime stamps the synthetic commits, which no state refers to; a
// constant makes equal merges share them.
var scaffoldTime = time.Unix(0, 0).UTC()

// scaffold writes a commit on parents whose tree holds files, as regular
// files: modes are merged here, not by git.
func (m *treeMerge) scaffold(files []fileAt, parents ...plumbing.Hash) (plumbing.Hash, error) {
	tree, err := buildTree(m.st, files)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return scaffoldCommit(m.st, tree, parents...)
}

// scaffoldCommit writes a commit of tree on parents that exists only to
// steer git's merge: its identity and time are constant.
func scaffoldCommit(st storer.EncodedObjectStorer, tree plumbing.Hash, parents ...plumbing.Hash) (plumbing.Hash, error) {
	sig := object.Signature{Name: "gated", Email: "scaffold@gated.invalid", When: scaffoldTime}
	return WriteCommit(st, &object.Commit{Author: sig, Committer: sig, Message: "gated: merge scaffold\n", TreeHash: tree, ParentHashes: parents})
}

// WriteCommit stores a commit, unless the store has it, and returns its
// id. The encoding is deterministic, so equal commits have equal ids.
func WriteCommit(st storer.EncodedObjectStorer, c *object.Commit) (plumbing.Hash, error) {
	return store(st, "commit", c.Encode)
}

// store writes the object encode makes, unless the store has it.
func store(st storer.EncodedObjectStorer, what string, encode func(plumbing.EncodedObject) error) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	if err := encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode %s: %w", what, err)
	}
	if st.HasEncodedObject(obj.Hash()) == nil {
		return obj.Hash(), nil
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write %s: %w", what, err)
	}
	return h, nil
}

// buildTree writes the tree of files, with the trees of their directories.
func buildTree(st storer.EncodedObjectStorer, files []fileAt) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	sub := map[string][]fileAt{}
	var dirs []string
	for _, f := range files {
		dir, rest, nested := strings.Cut(f.path, "/")
		if !nested {
			entries = append(entries, object.TreeEntry{Name: f.path, Mode: filemode.Regular, Hash: f.hash})
			continue
		}
		if _, ok := sub[dir]; !ok {
			dirs = append(dirs, dir)
		}
		sub[dir] = append(sub[dir], fileAt{rest, f.hash})
	}
	for _, dir := range dirs {
		h, err := buildTree(st, sub[dir])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h})
	}
	return writeTree(st, entries)
}

// blobsAt lists the blobs of a tree by path.
func (m *treeMerge) blobsAt(tree plumbing.Hash) (map[string]plumbing.Hash, error) {
	t, err := object.GetTree(m.st, tree)
	if err != nil {
		return nil, fmt.Errorf("read merge-tree's tree %s: %w", tree, err)
	}
	out := map[string]plumbing.Hash{}
	err = t.Files().ForEach(func(f *object.File) error {
		out[f.Name] = f.Hash
		return nil
	})
	return out, err
}

// parseMergeTree reads the -z --name-only --no-messages output of git
// merge-tree --write-tree: the tree, then, when conflicted, the
// conflicting paths.
func parseMergeTree(out []byte, conflicted bool) (plumbing.Hash, map[string]bool, error) {
	fields := strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
	tree := strings.TrimSpace(fields[0])
	if len(tree) != 40 {
		return plumbing.ZeroHash, nil, fmt.Errorf("unexpected merge-tree output %s", strconv.Quote(string(out)))
	}
	paths := map[string]bool{}
	if conflicted {
		for _, p := range fields[1:] {
			if p != "" {
				paths[p] = true
			}
		}
	}
	return plumbing.NewHash(tree), paths, nil
}
