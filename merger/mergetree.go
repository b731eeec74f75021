package merger

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// The merges themselves are git's merge-ort, run without a work tree on
// the cache (git merge-tree --write-tree): the same code as `git merge`
// and `git cherry-pick`, including rename detection, content merges and
// recursive merge bases, at the cost of one process per merge.

// treeMerge is the outcome of a three-way merge of two commits.
type treeMerge struct {
	tree plumbing.Hash
	// conflicts are the conflicting paths, sorted; empty when clean.
	conflicts []string
	// reasons are git's CONFLICT messages.
	reasons []string
}

// mergeTree merges commits ours and theirs with merge-ort, writing the
// result's objects into the repository.
func (r *repo) mergeTree(ctx context.Context, ours, theirs plumbing.Hash) (treeMerge, error) {
	args := []string{"merge-tree", "--write-tree", "--allow-unrelated-histories", "--name-only", "-z", "--messages",
		ours.String(), theirs.String()}
	out, err := runGit(ctx, r.dir, nil, args...)
	if err != nil && exitCode(err) != 1 {
		return treeMerge{}, fmt.Errorf("%s: merge %s into %s: %w", r.project, theirs, ours, err)
	}
	res, perr := parseMergeTree(out, err != nil)
	if perr != nil {
		return treeMerge{}, fmt.Errorf("%s: merge %s into %s: %w", r.project, theirs, ours, perr)
	}
	// git names the sides by the commits given, which mean nothing to
	// a reader (and differ between equal states of different times).
	for i, msg := range res.reasons {
		msg = strings.ReplaceAll(msg, ours.String(), "the state")
		res.reasons[i] = strings.ReplaceAll(msg, theirs.String(), "the change")
	}
	// A file in the way of a directory is moved aside to path~<side>;
	// the conflict is about path.
	for i, p := range res.conflicts {
		p = strings.TrimSuffix(p, "~"+ours.String())
		res.conflicts[i] = strings.TrimSuffix(p, "~"+theirs.String())
	}
	slices.Sort(res.conflicts)
	res.conflicts = slices.Compact(res.conflicts)
	return res, nil
}

// parseMergeTree reads the -z --name-only --messages output of git
// merge-tree --write-tree: the tree; when conflicted, the conflicting
// paths, an empty field, then messages, each as the number of paths, the
// paths, a type and the message.
func parseMergeTree(out []byte, conflicted bool) (treeMerge, error) {
	fields := strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
	tree := strings.TrimSpace(fields[0])
	if !isHash(tree) {
		return treeMerge{}, fmt.Errorf("unexpected merge-tree output %q", out)
	}
	res := treeMerge{tree: plumbing.NewHash(tree)}
	if !conflicted {
		return res, nil
	}
	i := 1
	for ; i < len(fields) && fields[i] != ""; i++ {
		res.conflicts = append(res.conflicts, fields[i])
	}
	for i++; i < len(fields); {
		n, err := strconv.Atoi(fields[i])
		if err != nil || i+n+2 >= len(fields) {
			return treeMerge{}, fmt.Errorf("unexpected merge-tree message in %q", out)
		}
		typ, msg := fields[i+n+1], fields[i+n+2]
		if strings.HasPrefix(typ, "CONFLICT") {
			res.reasons = append(res.reasons, strings.TrimSpace(msg))
		}
		i += n + 3
	}
	if len(res.reasons) == 0 {
		res.reasons = []string{"merge conflict"}
	}
	return res, nil
}

// mergeBases returns the best common ancestors of a and b.
func (r *repo) mergeBases(ctx context.Context, a, b plumbing.Hash) ([]plumbing.Hash, error) {
	out, err := runGit(ctx, r.dir, nil, "merge-base", "--all", a.String(), b.String())
	if err != nil {
		if exitCode(err) == 1 && len(bytes.TrimSpace(out)) == 0 {
			return nil, nil // unrelated histories
		}
		return nil, fmt.Errorf("%s: merge bases of %s and %s: %w", r.project, a, b, err)
	}
	var bases []plumbing.Hash
	for _, line := range strings.Fields(string(out)) {
		bases = append(bases, plumbing.NewHash(line))
	}
	return bases, nil
}

// isAncestor reports whether commit a is b or an ancestor of b.
func (r *repo) isAncestor(ctx context.Context, a, b plumbing.Hash) (bool, error) {
	if a == b {
		return true, nil
	}
	_, err := runGit(ctx, r.dir, nil, "merge-base", "--is-ancestor", a.String(), b.String())
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	default:
		return false, fmt.Errorf("%s: is %s an ancestor of %s: %w", r.project, a, b, err)
	}
}
