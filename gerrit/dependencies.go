package gerrit

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gogerrit "github.com/andygrunwald/go-gerrit"
)

// addDependencies fills Needs and NeededBy: the relation chain from the
// related-changes endpoint, then the Depends-On footers both ways, read as
// Zuul reads them (zuul/driver/gerrit, zuul/lib/dependson.py).
func (c *Client) addDependencies(ctx context.Context, ch *Change) error {
	if ch.Revision == "" {
		return nil
	}
	if err := c.addRelationChain(ctx, ch); err != nil {
		return err
	}
	if err := c.addDependsOn(ctx, ch); err != nil {
		return err
	}
	// Also for a merged change: the changes that named it in a
	// Depends-On footer may enter their gate now that it merged.
	if err := c.addDependsOnNeededBy(ctx, ch); err != nil {
		return err
	}
	slices.Sort(ch.NeededBy)
	ch.NeededBy = slices.Compact(ch.NeededBy)
	return nil
}

// addRelationChain reads the related changes of the current revision: the
// entry whose commit is a parent of the current revision is needed (unless
// merged; Zuul counts an abandoned parent, which blocks), entries whose
// current patchset has the current revision as a parent need this change.
func (c *Client) addRelationChain(ctx context.Context, ch *Change) error {
	id := changePath(ch.Project, ch.Number)
	path := fmt.Sprintf("changes/%s/revisions/%s/related", id, ch.Revision)
	rel, resp, err := c.api.Changes.GetRelatedChanges(ctx, id, ch.Revision)
	if err := apiError(http.MethodGet, path, resp, err); err != nil {
		return fmt.Errorf("related changes: %w", err)
	}
	for _, r := range rel.Changes {
		if r.ChangeNumber == ch.Number || r.ChangeNumber == 0 {
			continue
		}
		switch {
		case slices.Contains(ch.Parents, r.Commit.Commit):
			if Status(r.Status) == StatusMerged {
				continue
			}
			ps := r.RevisionNumber
			if ch.SubmitType == "CHERRY_PICK" {
				// Cherry-picked changes are applied alone, each on
				// its current patchset, as Zuul does.
				ps = r.CurrentRevisionNumber
			}
			ch.addNeed(Need{Number: r.ChangeNumber, Patchset: ps})
		case Status(r.Status) == StatusNew && r.RevisionNumber == r.CurrentRevisionNumber &&
			slices.ContainsFunc(r.Commit.Parents, func(p gogerrit.CommitInfo) bool { return p.Commit == ch.Revision }):
			ch.NeededBy = append(ch.NeededBy, r.ChangeNumber)
		}
	}
	return nil
}

// addDependsOn resolves the change's Depends-On footers with one query: a
// URL names a change of this Gerrit by number (a merged one is not needed,
// any other is), a legacy Change-Id names the open changes that have it.
func (c *Client) addDependsOn(ctx context.Context, ch *Change) error {
	deps := ParseDependsOn(ch.Message)
	var terms []string
	numbers := map[int]bool{}
	ids := map[string]bool{}
	for _, d := range deps {
		switch {
		case d.ChangeID != "":
			if !ids[d.ChangeID] {
				ids[d.ChangeID] = true
				terms = append(terms, "change:"+d.ChangeID)
			}
		default:
			n, ok := ChangeNumberFromURL(c.base, d.URL)
			if !ok {
				c.log.Debug("Depends-On footer does not name a change of this gerrit; ignoring it",
					"change", ch.Number, "url", d.URL.Redacted())
				continue
			}
			if n != ch.Number && !numbers[n] {
				numbers[n] = true
				terms = append(terms, fmt.Sprintf("change:%d", n))
			}
		}
	}
	if len(terms) == 0 {
		return nil
	}
	infos, err := c.query(ctx, strings.Join(terms, " OR "), nil)
	if err != nil {
		return fmt.Errorf("Depends-On footers: %w", err)
	}
	found := map[int]bool{}
	for _, info := range infos {
		if info.Number == ch.Number {
			continue
		}
		found[info.Number] = true
		st := Status(info.Status)
		switch {
		case numbers[info.Number] && st != StatusMerged:
			ch.addNeed(Need{Number: info.Number})
		case ids[info.ChangeID] && st == StatusNew:
			ch.addNeed(Need{Number: info.Number})
		}
	}
	for n := range numbers {
		if !found[n] {
			c.log.Warn("Depends-On footer names a change gerrit does not show; ignoring it",
				"change", ch.Number, "depends_on", n)
		}
	}
	return nil
}

// addDependsOnNeededBy finds the open changes whose Depends-On footers name
// this change, by the three URL shapes and the Change-Id, as Zuul does, then
// checks each footer again (a message search matches loosely).
func (c *Client) addDependsOnNeededBy(ctx context.Context, ch *Change) error {
	var terms []string
	for _, u := range ChangeURLs(c.base, ch.Project, ch.Number) {
		terms = append(terms, "message:{Depends-On: "+u+"}")
	}
	if ch.ChangeID != "" {
		terms = append(terms, "message:{"+ch.ChangeID+"}")
	}
	q := "status:open (" + strings.Join(terms, " OR ") + ")"
	infos, err := c.query(ctx, q, []string{"CURRENT_REVISION", "CURRENT_COMMIT"})
	if err != nil {
		return fmt.Errorf("changes that depend on it: %w", err)
	}
	for _, info := range infos {
		if info.Number == ch.Number {
			continue
		}
		msg := info.Revisions[info.CurrentRevision].Commit.Message
		for _, d := range ParseDependsOn(msg) {
			if n, ok := ChangeNumberFromURL(c.base, d.URL); (ok && n == ch.Number) || (d.ChangeID != "" && d.ChangeID == ch.ChangeID) {
				ch.NeededBy = append(ch.NeededBy, info.Number)
				break
			}
		}
	}
	return nil
}

// addNeed adds a need unless the change already needs that change (the
// relation-chain entry, which knows its patchset, comes first).
func (ch *Change) addNeed(n Need) {
	if n.Number == ch.Number || slices.ContainsFunc(ch.Needs, func(x Need) bool { return x.Number == n.Number }) {
		return
	}
	ch.Needs = append(ch.Needs, n)
}
