package merger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"

	"gated.dev/gated/merger/jgitmerge"
)

// waitDelay bounds how long a cancelled git may keep its output open.
const waitDelay = jgitmerge.WaitDelay

// gitEnv is the environment of every git the merger runs, the one its
// merges need: no system or user configuration or attributes, no prompts,
// untranslated messages.
func gitEnv() []string { return jgitmerge.Env() }

// gitCommand prepares the system git to run on the bare repository dir.
func gitCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	return jgitmerge.Command(ctx, dir, args...)
}

// runGit runs git on dir and returns its standard output.
func runGit(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	return jgitmerge.Run(ctx, gitCommand(ctx, dir, args...), stdin, args)
}

// checkGit verifies that the system git can do what the merger needs:
// merge-ort without a work tree (git merge-tree --write-tree, git 2.38).
func checkGit(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "git", "merge-tree", "-h").CombinedOutput()
	if !bytes.Contains(out, []byte("--write-tree")) {
		return fmt.Errorf("system git lacks merge-tree --write-tree (git 2.38 or later is required): %v", err)
	}
	return nil
}
