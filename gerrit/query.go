package gerrit

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	gogerrit "github.com/andygrunwald/go-gerrit"
)

// changeOptions are the o= options of a full change snapshot.
var changeOptions = []string{
	"CURRENT_REVISION", "CURRENT_COMMIT", "CURRENT_FILES", "LABELS", "DETAILED_LABELS",
	"DETAILED_ACCOUNTS", "SUBMITTABLE", "SUBMIT_REQUIREMENTS",
}

// maxQueryResults bounds a query, so that paging through a result that
// keeps growing ends.
const maxQueryResults = 10000

// Change returns a full snapshot of a change: its current patchset, votes,
// submit requirements, and what it needs and is needed by.
func (c *Client) Change(ctx context.Context, number int) (Change, error) {
	path := fmt.Sprintf("changes/%d", number)
	info, resp, err := c.api.Changes.GetChange(ctx, fmt.Sprint(number), &gogerrit.ChangeOptions{AdditionalFields: changeOptions})
	if err := apiError(http.MethodGet, path, resp, err); err != nil {
		return Change{}, fmt.Errorf("change %d: %w", number, err)
	}
	ch := c.snapshot(info)
	if err := c.addDependencies(ctx, &ch); err != nil {
		return Change{}, fmt.Errorf("change %d: %w", number, err)
	}
	return ch, nil
}

// Query returns full snapshots (as Change) of the changes a Gerrit search
// finds, e.g. "status:open label:Workflow=1", paging through all of them.
func (c *Client) Query(ctx context.Context, query string) ([]Change, error) {
	infos, err := c.query(ctx, query, changeOptions)
	if err != nil {
		return nil, err
	}
	changes := make([]Change, 0, len(infos))
	for i := range infos {
		ch := c.snapshot(&infos[i])
		if err := c.addDependencies(ctx, &ch); err != nil {
			return nil, fmt.Errorf("query %q: change %d: %w", query, ch.Number, err)
		}
		changes = append(changes, ch)
	}
	return changes, nil
}

// snapshot converts a change read with changeOptions, adding its web URL.
func (c *Client) snapshot(info *gogerrit.ChangeInfo) Change {
	ch := changeFromInfo(info)
	ch.URL = fmt.Sprintf("%sc/%s/+/%d", c.base, ch.Project, ch.Number)
	return ch
}

// query pages through a search with the given options, dropping repeats
// (changes move between pages while one pages).
func (c *Client) query(ctx context.Context, query string, options []string) ([]gogerrit.ChangeInfo, error) {
	var all []gogerrit.ChangeInfo
	seen := map[int]bool{}
	for start := 0; ; {
		opt := &gogerrit.QueryChangeOptions{
			QueryOptions:  gogerrit.QueryOptions{Query: []string{query}, Limit: c.pageSize},
			Start:         start,
			ChangeOptions: gogerrit.ChangeOptions{AdditionalFields: options},
		}
		page, resp, err := c.api.Changes.QueryChanges(ctx, opt)
		if err := apiError(http.MethodGet, "changes/?q="+url.QueryEscape(query), resp, err); err != nil {
			return nil, fmt.Errorf("query %q: %w", query, err)
		}
		if page == nil || len(*page) == 0 {
			return all, nil
		}
		fresh := 0
		for _, ci := range *page {
			if !seen[ci.Number] {
				seen[ci.Number] = true
				fresh++
				all = append(all, ci)
			}
		}
		more := (*page)[len(*page)-1].MoreChanges
		start += len(*page)
		if !more {
			return all, nil
		}
		if fresh == 0 {
			c.log.Warn("gerrit query paging brought nothing new; stopping there", "query", query, "results", len(all))
			return all, nil
		}
		if start >= maxQueryResults {
			c.log.Warn("gerrit query has too many results; using the first ones",
				"query", query, "results", len(all), "limit", maxQueryResults)
			return all, nil
		}
	}
}

// BranchTip returns the commit a branch points to.
func (c *Client) BranchTip(ctx context.Context, project, branch string) (string, error) {
	ref := branch
	if len(ref) < 5 || ref[:5] != "refs/" {
		ref = "refs/heads/" + branch
	}
	path := fmt.Sprintf("projects/%s/branches/%s", project, ref)
	bi, resp, err := c.api.Projects.GetBranch(ctx, project, ref)
	if err := apiError(http.MethodGet, path, resp, err); err != nil {
		return "", fmt.Errorf("branch tip of %s %s: %w", project, branch, err)
	}
	if bi.Revision == "" {
		return "", fmt.Errorf("branch tip of %s %s: gerrit answered no revision", project, branch)
	}
	return bi.Revision, nil
}
