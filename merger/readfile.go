package merger

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// DefaultWorkflowPath is where a project keeps the workflow definition
// gated builds it with, unless configured otherwise.
const DefaultWorkflowPath = ".pipeline/argo-workflow.yaml"

// maxFileSize bounds ReadFile: the files read are small definitions, and
// an unmerged change must not make gated read a huge one into memory.
const maxFileSize = 8 << 20

// ReadFile returns the content of the regular file at path in a commit of
// the project's cache, such as a state's head and its workflow definition.
// A missing file gives a *FileNotFoundError.
func (m *Merger) ReadFile(ctx context.Context, project, commit, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !isHash(commit) {
		return nil, fmt.Errorf("read %s: %q is not a commit id", path, commit)
	}
	r, err := m.repo(project)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.exists() {
		return nil, fmt.Errorf("read %s at %s: project %s is not in the cache", path, commit, project)
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	c, err := r.commit(plumbing.NewHash(commit))
	if err != nil {
		return nil, err
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("%s: tree of %s: %w", project, commit, err)
	}
	entry, err := r.lookup(tree, strings.Trim(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("%s: find %s at %s: %w", project, path, commit, err)
	}
	if entry == nil {
		return nil, &FileNotFoundError{Project: project, Commit: commit, Path: path}
	}
	if !entry.Mode.IsFile() || entry.Mode == filemode.Symlink {
		return nil, fmt.Errorf("%s: %s at %s is not a regular file", project, path, commit)
	}
	blob, err := object.GetBlob(r.storage, entry.Hash)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s at %s: %w", project, path, commit, err)
	}
	if blob.Size > maxFileSize {
		return nil, fmt.Errorf("%s: %s at %s is %d bytes, more than the %d bytes gated reads", project, path, commit, blob.Size, maxFileSize)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: read %s at %s: %w", project, path, commit, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s at %s: %w", project, path, commit, err)
	}
	return data, nil
}

// lookup finds the entry at path in tree, or nil if there is none.
func (r *repo) lookup(tree *object.Tree, path string) (*object.TreeEntry, error) {
	parts := strings.Split(path, "/")
	for i, name := range parts {
		if name == "" || name == "." || name == ".." {
			return nil, fmt.Errorf("invalid path %q", path)
		}
		var entry *object.TreeEntry
		for j := range tree.Entries {
			if tree.Entries[j].Name == name {
				entry = &tree.Entries[j]
				break
			}
		}
		if entry == nil || i == len(parts)-1 {
			return entry, nil
		}
		if entry.Mode != filemode.Dir {
			return nil, nil
		}
		sub, err := object.GetTree(r.storage, entry.Hash)
		if err != nil {
			return nil, err
		}
		tree = sub
	}
	return nil, nil
}
