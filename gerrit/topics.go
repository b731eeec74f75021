package gerrit

import (
	"context"
	"fmt"
	"net/http"
)

// SubmitWholeTopic reports Gerrit's change.submitWholeTopic (GET
// /config/server/info): whether submitting a change submits every open
// change of its topic.
func (c *Client) SubmitWholeTopic(ctx context.Context) (bool, error) {
	info, resp, err := c.api.Config.GetServerInfo(ctx)
	if err := apiError(http.MethodGet, "config/server/info", resp, err); err != nil {
		return false, fmt.Errorf("server info: %w", err)
	}
	return info.Change.SubmitWholeTopic, nil
}

// SubmittedTogether returns the numbers of the other open changes Gerrit
// would submit with a change (GET /changes/{id}/submitted_together): its
// unmerged ancestors and, with change.submitWholeTopic, its topic's open
// changes, transitively.
func (c *Client) SubmittedTogether(ctx context.Context, project string, number int) ([]int, error) {
	id := changePath(project, number)
	infos, resp, err := c.api.Changes.ChangesSubmittedTogether(ctx, id)
	if err := apiError(http.MethodGet, "changes/"+id+"/submitted_together", resp, err); err != nil {
		return nil, fmt.Errorf("changes submitted with change %d: %w", number, err)
	}
	var out []int
	for _, info := range *infos {
		if info.Number != number && Status(info.Status) == StatusNew {
			out = append(out, info.Number)
		}
	}
	return out, nil
}
