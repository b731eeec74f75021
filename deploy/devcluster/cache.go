package devcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// recipe changes whenever the way binaries are built changes, so that old
// cache entries are not reused.
const recipe = "devcluster-build-1"

// toolsDir is the directory of the wrapper modules. They are separate
// modules, so they cannot be embedded; they are found beside this file,
// which is where `go test` and `go run` compile it from.
func toolsDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locate devcluster sources: no caller information")
	}
	dir := filepath.Join(filepath.Dir(file), "tools")
	if _, err := os.Stat(filepath.Join(dir, "argo", "go.mod")); err != nil {
		return "", fmt.Errorf("locate the wrapper modules (built with -trimpath?): %w", err)
	}
	return dir, nil
}

// cacheKey names a build: the versions for people, and a hash of every
// file of the wrapper modules, the Go toolchain and the platform for
// machines.
func cacheKey(ctx context.Context, src string) (string, error) {
	var env strings.Builder
	if err := goCommand(ctx, src, &env, "env", "GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED"); err != nil {
		return "", fmt.Errorf("cache key: %w\n%s", err, env.String())
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", recipe, env.String())
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cache key: hash wrapper modules: %w", err)
	}
	return fmt.Sprintf("k8s-%s-argo-%s-%s", KubernetesVersion, ArgoVersion, hex.EncodeToString(h.Sum(nil))[:12]), nil
}
