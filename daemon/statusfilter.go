package daemon

import (
	"strconv"
	"strings"
)

// statusPage is what the status page renders: the status, and the filter
// its URL holds (?q=).
type statusPage struct {
	Status
	Filter string
	Base   string // the page is gated's root
}

// Shows reports whether an item passes the page's filter: each word of it
// is the item's change number, or a part of its project, owner or subject,
// ignoring case. The page's script applies the same rule (matches).
func (p statusPage) Shows(it ItemStatus) bool {
	for _, w := range strings.Fields(strings.ToLower(p.Filter)) {
		if w != strconv.Itoa(it.Change.Number) && !strings.Contains(strings.ToLower(it.Change.Project), w) &&
			!strings.Contains(strings.ToLower(it.Owner), w) && !strings.Contains(strings.ToLower(it.Subject), w) {
			return false
		}
	}
	return true
}
