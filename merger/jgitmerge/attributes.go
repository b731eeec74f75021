package jgitmerge

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// With attributes, git's line merge must see the .gitattributes files of
// the merge's "ours" tree, at every level, as JGit reads them. git 2.39
// reads attributes in a bare repository only from $GIT_DIR/info/attributes
// (git 2.41's --attr-source could name a tree, but merge-tree crashed with
// it until 2.43); in a work tree it reads the work tree's files. So the
// line merge runs in a work tree that holds those files and nothing else,
// one directory per set of attribute files, kept while recently used.

// attrDirs bounds the work trees kept.
const attrDirs = 8

// attrCache knows the attribute files of the trees it has read, and keeps
// the work trees made of them.
type attrCache struct {
	root string
	// files maps a tree to the attribute files under it (paths relative
	// to it): trees never change, and a merge's ours shares most subtrees
	// with the last one.
	files map[plumbing.Hash][]fileAt
	dirs  *list.List // of string (set id), most recent first
	byID  map[string]*list.Element
}

func newAttrCache() *attrCache {
	return &attrCache{files: map[plumbing.Hash][]fileAt{}, dirs: list.New(), byID: map[string]*list.Element{}}
}

func (c *attrCache) close() error {
	if c.root == "" {
		return nil
	}
	return os.RemoveAll(c.root)
}

// attributeTree returns the work tree holding the attribute files of tree
// ours, or "" when the engine ignores attributes.
func (e *Engine) attributeTree(st storer.EncodedObjectStorer, ours plumbing.Hash) (string, error) {
	if e.attrs == nil {
		return "", nil
	}
	files, err := e.attrs.list(st, ours)
	if err != nil {
		return "", err
	}
	return e.attrs.dir(st, files)
}

// list finds the attribute files of a tree, reading only subtrees it has
// not seen.
func (c *attrCache) list(st storer.EncodedObjectStorer, tree plumbing.Hash) ([]fileAt, error) {
	if tree == plumbing.ZeroHash {
		return nil, nil
	}
	if files, ok := c.files[tree]; ok {
		return files, nil
	}
	t, err := object.GetTree(st, tree)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", tree, err)
	}
	var files []fileAt
	for _, te := range t.Entries {
		switch {
		case te.Name == ".gitattributes" && te.Mode.IsFile() && te.Mode != filemode.Symlink:
			files = append(files, fileAt{te.Name, te.Hash})
		case te.Mode == filemode.Dir:
			sub, err := c.list(st, te.Hash)
			if err != nil {
				return nil, err
			}
			for _, f := range sub {
				files = append(files, fileAt{path.Join(te.Name, f.path), f.hash})
			}
		}
	}
	c.files[tree] = files
	return files, nil
}

// dir returns a work tree holding exactly files, making it if needed.
func (c *attrCache) dir(st storer.EncodedObjectStorer, files []fileAt) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %s\x00", f.hash, f.path)
	}
	id := hex.EncodeToString(h.Sum(nil))[:16]
	if c.root == "" {
		root, err := os.MkdirTemp("", "gated-attributes-")
		if err != nil {
			return "", fmt.Errorf("attributes work tree: %w", err)
		}
		c.root = root
	}
	dir := filepath.Join(c.root, id)
	if e, ok := c.byID[id]; ok {
		c.dirs.MoveToFront(e)
		return dir, nil
	}
	if err := writeAttributes(st, dir, files); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	c.byID[id] = c.dirs.PushFront(id)
	for c.dirs.Len() > attrDirs {
		last := c.dirs.Back()
		c.dirs.Remove(last)
		delete(c.byID, last.Value.(string))
		if err := os.RemoveAll(filepath.Join(c.root, last.Value.(string))); err != nil {
			return "", fmt.Errorf("attributes work tree: %w", err)
		}
	}
	return dir, nil
}

func writeAttributes(st storer.EncodedObjectStorer, dir string, files []fileAt) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("attributes work tree: %w", err)
	}
	for _, f := range files {
		data, err := readBlob(st, f.hash)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("attributes work tree: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("attributes work tree: %w", err)
		}
	}
	return nil
}

// union reports whether ours gives path the attribute merge=union.
func (m *treeMerge) union(p string) (bool, error) {
	workTree, err := m.e.attributeTree(m.st, m.ours)
	if err != nil || workTree == "" {
		return false, err
	}
	out, err := run(m.ctx, m.e.gitDir, workTree, "check-attr", "-z", "merge", "--", p)
	if err != nil {
		return false, fmt.Errorf("attributes of %s: %w", p, err)
	}
	fields := strings.Split(string(out), "\x00")
	return len(fields) >= 3 && fields[2] == "union", nil
}
