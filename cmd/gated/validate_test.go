package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture runs a command of gated's with its standard streams captured.
func capture(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outW, errW
	var bo, be bytes.Buffer
	done := make(chan struct{}, 2)
	go func() { io.Copy(&bo, outR); done <- struct{}{} }()
	go func() { io.Copy(&be, errR); done <- struct{}{} }()
	code = run(context.Background(), args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outW.Close()
	errW.Close()
	<-done
	<-done
	return code, bo.String(), be.String()
}

// TestValidateChecksWhatServeChecks: a configuration serve refuses is
// refused by validate with the same words, every problem with its line.
func TestValidateChecksWhatServeChecks(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("gerrit:\n  url: https://review.example.com\n  passwrd-file: /p\nexecutor: {argo: {max-paralelism: 0}}\nprojects: {org/a: {}}\n"), 0o644)
	code, _, verr := capture(t, "validate", bad)
	if code != 1 || !strings.Contains(verr, bad+": line 3: unknown key passwrd-file in gerrit (did you mean password-file?)") ||
		!strings.Contains(verr, bad+": line 4: unknown key max-paralelism in executor.argo (did you mean max-parallelism?)") {
		t.Fatalf("validate: exit %d, stderr:\n%s", code, verr)
	}
	code, _, serr := capture(t, "serve", "-config", bad)
	if code != 1 || serr != verr {
		t.Fatalf("serve: exit %d, stderr:\n%s\nwant the same as validate's:\n%s", code, serr, verr)
	}
	unusable := filepath.Join(dir, "unusable.yaml")
	os.WriteFile(unusable, []byte("gerrit: {url: https://review.example.com}\nexecutor: {argo: {max-parallelism: 0}}\nlisten: nowhere\nprojects: {org/a: {namespace: ../../etc}}\n"), 0o644)
	_, _, verr = capture(t, "validate", unusable)
	_, _, serr = capture(t, "serve", "-config", unusable)
	if serr != verr || strings.Count(verr, "\n") != 4 {
		t.Fatalf("validate said:\n%s\nserve said:\n%s\nwant the same four problems", verr, serr)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("gerrit: {url: https://review.example.com, password-env: P}\nprojects: {org/a: {}}\n"), 0o644)
	if code, out, _ := capture(t, "validate", good); code != 0 || out != good+": ok\n" {
		t.Fatalf("validate of a good file: exit %d, %q", code, out)
	}
	if code, _, errOut := capture(t, "validate", "-h"); code != 0 || !strings.Contains(errOut, "usage: gated validate FILE") {
		t.Fatalf("validate -h: exit %d, %q", code, errOut)
	}
}
