package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
	"gated.dev/gated/storage"
)

// Limits of a page of builds.
const (
	defaultBuildsPage = 50
	maxBuildsPage     = 500
)

// buildFilters are the query parameters /api/builds and /builds take.
var buildFilters = []string{"project", "change", "pipeline", "result", "limit", "cursor"}

// results are the build results a filter may name.
var results = []string{
	string(queue.ResultSuccess), string(queue.ResultFailure), string(queue.ResultError),
	string(queue.ResultLost), string(queue.ResultConfigError),
}

// parseBuildQuery reads a history query from a URL's parameters, and
// says what is wrong with any of them. Empty parameters (a form's blank
// fields) filter nothing.
func parseBuildQuery(v url.Values) (storage.HistoryQuery, error) {
	q := storage.HistoryQuery{Limit: defaultBuildsPage}
	for k, vs := range v {
		if !slices.Contains(buildFilters, k) {
			return q, fmt.Errorf("unknown parameter %q (the filters are %s)", k, strings.Join(buildFilters, ", "))
		}
		if len(vs) > 1 {
			return q, fmt.Errorf("%s is given %d times; give it once", k, len(vs))
		}
	}
	text := func(k string) (string, error) {
		s := v.Get(k)
		if len(s) > 200 || strings.ContainsFunc(s, unicode.IsControl) {
			return "", fmt.Errorf("%s %.40q is not a %s name", k, s, k)
		}
		return s, nil
	}
	var err error
	if q.Project, err = text("project"); err != nil {
		return q, err
	}
	if q.Pipeline, err = text("pipeline"); err != nil {
		return q, err
	}
	if s := v.Get("change"); s != "" {
		if q.Change, err = strconv.Atoi(s); err != nil || q.Change <= 0 {
			return q, fmt.Errorf("change %.40q is not a change number", s)
		}
	}
	if q.Result = v.Get("result"); q.Result != "" && !slices.Contains(results, q.Result) {
		return q, fmt.Errorf("result %.40q is not one of %s", q.Result, strings.Join(results, ", "))
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > maxBuildsPage {
			return q, fmt.Errorf("limit %.40q is not a number from 1 to %d", s, maxBuildsPage)
		}
	}
	q.Before = v.Get("cursor")
	return q, nil
}

// history reads a page of builds; a bad cursor is the caller's error
// (errBadRequest), anything else gated's.
func (p *pages) history(q storage.HistoryQuery) ([]BuildRecord, string, error) {
	page, err := p.db.History(q)
	if errors.Is(err, storage.ErrBadCursor) {
		return nil, "", badRequest{err}
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]BuildRecord, 0, len(page.Builds))
	for _, b := range page.Builds {
		r, err := decodeBuild(b, p.publicURL)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, page.Next, nil
}

// badRequest is an error in what the client asked for.
type badRequest struct{ error }

func statusOf(err error) int {
	if errors.As(err, new(badRequest)) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// apiBuilds serves GET /api/builds: {"builds": [...], "next": cursor},
// newest first; see parseBuildQuery for the filters.
func (p *pages) apiBuilds(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	reply := func(code int, v any) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	q, err := parseBuildQuery(r.URL.Query())
	if err != nil {
		reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	builds, next, err := p.history(q)
	if err != nil {
		reply(statusOf(err), map[string]string{"error": err.Error()})
		return
	}
	reply(http.StatusOK, struct {
		Builds []BuildRecord `json:"builds"`
		Next   string        `json:"next,omitempty"`
	}{builds, next})
}

// buildsPage is what /builds renders.
type buildsPage struct {
	Base    string
	Filter  storage.HistoryQuery
	Results []string
	Builds  []BuildRecord
	JSONURL string
	Next    string // the next page's URL
	Error   string
}

// builds serves GET /builds: the history as a table, with the filters of
// /api/builds in its URL.
func (p *pages) builds(w http.ResponseWriter, r *http.Request) {
	page := buildsPage{Results: results, JSONURL: "api/builds"}
	q, err := parseBuildQuery(r.URL.Query())
	if err != nil {
		page.Error = err.Error()
		render(w, http.StatusBadRequest, "builds.html", page)
		return
	}
	page.Filter = q
	filters := filterValues(q)
	if len(filters) > 0 {
		page.JSONURL += "?" + filters.Encode()
	}
	var next string
	if page.Builds, next, err = p.history(q); err != nil {
		page.Error = err.Error()
		render(w, statusOf(err), "builds.html", page)
		return
	}
	if next != "" {
		filters.Set("cursor", next)
		page.Next = "builds?" + filters.Encode()
	}
	render(w, http.StatusOK, "builds.html", page)
}

// filterValues are a query's filters as URL parameters, without its
// cursor.
func filterValues(q storage.HistoryQuery) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"project": q.Project, "pipeline": q.Pipeline, "result": q.Result} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Change != 0 {
		v.Set("change", strconv.Itoa(q.Change))
	}
	if q.Limit != defaultBuildsPage {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// buildName is what a build's name may be: an Argo Workflow's name.
var buildName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// buildPage is what /build/NAME renders: the build as the history has it
// (once finished) or as the queue has it (while it runs), and its steps
// as the executor reports them.
type buildPage struct {
	Base, Name string
	Record     *BuildRecord
	Running    *BuildStatus

	Pipeline         string
	Item             queue.ItemID
	Attempt          int
	Change, Patchset int
	Project, Subject string
	GerritURL        string
	State            []queue.ChangeRef
	Started          *time.Time
	ArgoURL          string
	Artifacts        []queue.Link

	Steps     []stepView
	StepsNote string
}

// stepView is a step with how long it took (or has run so far).
type stepView struct {
	scheduler.Step
	Took float64
}

// build serves GET /build/NAME.
func (p *pages) build(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !buildName.MatchString(name) {
		http.Error(w, fmt.Sprintf("%.60q is not a build's name", name), http.StatusBadRequest)
		return
	}
	page := buildPage{Base: "../", Name: name}
	rec, found, err := p.db.BuildNamed(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if found {
		b, err := decodeBuild(rec, p.publicURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page.fromRecord(&b, p.gerritURL)
	} else {
		page.fromStatus(p.hub)
	}
	known := false
	if p.steps != nil {
		known = page.fetchSteps(r.Context(), p.steps)
	} else {
		page.StepsNote = "The executor does not report the steps of its builds."
	}
	if page.Record == nil && page.Running == nil && !known {
		http.Error(w, fmt.Sprintf("gated has no build %s (it never ran, or its record was pruned)", name), http.StatusNotFound)
		return
	}
	render(w, http.StatusOK, "build.html", page)
}

func (b *buildPage) fromRecord(r *BuildRecord, gerritURL string) {
	b.Record = r
	b.Pipeline, b.Item, b.Attempt = r.Pipeline, r.Item, r.Attempt
	b.Change, b.Patchset, b.Project, b.Subject = r.Change, r.Patchset, r.Project, r.Subject
	b.State, b.Started, b.ArgoURL, b.Artifacts = r.Changes, r.Started, r.ArgoURL, r.Artifacts
	b.GerritURL = changeURL(gerritURL, queue.ChangeRef{Project: r.Project, Number: r.Change})
}

// fromStatus fills the page from the item whose build it is now, if any.
func (b *buildPage) fromStatus(h *hub) {
	st, _, _, _ := h.latest()
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if it.Build == nil || it.Build.Name != b.Name {
					continue
				}
				bs := *it.Build
				b.Running = &bs
				b.Pipeline, b.Item, b.Attempt = p.Name, it.ID, it.Attempt
				b.Change, b.Patchset, b.Project, b.Subject = it.Change.Number, it.Change.Patchset, it.Change.Project, it.Subject
				b.State, b.ArgoURL, b.Artifacts, b.GerritURL = it.State, bs.URL, bs.Links, it.ChangeURL
				if !bs.Started.IsZero() {
					b.Started = &bs.Started
				}
				return
			}
		}
	}
}

// fetchSteps asks the executor for the build's steps; false if it does
// not have the build.
func (b *buildPage) fetchSteps(ctx context.Context, s stepper) bool {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	steps, err := s.Steps(ctx, b.Name)
	switch {
	case errors.Is(err, scheduler.ErrNoSuchBuild):
		b.StepsNote = "The executor no longer has this build (its workflow is deleted some time after its change left the pipeline): its steps are gone, what gated recorded is above."
		return false
	case err != nil:
		b.StepsNote = fmt.Sprintf("The executor could not tell the build's steps now: %v", err)
		return true
	}
	now := time.Now()
	for _, s := range steps {
		v := stepView{Step: s}
		switch {
		case !s.Started.IsZero() && !s.Finished.IsZero():
			v.Took = s.Finished.Sub(s.Started).Seconds()
		case !s.Started.IsZero():
			v.Took = now.Sub(s.Started).Seconds()
		}
		b.Steps = append(b.Steps, v)
	}
	if len(b.Steps) == 0 {
		b.StepsNote = "No step has run yet."
	}
	return true
}
