package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a parsed scenario file.
type Scenario struct {
	File     string
	Name     string
	Config   []byte // the config fragment, as YAML (nil: defaults)
	Gerrit   GerritSettings
	Projects []Project
	Steps    []Step
}

// GerritSettings are the simulator's server settings (format v2).
type GerritSettings struct {
	// SubmitWholeTopic is Gerrit's change.submitWholeTopic.
	SubmitWholeTopic bool
}

// Project is a repository on the simulator.
type Project struct {
	Name       string
	Queue      string
	SubmitType string
	Files      map[string]string
	// Config is a fragment of gated's per-project configuration, as YAML,
	// merged into the project's (format v2); nil if none.
	Config []byte
}

// Step is one step of the story. Exactly one of the fields is set.
type Step struct {
	Line int
	Kind string // the step's key

	Upload      *Upload
	NewPatchset *NewPatchset
	Change      string // approve, abandon, restore: the change id
	Review      *Review
	PushBranch  *PushBranch
	Fail        *Fail
	Flaky       *Flaky
	Hold        bool
	Release     string // a change id, or "all"
	GerritFault *GerritFault
	Admin       *AdminStep // dequeue, enqueue, promote
	Expect      *Expect
	Advance     time.Duration // advance: how far gated's clock moves
	Reload      *Reload
}

// Reload replaces gated's configuration file and has gated reload it:
// Config is the new top-level fragment (nil: none), Projects the
// scenario's projects configured from now on (nil: all of them, each
// with its own config).
type Reload struct {
	Config   []byte
	Projects []string
}

// AdminStep is an administrator's request, made through gated's admin API:
// Kind (dequeue, enqueue, promote) of Changes (one but for promote) in
// Pipeline.
type AdminStep struct {
	Pipeline string
	Changes  []string
	Reason   string
}

// Upload creates a change.
type Upload struct {
	ID, Project, Branch, Parent, Topic, Message string
	Files                                       map[string]string
	DependsOn                                   []string
}

// NewPatchset uploads the next patchset of a change; Message, if set,
// replaces its commit message, and DependsOn adds Depends-On footers.
type NewPatchset struct {
	Change    string
	Files     map[string]string
	Message   string
	DependsOn []string
}

// Review is a vote or comment.
type Review struct {
	Change  string
	Labels  map[string]int
	Message string
}

// PushBranch is a direct push outside the gate; ID, if set, names the ref
// update for the built expectation.
type PushBranch struct {
	ID, Project, Branch string
	Files               map[string]string
}

// Fail makes builds fail: every build of Change's item, or (With) only
// builds whose speculative state contains all of With.
type Fail struct {
	Change string
	With   []string
}

// Flaky fails the next Times builds of Change's item, then passes.
type Flaky struct {
	Change string
	Times  int
}

// GerritFault makes the simulator answer the next Count requests whose path
// contains Path with Status.
type GerritFault struct {
	Status int
	Count  int
	Path   string
}

// Expect is a set of expectations, checked at once. A nil field is not
// checked.
type Expect struct {
	Merged          []string
	NotMerged       []string
	Queue           map[string][]string
	Running         [][]string
	BuildsStarted   *int
	BuildsCancelled *int
	Votes           map[string]map[string]int
	CommentContains map[string]string
	Window          map[string]int
	// Built maps a pipeline to the items that started a build in it, in
	// order of their first build (format v2).
	Built map[string][]string
	// MergedTogether lists groups of changes each merged by one submit
	// (format v2).
	MergedTogether [][]string
	// ExplainMentions and ExplainContains check gated's explanation of a
	// change: the changes it names, a text it contains.
	ExplainMentions map[string][]string
	ExplainContains map[string]string
	// Keys lists the keys in file order, for output.
	Keys []string
}

// ParseFile reads and parses a scenario file.
func ParseFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a scenario. Anything it does not understand is an error that
// names the file and line.
func Parse(file string, data []byte) (*Scenario, error) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty scenario", file)
	}
	s := &Scenario{File: file}
	root := doc.Content[0]
	p.mapping(root, "scenario", func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			s.Name = p.str(v)
		case "config":
			s.Config = p.fragment(v)
		case "gerrit":
			p.mapping(v, "gerrit", func(key string, kn, gv *yaml.Node) {
				switch key {
				case "submit-whole-topic":
					s.Gerrit.SubmitWholeTopic = p.boolean(gv)
				default:
					p.unknown(kn, "gerrit key", key)
				}
			})
		case "projects":
			p.mapping(v, "projects", func(name string, _, pv *yaml.Node) {
				pr := Project{Name: name}
				p.mapping(pv, "project "+name, func(key string, kn, fv *yaml.Node) {
					switch key {
					case "queue":
						pr.Queue = p.str(fv)
					case "submit-type":
						pr.SubmitType = p.str(fv)
					case "files":
						pr.Files = p.files(fv)
					case "config":
						pr.Config = p.fragment(fv)
					default:
						p.unknown(kn, "project key", key)
					}
				})
				s.Projects = append(s.Projects, pr)
			})
		case "steps":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "steps must be a list")
				return
			}
			for _, sn := range v.Content {
				if st, ok := p.step(sn); ok {
					s.Steps = append(s.Steps, st)
				}
			}
		default:
			p.unknown(k, "top-level key", key)
		}
	})
	if len(s.Projects) == 0 && p.err == nil {
		p.errorf(root, "no projects")
	}
	if p.err != nil {
		return nil, p.err
	}
	return s, nil
}

type parser struct {
	file string
	err  error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...))
	}
}

func (p *parser) unknown(n *yaml.Node, what, key string) {
	p.errorf(n, "unknown %s %q", what, key)
}

// mapping calls f for each key of a mapping node.
func (p *parser) mapping(n *yaml.Node, what string, f func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i].Value, n.Content[i], n.Content[i+1])
	}
}

func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "expected a string")
		return ""
	}
	return n.Value
}

func (p *parser) integer(n *yaml.Node) int {
	v, err := strconv.Atoi(p.str(n))
	if err != nil {
		p.errorf(n, "expected an integer, got %q", n.Value)
	}
	return v
}

func (p *parser) strings(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "expected a list")
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, p.str(c))
	}
	return out
}

func (p *parser) boolean(n *yaml.Node) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errorf(n, "expected true or false, got %q", n.Value)
	}
	return b
}

// fragment re-encodes a node that is a fragment of gated's configuration,
// checked when the scenario starts.
func (p *parser) fragment(n *yaml.Node) []byte {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "expected a mapping of gated's configuration")
		return nil
	}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(n); err != nil {
		p.errorf(n, "%v", err)
	}
	return buf.Bytes()
}

func (p *parser) files(n *yaml.Node) map[string]string {
	out := map[string]string{}
	p.mapping(n, "files", func(key string, _, v *yaml.Node) { out[key] = p.str(v) })
	return out
}

// step parses one one-key map of the steps list.
func (p *parser) step(n *yaml.Node) (Step, bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		p.errorf(n, "a step is a map with exactly one key")
		return Step{}, false
	}
	k, v := n.Content[0], n.Content[1]
	st := Step{Line: k.Line, Kind: k.Value}
	fields := func(allowed ...string) map[string]*yaml.Node {
		got := map[string]*yaml.Node{}
		p.mapping(v, k.Value, func(key string, kn, vn *yaml.Node) {
			if !slices.Contains(allowed, key) {
				p.unknown(kn, k.Value+" key", key)
				return
			}
			got[key] = vn
		})
		return got
	}
	need := func(f map[string]*yaml.Node, key string) *yaml.Node {
		if f[key] == nil {
			p.errorf(v, "%s: %q is required", k.Value, key)
			return &yaml.Node{Kind: yaml.ScalarNode, Line: v.Line}
		}
		return f[key]
	}
	opt := func(f map[string]*yaml.Node, key, def string) string {
		if f[key] == nil {
			return def
		}
		return p.str(f[key])
	}
	switch k.Value {
	case "upload":
		f := fields("id", "project", "branch", "files", "parent", "depends-on", "topic", "message")
		u := &Upload{ID: p.str(need(f, "id")), Project: p.str(need(f, "project")), Branch: opt(f, "branch", "master"),
			Parent: opt(f, "parent", ""), Topic: opt(f, "topic", ""), Message: opt(f, "message", "")}
		if f["files"] != nil {
			u.Files = p.files(f["files"])
		}
		if f["depends-on"] != nil {
			u.DependsOn = p.strings(f["depends-on"])
		}
		st.Upload = u
	case "new-patchset":
		f := fields("change", "files", "depends-on", "message")
		st.NewPatchset = &NewPatchset{Change: p.str(need(f, "change")), Message: opt(f, "message", "")}
		if f["files"] != nil {
			st.NewPatchset.Files = p.files(f["files"])
		}
		if f["depends-on"] != nil {
			st.NewPatchset.DependsOn = p.strings(f["depends-on"])
		}
	case "approve", "abandon", "restore":
		f := fields("change")
		st.Change = p.str(need(f, "change"))
	case "review":
		f := fields("change", "labels", "message")
		r := &Review{Change: p.str(need(f, "change")), Message: opt(f, "message", ""), Labels: map[string]int{}}
		if f["labels"] != nil {
			p.mapping(f["labels"], "labels", func(key string, _, lv *yaml.Node) { r.Labels[key] = p.integer(lv) })
		}
		st.Review = r
	case "push-branch":
		f := fields("id", "project", "branch", "files")
		st.PushBranch = &PushBranch{ID: opt(f, "id", ""), Project: p.str(need(f, "project")), Branch: opt(f, "branch", "master")}
		if f["files"] != nil {
			st.PushBranch.Files = p.files(f["files"])
		}
	case "fail":
		f := fields("change", "with")
		st.Fail = &Fail{Change: p.str(need(f, "change"))}
		if f["with"] != nil {
			st.Fail.With = p.strings(f["with"])
		}
	case "flaky":
		f := fields("change", "times")
		st.Flaky = &Flaky{Change: p.str(need(f, "change")), Times: 1}
		if f["times"] != nil {
			st.Flaky.Times = p.integer(f["times"])
		}
	case "hold":
		switch p.str(v) {
		case "true":
			st.Hold = true
		case "false":
		default:
			p.errorf(v, "hold: expected true or false")
		}
	case "release":
		if v.Kind == yaml.ScalarNode {
			if v.Value != "all" {
				p.errorf(v, "release: expected all or {change: ID}")
			}
			st.Release = "all"
		} else {
			f := fields("change")
			st.Release = p.str(need(f, "change"))
		}
	case "wait":
		if p.str(v) != "settled" {
			p.errorf(v, "wait: only 'settled' is known")
		}
	case "restart-gated":
		if v.Kind != yaml.MappingNode || len(v.Content) != 0 {
			if !(v.Kind == yaml.ScalarNode && v.Value == "") {
				p.errorf(v, "restart-gated takes no arguments ({})")
			}
		}
	case "gerrit-fault":
		f := fields("status", "count", "path")
		st.GerritFault = &GerritFault{Status: p.integer(need(f, "status")), Count: 1, Path: opt(f, "path", "")}
		if f["count"] != nil {
			st.GerritFault.Count = p.integer(f["count"])
		}
	case "expect":
		st.Expect = p.expect(v)
	case "reload":
		st.Reload = &Reload{}
		if !(v.Kind == yaml.ScalarNode && v.Value == "") {
			f := fields("config", "projects")
			if f["config"] != nil {
				st.Reload.Config = p.fragment(f["config"])
			}
			if f["projects"] != nil {
				st.Reload.Projects = orEmpty(p.strings(f["projects"]))
			}
		}
	case "advance":
		d, err := time.ParseDuration(p.str(v))
		if err != nil || d < 0 {
			p.errorf(v, "advance: expected a duration like 2h or 30m, got %q", v.Value)
		}
		st.Advance = d
	case "dequeue", "enqueue":
		f := fields("change", "pipeline", "reason")
		st.Admin = &AdminStep{Pipeline: p.str(need(f, "pipeline")), Changes: []string{p.str(need(f, "change"))}, Reason: opt(f, "reason", "")}
	case "promote":
		f := fields("changes", "pipeline", "reason")
		st.Admin = &AdminStep{Pipeline: p.str(need(f, "pipeline")), Changes: p.strings(need(f, "changes")), Reason: opt(f, "reason", "")}
		if len(st.Admin.Changes) == 0 {
			p.errorf(v, "promote: changes: name at least one change")
		}
	default:
		p.unknown(k, "step", k.Value)
		return Step{}, false
	}
	return st, true
}

func (p *parser) expect(n *yaml.Node) *Expect {
	e := &Expect{}
	p.mapping(n, "expect", func(key string, kn, v *yaml.Node) {
		e.Keys = append(e.Keys, key)
		switch key {
		case "merged":
			e.Merged = orEmpty(p.strings(v))
		case "not-merged":
			e.NotMerged = orEmpty(p.strings(v))
		case "queue":
			e.Queue = map[string][]string{}
			p.mapping(v, "queue", func(pl string, _, qv *yaml.Node) { e.Queue[pl] = orEmpty(p.strings(qv)) })
		case "running":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "running: expected a list of lists")
				return
			}
			e.Running = [][]string{}
			for _, r := range v.Content {
				e.Running = append(e.Running, orEmpty(p.strings(r)))
			}
		case "builds-started":
			n := p.integer(v)
			e.BuildsStarted = &n
		case "builds-cancelled":
			n := p.integer(v)
			e.BuildsCancelled = &n
		case "votes":
			e.Votes = map[string]map[string]int{}
			p.mapping(v, "votes", func(id string, _, vv *yaml.Node) {
				e.Votes[id] = map[string]int{}
				p.mapping(vv, "votes of "+id, func(label string, _, lv *yaml.Node) { e.Votes[id][label] = p.integer(lv) })
			})
		case "comment-contains":
			e.CommentContains = map[string]string{}
			p.mapping(v, "comment-contains", func(id string, _, cv *yaml.Node) { e.CommentContains[id] = p.str(cv) })
		case "window":
			e.Window = map[string]int{}
			p.mapping(v, "window", func(pl string, _, wv *yaml.Node) { e.Window[pl] = p.integer(wv) })
		case "built":
			e.Built = map[string][]string{}
			p.mapping(v, "built", func(pl string, _, bv *yaml.Node) { e.Built[pl] = orEmpty(p.strings(bv)) })
		case "merged-together":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "merged-together: expected a list of lists")
				return
			}
			e.MergedTogether = [][]string{}
			for _, g := range v.Content {
				e.MergedTogether = append(e.MergedTogether, orEmpty(p.strings(g)))
			}
		case "explain-mentions":
			e.ExplainMentions = map[string][]string{}
			p.mapping(v, "explain-mentions", func(id string, _, mv *yaml.Node) { e.ExplainMentions[id] = orEmpty(p.strings(mv)) })
		case "explain-contains":
			e.ExplainContains = map[string]string{}
			p.mapping(v, "explain-contains", func(id string, _, cv *yaml.Node) { e.ExplainContains[id] = p.str(cv) })
		default:
			p.unknown(kn, "expectation", key)
		}
	})
	return e
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
