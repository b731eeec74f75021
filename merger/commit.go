package merger

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"gated.dev/gated/merger/jgitmerge"
)

// writeCommit stores a commit and returns its id. The encoding is
// deterministic, so equal inputs give equal ids.
func (r *repo) writeCommit(c *object.Commit) (plumbing.Hash, error) {
	obj := r.storage.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: encode commit: %w", r.project, err)
	}
	if r.known[obj.Hash()] {
		return obj.Hash(), nil
	}
	h, err := jgitmerge.WriteCommit(r.storage, c)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", r.project, err)
	}
	r.remember(h)
	return h, nil
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
