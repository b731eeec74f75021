package daemon

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"time"

	"gated.dev/gated/scheduler"
	"gated.dev/gated/storage"
)

//go:embed web/*.html
var webFiles embed.FS

// pageTemplates are gated's HTML pages. html/template escapes everything
// they show by context: nothing from a change (subject, file names,
// messages, logs) can become markup.
var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"seconds": func(s float64) string {
		return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
	},
}).ParseFS(webFiles, "web/*.html"))

// pageCSP lets a page run its own inline script and style and talk to
// gated only.
const pageCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'"

// render writes one of the pages.
func render(w http.ResponseWriter, code int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if err := pageTemplates.ExecuteTemplate(w, page, data); err != nil {
		// The status line is out; all that is left is to say so in the page.
		template.HTMLEscape(w, []byte("\n\nrender "+page+": "+err.Error()))
	}
}

// stepper is an executor that tells what a build's steps did (Argo, and
// the simulated executor).
type stepper interface {
	Steps(ctx context.Context, name string) ([]scheduler.Step, error)
}

// pages serves what gated knows of builds and changes: the build history
// (as JSON and HTML), a page per build and a page per change.
type pages struct {
	db        *storage.DB
	hub       *hub
	steps     stepper // nil: the executor cannot tell
	publicURL string
	gerritURL string
}
