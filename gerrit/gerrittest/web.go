package gerrittest

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
)

// serveWeb serves minimal pages, so that the change URLs in events and
// reports lead somewhere: / lists the changes, /c/<project>/+/<n> shows one.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if segs[0] == "" && len(segs) == 1 {
		var list []ChangeState
		for n := s.nextChange - 1; n >= 1; n-- {
			if c := s.changes[n]; c != nil {
				list = append(list, s.stateLocked(c))
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		indexPage.Execute(w, list)
		return
	}
	plus := slices.Index(segs, "+")
	if plus < 0 || plus+1 >= len(segs) {
		writeError(w, errNotFound)
		return
	}
	n, err := strconv.Atoi(segs[plus+1])
	if err != nil {
		writeError(w, errNotFound)
		return
	}
	c, err := s.lookupChange(n)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	changePage.Execute(w, s.stateLocked(c))
}

func (s *Server) redirectToChange(w http.ResponseWriter, r *http.Request, n int) {
	s.mu.Lock()
	c, err := s.lookupChange(n)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	http.Redirect(w, r, s.changeURL(c), http.StatusFound)
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<title>Gerrit simulator</title>
<h1>Changes</h1>
<table>
<tr><th>#</th><th>Project</th><th>Branch</th><th>Subject</th><th>Status</th></tr>
{{range .}}<tr><td><a href="c/{{.Project}}/+/{{.Number}}">{{.Number}}</a></td><td>{{.Project}}</td><td>{{.Branch}}</td><td>{{.Subject}}</td><td>{{.Status}}</td></tr>
{{end}}</table>
`))

var changePage = template.Must(template.New("change").Parse(`<!doctype html>
<title>{{.Number}}: {{.Subject}}</title>
<h1>{{.Number}}: {{.Subject}}</h1>
<p>{{.Project}} {{.Branch}} · {{.Status}}{{if .WIP}} · WIP{{end}}{{if .Topic}} · topic {{.Topic}}{{end}} · patchset {{.Patchset}} ({{.Revision}})</p>
<pre>{{.CommitMessage}}</pre>
<h2>Votes</h2>
<ul>{{range $who, $votes := .Votes}}{{range $label, $v := $votes}}<li>{{$who}}: {{$label}} {{$v}}</li>{{end}}{{end}}</ul>
<h2>Messages</h2>
{{range .Messages}}<h3>{{if .Author}}{{.Author}}{{else}}Gerrit{{end}} · patchset {{.Patchset}}</h3><pre>{{.Text}}</pre>{{end}}
`))
