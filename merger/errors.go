package merger

import (
	"fmt"
	"strings"
)

// ConflictError says that a change cannot be applied to the state ahead of
// it the way Gerrit would submit it: a content conflict, a refused
// fast-forward, a root commit that cannot be rebased, or a parent that is
// neither in the branch nor ahead in the state. The item cannot be built;
// this is an answer about the change, not a failure of the merger.
type ConflictError struct {
	Change ChangeRef
	// Files are the conflicting paths, sorted; empty when the refusal is
	// not about files.
	Files []string
	// Reason is a sentence a person can act on.
	Reason string
}

// Error names the change, the reason and the files.
func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("change %s of %s cannot be merged: %s", e.Change, e.Change.Project, e.Reason)
	if len(e.Files) > 0 {
		msg += " (" + strings.Join(e.Files, ", ") + ")"
	}
	return msg
}

// FileNotFoundError says that a commit has no file at a path.
type FileNotFoundError struct {
	Project, Commit, Path string
}

// Error names the project, the path and the commit.
func (e *FileNotFoundError) Error() string {
	return fmt.Sprintf("%s: no file %s at %s", e.Project, e.Path, e.Commit)
}
