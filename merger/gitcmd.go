package merger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"gated.dev/gated/merger/jgitmerge"
)

// waitDelay bounds how long a cancelled git may keep its output open.
const waitDelay = 5 * time.Second

// gitEnv is the environment of every git the merger runs, the one its
// merges need: no system or user configuration or attributes, no prompts,
// untranslated messages.
func gitEnv() []string { return jgitmerge.Env() }

// gitCommand prepares the system git to run on the bare repository dir.
func gitCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = gitEnv()
	cmd.WaitDelay = waitDelay
	return cmd
}

// runGit runs git on dir and returns its standard output.
func runGit(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	return runCmd(ctx, gitCommand(ctx, dir, args...), stdin, args)
}

// runCmd runs a git command and returns its standard output; args name it
// in errors.
func runCmd(ctx context.Context, cmd *exec.Cmd, stdin io.Reader, args []string) ([]byte, error) {
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		ge := &gitError{args: args, stderr: strings.TrimSpace(stderr.String()), err: err}
		if ctx.Err() != nil {
			ge.err = ctx.Err()
		}
		return stdout.Bytes(), ge
	}
	return stdout.Bytes(), nil
}

// gitError is a failed git command, with what it printed.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := "git " + strings.Join(e.args, " ") + ": " + e.err.Error()
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// checkGit verifies that the system git can do what the merger needs:
// merge-ort without a work tree (git merge-tree --write-tree, git 2.38).
func checkGit(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "git", "merge-tree", "-h").CombinedOutput()
	if !bytes.Contains(out, []byte("--write-tree")) {
		return fmt.Errorf("system git lacks merge-tree --write-tree (git 2.38 or later is required): %v", err)
	}
	return nil
}
