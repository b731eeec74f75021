package daemon

import (
	"fmt"
	"net/http"
	"strconv"

	"gated.dev/gated/queue"
	"gated.dev/gated/storage"
)

// changePage is what /change/N renders: where the change stands now in
// every pipeline, and its builds across patchsets.
type changePage struct {
	Base                    string
	Number                  int
	Project, Subject, Owner string
	GerritURL               string
	Items                   []changeItem
	Builds                  []BuildRecord
	Next                    string // the next page of its builds
}

// changeItem is the change's item in one pipeline.
type changeItem struct {
	ItemStatus
	Pipeline, Queue  string
	Position, Length int
}

// change serves GET /change/N.
func (p *pages) change(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n <= 0 {
		http.Error(w, fmt.Sprintf("%.40q is not a change number", r.PathValue("number")), http.StatusBadRequest)
		return
	}
	page := changePage{Base: "../", Number: n}
	st, _, _, _ := p.hub.latest()
	for _, pl := range st.Pipelines {
		for _, q := range pl.Queues {
			for i, it := range q.Items {
				if it.Change.Number != n {
					continue
				}
				page.Items = append(page.Items, changeItem{ItemStatus: it, Pipeline: pl.Name, Queue: q.Name, Position: i + 1, Length: len(q.Items)})
				page.Project, page.Subject, page.Owner, page.GerritURL = it.Change.Project, it.Subject, it.Owner, it.ChangeURL
			}
		}
	}
	q := storage.HistoryQuery{Change: n, Limit: 100, Before: r.URL.Query().Get("cursor")}
	var next string
	if page.Builds, next, err = p.history(q); err != nil {
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	if next != "" {
		page.Next = "?cursor=" + next
	}
	if page.Project == "" && len(page.Builds) > 0 {
		b := page.Builds[0]
		page.Project, page.Subject = b.Project, b.Subject
		page.GerritURL = changeURL(p.gerritURL, queue.ChangeRef{Project: b.Project, Number: n})
	}
	if page.GerritURL == "" && p.gerritURL != "" {
		page.GerritURL = fmt.Sprintf("%s/%d", p.gerritURL, n) // Gerrit finds a change by number alone
	}
	render(w, http.StatusOK, "change.html", page)
}
