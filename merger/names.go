package merger

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// checkProject accepts Gerrit project names ("tools/gated") that map to a
// directory strictly inside the cache: no empty, "." or ".." components,
// no component ending in ".git" (the cache's own suffix), nothing git could
// take for an option.
func checkProject(name string) error {
	if name == "" {
		return errors.New("empty project name")
	}
	if strings.ContainsAny(name, "\x00\\:") {
		return fmt.Errorf("project name %q contains a forbidden character", name)
	}
	for _, part := range strings.Split(name, "/") {
		switch {
		case part == "", part == ".", part == "..":
			return fmt.Errorf("project name %q has an empty, . or .. component", name)
		case strings.HasPrefix(part, "-"), strings.HasPrefix(part, "."):
			return fmt.Errorf("project name %q has a component starting with - or .", name)
		case strings.HasSuffix(part, ".git"):
			return fmt.Errorf("project name %q has a component ending in .git", name)
		}
	}
	return nil
}

// projectDir is where the cache keeps a project's bare repository.
func projectDir(root, project string) string {
	return filepath.Join(root, filepath.FromSlash(project)+".git")
}

// checkRefName applies git's rules for ref names (git check-ref-format).
func checkRefName(name string) error {
	if err := plumbing.ReferenceName(name).Validate(); err != nil || strings.HasPrefix(name, "-") {
		return fmt.Errorf("invalid ref name %q", name)
	}
	return nil
}

// checkStateRef accepts the refs states are recorded under: valid ref
// names strictly inside RefPrefix.
func checkStateRef(name string) error {
	if !strings.HasPrefix(name, RefPrefix) || len(name) == len(RefPrefix) {
		return fmt.Errorf("state ref %q is not under %s", name, RefPrefix)
	}
	return checkRefName(name)
}
