package gerrittest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
)

// Project describes a project to create.
type Project struct {
	Name string
	// SubmitType is how changes are submitted; default
	// MERGE_IF_NECESSARY.
	SubmitType string
	// Branch is the default branch (HEAD); default master.
	Branch string
	// Files are the files of the branch's first commit; default a README.
	Files map[string]string
}

var submitTypes = []string{MergeIfNecessary, FastForwardOnly, RebaseIfNecessary, RebaseAlways, MergeAlways, CherryPick}

// CreateProject creates a project: a bare repository whose default branch
// has one commit with the given files.
func (s *Server) CreateProject(ctx context.Context, p Project) error {
	if p.Name == "" || strings.HasPrefix(p.Name, "/") || strings.HasSuffix(p.Name, "/") ||
		strings.Contains(p.Name, "..") || strings.HasSuffix(p.Name, ".git") {
		return errorf(http.StatusBadRequest, "invalid project name %q", p.Name)
	}
	switch first, _, _ := strings.Cut(p.Name, "/"); first {
	case "a", "c", "changes", "config", "projects", "accounts", "tools":
		return errorf(http.StatusBadRequest, "project name %q collides with a URL of the server", p.Name)
	}
	if p.SubmitType == "" {
		p.SubmitType = MergeIfNecessary
	}
	if !slices.Contains(submitTypes, p.SubmitType) {
		return errorf(http.StatusBadRequest, "unknown submit type %q", p.SubmitType)
	}
	if p.Branch == "" {
		p.Branch = "master"
	}
	if len(p.Files) == 0 {
		p.Files = map[string]string{"README": p.Name + "\n"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projects[p.Name] != nil {
		return errorf(http.StatusConflict, "Project already exists")
	}
	r, err := initRepo(ctx, filepath.Join(s.dir, "git", p.Name+".git"), filepath.Join(s.dir, "home"), p.Branch, s.gitattributes)
	if err != nil {
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	tree, err := r.writeTree(ctx, "", p.Files)
	if err != nil {
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	admin := s.serverIdent()
	sha, err := r.commitTree(ctx, commitInput{tree: tree, message: "Initial commit\n", author: admin, committer: admin})
	if err != nil {
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	if err := r.updateRef(ctx, "refs/heads/"+p.Branch, sha, ""); err != nil {
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	s.projects[p.Name] = &project{name: p.Name, submitType: p.SubmitType, head: p.Branch, repo: r}
	return nil
}

// serverIdent is Gerrit's own identity, the committer of the commits it
// makes.
func (s *Server) serverIdent() ident {
	return ident{Name: "Gerrit Code Review", Email: "gerrit@example.com", When: s.now()}
}

func accountIdent(a *Account, when ident) ident {
	return ident{Name: a.Name, Email: a.Email, When: when.When}
}

func (s *Server) project(name string) (*project, error) {
	p := s.projects[name]
	if p == nil {
		return nil, errorf(http.StatusNotFound, "Not found: %s", name)
	}
	return p, nil
}
