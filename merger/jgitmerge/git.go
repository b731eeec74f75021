package jgitmerge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// EmptyTree is git's empty tree.
const EmptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// Env is the environment git must run in for its merges to depend on the
// repository alone, as JGit's do in Gerrit: no system or user
// configuration, no system attributes file (GIT_ATTR_NOSYSTEM; with no HOME
// there is no user attributes file either), no prompts, untranslated
// messages.
func Env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	}
}

// NoAttributes are the git options that keep attributes out of a merge in
// a bare repository: git 2.43 to 2.45.2 read them from HEAD's tree unless
// attr.tree says otherwise (older gits ignore the key).
var NoAttributes = []string{"-c", "attr.tree=" + EmptyTree}

// WaitDelay bounds how long a cancelled git may keep its output open.
const WaitDelay = 5 * time.Second

// Command prepares the system git to run on the repository gitDir, in
// Env.
func Command(ctx context.Context, gitDir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir=" + gitDir}, args...)...)
	cmd.Env = Env()
	cmd.WaitDelay = WaitDelay
	return cmd
}

// Run runs a prepared git with stdin and returns its standard output; args
// name it in errors, which carry what it printed.
func Run(ctx context.Context, cmd *exec.Cmd, stdin io.Reader, args []string) ([]byte, error) {
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

// exitCode is the exit status of a git that ran and failed, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// run runs git on the repository gitDir, in workTree when it is not
// empty, and returns its standard output.
func run(ctx context.Context, gitDir, workTree string, args ...string) ([]byte, error) {
	cmd := Command(ctx, gitDir, args...)
	if workTree != "" {
		cmd.Env = append(cmd.Env, "GIT_WORK_TREE="+workTree)
		cmd.Dir = workTree
	}
	return Run(ctx, cmd, nil, args)
}
