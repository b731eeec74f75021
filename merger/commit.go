package merger

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeCommit stores a commit and returns its id. The encoding is
// deterministic, so equal inputs give equal ids.
func (r *repo) writeCommit(c *object.Commit) (plumbing.Hash, error) {
	obj := r.storage.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: encode commit: %w", r.project, err)
	}
	if h := obj.Hash(); r.has(h) {
		return h, nil
	}
	h, err := r.storage.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: write commit: %w", r.project, err)
	}
	return h, nil
}

// syntheticTime stamps the scaffolding commits of cherry-picks, which no
// state refers to; a constant makes them shared by every pick of the same
// trees.
var syntheticTime = time.Unix(0, 0).UTC()

// scaffold writes a commit of tree on parents that exists only to steer
// merge-ort: its identity and time are constant.
func (r *repo) scaffold(tree plumbing.Hash, parents ...plumbing.Hash) (plumbing.Hash, error) {
	sig := object.Signature{Name: "gated", Email: "scaffold@gated.invalid", When: syntheticTime}
	return r.writeCommit(&object.Commit{
		Author: sig, Committer: sig, Message: "gated: merge scaffold\n",
		TreeHash: tree, ParentHashes: parents,
	})
}

// subject is the first line of a commit message.
func subject(msg string) string {
	for i, c := range msg {
		if c == '\n' {
			return msg[:i]
		}
	}
	return msg
}
