package gerrit

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Branches returns a project's default branch and the tip of each of its
// branches, by short name (what a timer enqueues).
func (c *Client) Branches(ctx context.Context, project string) (head string, tips map[string]string, err error) {
	h, resp, err := c.api.Projects.GetHEAD(ctx, project)
	if err := apiError(http.MethodGet, "projects/"+project+"/HEAD", resp, err); err != nil {
		return "", nil, fmt.Errorf("default branch of %s: %w", project, err)
	}
	list, resp, err := c.api.Projects.ListBranches(ctx, project, nil)
	if err := apiError(http.MethodGet, "projects/"+project+"/branches/", resp, err); err != nil {
		return "", nil, fmt.Errorf("branches of %s: %w", project, err)
	}
	tips = map[string]string{}
	for _, b := range *list {
		if name, ok := strings.CutPrefix(b.Ref, "refs/heads/"); ok {
			tips[name] = b.Revision
		}
	}
	return strings.TrimPrefix(h, "refs/heads/"), tips, nil
}
