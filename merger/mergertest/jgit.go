package mergertest

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// JGitEnv names the classpath of a JGit build (its classes or jar, with
// JavaEWAH, commons-codec and slf4j-api) that tests compare merges with.
// Without it, the tests that need a JGit are skipped: CI has no JGit.
// Debian's libjgit-java is 4.11, older than the rules Gerrit merges by
// (binary by content since 6.0, attributes since 6.10.1), so build one:
// javac the org.eclipse.jgit sources of a release (7.3 is Gerrit 3.12's)
// with /usr/share/java/{javaewah,commons-codec,slf4j-api}.jar from
// libjavaewah-java, libcommons-codec-java and libslf4j-java, and put the
// classes, the sources' resources directory and those jars on the path.
const JGitEnv = "GATED_JGIT_CLASSPATH"

//go:embed jgit/JGitMerge.java
var jgitMergeSource []byte

// JGit is a real JGit merging in one repository as Gerrit's submit does
// (jgit/JGitMerge.java), driven line by line.
type JGit struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// StartJGit starts a JGit on the bare repository gitDir, stopped when the
// test ends; it skips the test when JGitEnv is not set.
func StartJGit(t testing.TB, gitDir string) *JGit {
	t.Helper()
	cp := os.Getenv(JGitEnv)
	if cp == "" {
		t.Skipf("no JGit to compare with: set %s to the classpath of a JGit build", JGitEnv)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "JGitMerge.java")
	if err := os.WriteFile(src, jgitMergeSource, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("javac", "-nowarn", "-cp", cp, "-d", dir, src).CombinedOutput(); err != nil {
		t.Fatalf("compile JGitMerge: %v: %s", err, out)
	}
	j := &JGit{cmd: exec.Command("java", "-cp", cp+string(os.PathListSeparator)+dir, "JGitMerge", gitDir)}
	var err error
	if j.in, err = j.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := j.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	j.out = bufio.NewReader(stdout)
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		j.in.Close()
		j.cmd.Wait()
	})
	return j
}

// JGitResult is JGit's answer: a tree, or the conflicting paths.
type JGitResult struct {
	Tree      string
	Conflicts []string
}

// Merge merges commit theirs into commit ours, as Gerrit merges a change
// into its branch.
func (j *JGit) Merge(attributes bool, ours, theirs string) (JGitResult, error) {
	return j.ask(attributes, "merge", ours, theirs)
}

// Pick merges theirs into ours on base (a commit or a tree), as Gerrit's
// cherry-pick and rebase do.
func (j *JGit) Pick(attributes bool, base, ours, theirs string) (JGitResult, error) {
	return j.ask(attributes, "pick", base, ours, theirs)
}

func (j *JGit) ask(attributes bool, words ...string) (JGitResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	mode := "noattrs"
	if attributes {
		mode = "attrs"
	}
	if _, err := fmt.Fprintln(j.in, mode+" "+strings.Join(words, " ")); err != nil {
		return JGitResult{}, err
	}
	line, err := j.out.ReadString('\n')
	if err != nil {
		return JGitResult{}, fmt.Errorf("JGit: %w", err)
	}
	kind, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	switch kind {
	case "clean":
		return JGitResult{Tree: rest}, nil
	case "conflict":
		return JGitResult{Conflicts: strings.Split(rest, "\t")}, nil
	}
	return JGitResult{}, fmt.Errorf("JGit: %s", line)
}
