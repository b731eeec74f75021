package mergertest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Op is one change to the files of a commit.
type Op struct {
	kind    byte // 'M' write, 'G' gitlink, 'A' delete all
	path    string
	mode    string
	content string
}

// Write sets a regular file.
func Write(path, content string) Op {
	return Op{kind: 'M', path: path, mode: "100644", content: content}
}

// Exec sets an executable file.
func Exec(path, content string) Op {
	return Op{kind: 'M', path: path, mode: "100755", content: content}
}

// Symlink sets a symbolic link to target.
func Symlink(path, target string) Op {
	return Op{kind: 'M', path: path, mode: "120000", content: target}
}

// Gitlink sets a submodule's commit (a gitlink; the commit need not
// exist).
func Gitlink(path, commit string) Op {
	return Op{kind: 'G', path: path, mode: "160000", content: commit}
}

// DeleteAll removes every file, for a commit that lists its whole tree.
func DeleteAll() Op { return Op{kind: 'A'} }

// Stream is a git fast-import stream: the fastest way to write many
// commits. Commits are named by marks (":1") until imported.
type Stream struct {
	buf  bytes.Buffer
	mark int
	// When is the time of the next commit, in seconds since the epoch;
	// each commit advances it by one second.
	When int64
}

// NewStream returns an empty stream whose first commit is at a fixed time.
func NewStream() *Stream { return &Stream{When: 1700000000} }

// Commit adds a commit on ref with parents (marks of this stream or commit
// ids already in the repository; none for a root commit) whose tree is the
// first parent's with ops applied. It returns the commit's mark.
func (s *Stream) Commit(ref string, parents []string, msg string, ops ...Op) string {
	s.mark++
	b := &s.buf
	fmt.Fprintf(b, "commit %s\nmark :%d\n", ref, s.mark)
	fmt.Fprintf(b, "author Test Author <author@example.com> %d +0000\n", s.When)
	fmt.Fprintf(b, "committer Test Committer <committer@example.com> %d +0000\n", s.When)
	s.When++
	fmt.Fprintf(b, "data %d\n%s\n", len(msg), msg)
	for i, p := range parents {
		if i == 0 {
			fmt.Fprintf(b, "from %s\n", p)
		} else {
			fmt.Fprintf(b, "merge %s\n", p)
		}
	}
	for _, op := range ops {
		switch op.kind {
		case 'M':
			fmt.Fprintf(b, "M %s inline %s\ndata %d\n%s\n", op.mode, quote(op.path), len(op.content), op.content)
		case 'G':
			fmt.Fprintf(b, "M 160000 %s %s\n", op.content, quote(op.path))
		case 'A':
			b.WriteString("deleteall\n")
		}
	}
	b.WriteString("\n")
	return fmt.Sprintf(":%d", s.mark)
}

// Reset points ref at a commit (a mark or a commit id).
func (s *Stream) Reset(ref, commit string) {
	fmt.Fprintf(&s.buf, "reset %s\nfrom %s\n\n", ref, commit)
}

func quote(path string) string {
	if strings.ContainsAny(path, " \"\\\n") {
		return fmt.Sprintf("%q", path)
	}
	return path
}

// Import runs the stream into the bare repository dir and returns the
// commit id of every mark. The stream is emptied; its marks go on.
func (s *Stream) Import(t testing.TB, dir string) map[string]string {
	t.Helper()
	marks := filepath.Join(t.TempDir(), "marks")
	if _, err := TryGit(t.Context(), dir, s.buf.Bytes(), "fast-import", "--quiet", "--force", "--export-marks="+marks); err != nil {
		t.Fatal(err)
	}
	s.buf.Reset()
	f, err := os.Open(marks)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mark, id, _ := strings.Cut(sc.Text(), " ")
		ids[mark] = id
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
