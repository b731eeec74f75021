package merger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
)

// Forget deletes a state's ref (see Request.Ref) in every project; the
// commits only it kept are collected by the next GC.
func (m *Merger) Forget(ctx context.Context, ref string) error {
	if err := checkStateRef(ref); err != nil {
		return err
	}
	var errs []error
	for _, r := range m.allRepos() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.deleteRef(ref); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// gcPrune is how old an unreferenced object must be for GC to delete it.
// Objects a request is writing are younger; the memo, which refers to
// trees no ref may keep, is cleared by every GC.
const gcPrune = "1.hour.ago"

// GC collects the garbage of every cached repository: it drops the
// patchset refs (they are fetched again when a state needs them, and
// states keep the commits they use), repacks, and prunes what no ref
// reaches. Call it on a schedule; each repository is locked while it runs.
func (m *Merger) GC(ctx context.Context) error {
	var errs []error
	for _, r := range m.allRepos() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.gc(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *repo) gc(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.exists() {
		return nil
	}
	// git rewrites the packfiles go-git holds open: release them, and the
	// memo's trees, which the prune may delete.
	if err := r.close(); err != nil {
		return fmt.Errorf("gc %s: %w", r.project, err)
	}
	r.memo.clear()
	clear(r.known)
	refs, err := runGit(ctx, r.dir, nil, "for-each-ref", "--format=delete %(refname)", "refs/changes/")
	if err != nil {
		return fmt.Errorf("gc %s: %w", r.project, err)
	}
	if _, err := runGit(ctx, r.dir, bytes.NewReader(refs), "update-ref", "--stdin"); err != nil {
		return fmt.Errorf("gc %s: %w", r.project, err)
	}
	if _, err := runGit(ctx, r.dir, nil, "gc", "--quiet", "--prune="+gcPrune); err != nil {
		return fmt.Errorf("gc %s: %w", r.project, err)
	}
	return nil
}

// deleteRef deletes one ref if the repository has it.
func (r *repo) deleteRef(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.exists() {
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	if err := r.storage.RemoveReference(plumbing.ReferenceName(name)); err != nil {
		return fmt.Errorf("%s: delete %s: %w", r.project, name, err)
	}
	return nil
}

// exists reports whether the repository is on disk.
func (r *repo) exists() bool {
	fi, err := os.Stat(r.dir)
	return err == nil && fi.IsDir()
}
