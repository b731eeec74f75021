package queue

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// harness drives an engine with a tiny fake Gerrit so that table tests read
// like the rules they check. Commands (one per line):
//
//	change N [project=P] [branch=B] [needs=M,K.ps] [files=a,b] [topic=T]  define an open change (patchset 1)
//	dependson N M                N gets a new patchset whose Depends-On names M too (votes reset)
//	serverinfo on|off            Gerrit's change.submitWholeTopic, as read at start
//	approve N                    Code-Review +2 and Workflow +1 (comment-added)
//	unapprove N                  Workflow back to 0 (comment-added)
//	vote N Label=V               another vote (comment-added)
//	recheck N                    a "recheck" comment
//	patchset N                   upload a new patchset (votes reset)
//	abandon N | restore N        abandon or restore
//	outside N [SHA]              the change is merged outside the gate (change-merged, new tip SHA)
//	merge I | conflict I [N]     the merger answers for item I's current attempt
//	pass I | fail I | error I | configerror I | lost I   the build of item I ends
//	                             (I/P: part P of a bundle's builds)
//	submitted I [all|N] | refused I | stale I   the submit of item I ends (all:
//	                             Gerrit submitted every change of the bundle;
//	                             N: a repeated answer for its change N)
//	push P                       the branch of project P moves outside the gate
//	refupdate P SHA [ref=R] [old=SHA]  Gerrit reports project P's ref (default its master branch) at SHA
//	checkout I [files=a,b]       the merger answers item I's checkout (its commit, or tip "tipP")
//	advance D                    the clock moves by duration D (a Tick)
//	tips PIPELINE P B=SHA...     the branches of P (the first is the default), for a timer of PIPELINE
//	reconfigure NAME             the engine gets the configuration h.configs[NAME]
//	dequeue N [pipeline=P]       an administrator (alice) dequeues change N
//	                             from gate (or P)
//	enqueue N [pipeline=P]       an administrator enqueues change N
//	promote N M... [pipeline=P]  an administrator promotes changes N, M...
//	wip N                        change N is marked work in progress
//	reconcile N                  gated's reconcile re-reads change N
//	started P I.A                the executor reports build I.A of pipeline P
//	                             running (the item may be gone)
//	listed P:I.A[/PART] ...      the executor's inventory at start-up
//	slow CMD ...                 CMD, its snapshots read a minute before now
//	                             (older than the reads applied since)
//	refresh                      answer the last Refresh: read its event again
//	restart                      gated restarts: the engine is restored from its state
//
// Lines starting with "- " after a command are the exact actions it must
// return, in order; a command followed by none must return none. "queue PIPELINE: ..."
// lines check a pipeline's items: "1 2:passed 3^1" lists items (by change
// number) head first, with their phase when not the obvious one and their
// ahead item after ^ when it is not the previous item. "facts: ..." lines
// check the facts the engine observed since the last such line (Ready),
// separated by "; ". "verdict: OUTCOME: MESSAGE" checks the engine's answer
// to the last administrator's request. "explain N PIPELINE: TEXT" checks
// the explanation of change N in a pipeline, "mentions N PIPELINE: M..."
// the changes it names.
type harness struct {
	t       *testing.T
	e       *Engine
	now     time.Time
	slow    bool         // the next event's read began a minute ago
	refresh *ChangeEvent // the last Refresh asked for
	changes map[int]*Change
	tips    map[string]string
	pushes  int
	asked   map[ItemID]Merge // the last merge asked for, per item
	configs map[string]Config
	// verdict is the answer to the last administrator's request, until a
	// "verdict:" line checks it.
	verdict *Verdict
	request uint64
	// stored are the parts of the state as storage keeps them, from every
	// Ready (see ready).
	stored map[string][]byte
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, e: e, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), changes: map[int]*Change{}, tips: map[string]string{}, asked: map[ItemID]Merge{}, configs: map[string]Config{}, stored: map[string][]byte{}}
}

// ready takes the engine's Ready, keeping its parts as storage does.
func (h *harness) ready() Ready {
	h.t.Helper()
	rd, err := h.e.Ready()
	if err != nil {
		h.t.Fatal(err)
	}
	keep(h.stored, rd.State)
	return rd
}

// keep applies a Ready's parts to a store as storage does: a nil part is
// deleted.
func keep(store, parts map[string][]byte) {
	for k, v := range parts {
		if v == nil {
			delete(store, k)
		} else {
			store[k] = v
		}
	}
}

// testConfig is the default check and gate pipelines over projects p, q
// (sharing queue "integrated") and r (a queue of its own).
func testConfig() Config {
	return Config{
		Pipelines: DefaultPipelines("gated"),
		Projects: map[string]ProjectConfig{
			"p": {Queue: "integrated"},
			"q": {Queue: "integrated"},
			"r": {},
		},
	}
}

// gateOnly is testConfig without the check pipeline, so that gate tests are
// not cluttered with check builds.
func gateOnly() Config {
	c := testConfig()
	c.Pipelines = c.Pipelines[1:]
	return c
}

func (h *harness) tip(project string) string {
	if t, ok := h.tips[project]; ok {
		return t
	}
	return "t0" + project
}

// event builds a ChangeEvent for change n carrying every known change.
func (h *harness) event(typ string, n int, approvals []Approval, comment, author string) ChangeEvent {
	ev := ChangeEvent{Type: typ, Change: n, Approvals: approvals, Comment: comment, Author: author, ReadAt: h.now}
	if h.slow {
		ev.ReadAt = h.now.Add(-time.Minute)
	}
	for _, k := range slices.Sorted(maps.Keys(h.changes)) {
		c := *h.changes[k]
		c.Votes = slices.Clone(c.Votes)
		ev.Changes = append(ev.Changes, c)
	}
	return ev
}

func (h *harness) setVote(c *Change, label, account string, v int) {
	c.Votes = slices.DeleteFunc(c.Votes, func(x Vote) bool { return x.Label == label && x.Account == account })
	if v != 0 {
		c.Votes = append(c.Votes, Vote{Label: label, Account: account, Value: v})
	}
}

// item parses "#I" (item I's current attempt) or "#I.A" (attempt A).
func (h *harness) item(id string) (*Item, int) {
	num, att, hasAtt := strings.Cut(strings.TrimPrefix(id, "#"), ".")
	n, err := strconv.Atoi(num)
	if err != nil {
		h.t.Fatalf("bad item %q", id)
	}
	l := h.e.items[ItemID(n)]
	if l == nil {
		h.t.Fatalf("no item #%d", n)
	}
	attempt := l.item.Attempt
	if hasAtt {
		attempt, _ = strconv.Atoi(att)
	}
	return l.item, attempt
}

func (h *harness) change(s string) *Change {
	n, err := strconv.Atoi(s)
	if err != nil || h.changes[n] == nil {
		h.t.Fatalf("no change %q", s)
	}
	return h.changes[n]
}

// do runs one command and returns the engine's actions.
func (h *harness) do(line string) []Action {
	h.t.Helper()
	h.now = h.now.Add(time.Second)
	f := strings.Fields(line)
	arg := func(i int) string {
		if i >= len(f) {
			h.t.Fatalf("%q: missing argument %d", line, i)
		}
		return f[i]
	}
	switch f[0] {
	case "change":
		n, _ := strconv.Atoi(arg(1))
		c := &Change{Number: n, Project: "p", Branch: "master", Status: StatusNew, Patchset: 1, Revision: fmt.Sprintf("r%d.1", n)}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "project":
				c.Project = v
			case "branch":
				c.Branch = v
			case "needs":
				for _, s := range strings.Split(v, ",") {
					num, ps, _ := strings.Cut(s, ".")
					nn, _ := strconv.Atoi(num)
					pp, _ := strconv.Atoi(ps)
					c.Needs = append(c.Needs, Need{Number: nn, Patchset: pp})
				}
			case "topic":
				c.Topic = v
			case "files":
				c.Files = strings.Split(v, ",")
			default:
				h.t.Fatalf("%q: unknown key %q", line, k)
			}
		}
		h.changes[n] = c
		return nil
	case "approve":
		c := h.change(arg(1))
		h.setVote(c, "Code-Review", "core", 2)
		h.setVote(c, "Workflow", "core", 1)
		return h.apply(h.event("comment-added", c.Number, []Approval{{Label: "Code-Review", Value: 2}, {Label: "Workflow", Value: 1}}, "Patch Set 1: Code-Review+2 Workflow+1", "core"))
	case "unapprove":
		c := h.change(arg(1))
		h.setVote(c, "Workflow", "core", 0)
		one := 1
		return h.apply(h.event("comment-added", c.Number, []Approval{{Label: "Workflow", Value: 0, OldValue: &one}}, "Patch Set 1: -Workflow", "core"))
	case "vote":
		c := h.change(arg(1))
		label, v, _ := strings.Cut(arg(2), "=")
		val, _ := strconv.Atoi(v)
		account := "core"
		if len(f) > 3 {
			account = f[3]
		}
		h.setVote(c, label, account, val)
		return h.apply(h.event("comment-added", c.Number, []Approval{{Label: label, Value: val}}, "", account))
	case "recheck":
		c := h.change(arg(1))
		return h.apply(h.event("comment-added", c.Number, nil, "Patch Set 1:\n\nrecheck", "dev"))
	case "dependson":
		c := h.change(arg(1))
		m, _ := strconv.Atoi(arg(2))
		c.Patchset++
		c.Revision = fmt.Sprintf("r%d.%d", c.Number, c.Patchset)
		c.Votes = nil
		c.Needs = append(c.Needs, Need{Number: m})
		return h.apply(h.event("patchset-created", c.Number, nil, "", "dev"))
	case "serverinfo":
		return h.apply(ServerInfo{SubmitWholeTopic: arg(1) == "on"})
	case "patchset":
		c := h.change(arg(1))
		c.Patchset++
		c.Revision = fmt.Sprintf("r%d.%d", c.Number, c.Patchset)
		c.Votes = nil
		return h.apply(h.event("patchset-created", c.Number, nil, "", "dev"))
	case "abandon":
		c := h.change(arg(1))
		c.Status = StatusAbandoned
		return h.apply(h.event("change-abandoned", c.Number, nil, "", "dev"))
	case "restore":
		c := h.change(arg(1))
		c.Status = StatusNew
		return h.apply(h.event("change-restored", c.Number, nil, "", "dev"))
	case "outside":
		c := h.change(arg(1))
		c.Status = StatusMerged
		ev := h.event("change-merged", c.Number, nil, "", "admin")
		if len(f) > 2 {
			ev.NewRev = f[2]
		}
		return h.apply(ev)
	case "merge":
		it, attempt := h.item(arg(1))
		ev := MergeCompleted{Item: it.ID, Attempt: attempt, Heads: map[string]string{}, Bases: map[string]string{}}
		for _, r := range h.e.chain(it) {
			ev.Heads[r.Project] = fmt.Sprintf("h%d.%d", it.ID, it.Attempt)
			ev.Bases[r.Project] = h.tip(r.Project)
		}
		for k, v := range h.asked[it.ID].Bases { // the merger merges where it was asked to
			ev.Bases[k] = v
		}
		return h.apply(ev)
	case "conflict":
		it, attempt := h.item(arg(1))
		c := it.Change.Number
		if len(f) > 2 {
			c, _ = strconv.Atoi(f[2])
		}
		return h.apply(MergeCompleted{Item: it.ID, Attempt: attempt, Conflict: &Conflict{Change: c, Files: []string{"README"}}})
	case "pass", "fail", "error", "configerror", "lost":
		ref, part, _ := strings.Cut(arg(1), "/")
		it, attempt := h.item(ref)
		pt, _ := strconv.Atoi(part)
		res := map[string]Result{"pass": ResultSuccess, "fail": ResultFailure, "error": ResultError, "configerror": ResultConfigError, "lost": ResultLost}[f[0]]
		return h.apply(BuildCompleted{Item: it.ID, Attempt: attempt, Part: pt, Result: res, Message: "step test failed"})
	case "submitted":
		it, attempt := h.item(arg(1))
		next := it.own()[0]
		merged := []ChangeRef{next}
		switch n, err := strconv.Atoi(strings.Join(f[2:], "")); {
		case len(f) > 2 && f[2] == "all":
			merged = it.own()
		case err == nil: // a late, repeated answer for change n
			next = it.Bundle[slices.IndexFunc(it.Bundle, func(r ChangeRef) bool { return r.Number == n })]
			merged = nil
		}
		tips := map[string]string{}
		for _, r := range merged {
			h.changes[r.Number].Status = StatusMerged
			h.pushes++
			tips[r.Project] = fmt.Sprintf("t%d", h.pushes)
			h.tips[r.Project] = tips[r.Project]
		}
		return h.apply(SubmitCompleted{Item: it.ID, Attempt: attempt, Change: next.Number, Merged: true, Tips: tips})
	case "refused":
		it, attempt := h.item(arg(1))
		return h.apply(SubmitCompleted{Item: it.ID, Attempt: attempt, Change: it.own()[0].Number, Message: "Change is not ready: submit requirement 'Verified' is unsatisfied"})
	case "stale":
		it, attempt := h.item(arg(1))
		h.pushes++
		tip := fmt.Sprintf("t%d", h.pushes)
		next := it.own()[0]
		h.tips[next.Project] = tip
		return h.apply(SubmitCompleted{Item: it.ID, Attempt: attempt, Change: next.Number, Stale: true, Tips: map[string]string{next.Project: tip}})
	case "push":
		h.pushes++
		tip := fmt.Sprintf("t%d", h.pushes)
		h.tips[arg(1)] = tip
		return h.apply(RefUpdated{Project: arg(1), Branch: "master", NewRev: tip})
	case "refupdate":
		ev := RefUpdated{Project: arg(1), Branch: "master", NewRev: arg(2)}
		for _, kv := range f[3:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "ref":
				ev.Ref, ev.Branch = v, branchOf(v)
			case "old":
				ev.OldRev = v
			default:
				h.t.Fatalf("%q: unknown key %q", line, k)
			}
		}
		if ev.Branch == "master" {
			h.tips[arg(1)] = arg(2)
		}
		return h.apply(ev)
	case "checkout":
		it, attempt := h.item(arg(1))
		commit := it.Commit
		if commit == "" {
			commit = "tip" + it.Change.Project
		}
		ev := MergeCompleted{Item: it.ID, Attempt: attempt, Heads: map[string]string{it.Change.Project: commit}, Bases: map[string]string{it.Change.Project: commit}}
		if len(f) > 2 {
			ev.Files = strings.Split(strings.TrimPrefix(f[2], "files="), ",")
		}
		return h.apply(ev)
	case "advance":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			h.t.Fatalf("%q: %v", line, err)
		}
		h.now = h.now.Add(d - time.Second)
		return h.apply(Tick{})
	case "tips":
		ev := BranchTips{Pipeline: arg(1), Project: arg(2), Tips: map[string]string{}}
		for i, kv := range f[3:] {
			b, sha, _ := strings.Cut(kv, "=")
			if i == 0 {
				ev.Default = b
			}
			ev.Tips[b] = sha
		}
		return h.apply(ev)
	case "reconfigure":
		cfg, ok := h.configs[arg(1)]
		if !ok {
			h.t.Fatalf("%q: no configuration %q", line, arg(1))
		}
		return h.apply(Reconfigure{Config: cfg})
	case "dequeue", "enqueue", "promote":
		pipeline, nums := h.adminArgs(f[1:])
		h.request++
		admin := Admin{Request: h.request, By: "alice", Reason: "testing"}
		if f[0] == "promote" {
			return h.apply(Promote{Admin: admin, Pipeline: pipeline, Changes: nums})
		}
		if len(nums) != 1 {
			h.t.Fatalf("%q: name one change", line)
		}
		if f[0] == "dequeue" {
			return h.apply(Dequeue{Admin: admin, Pipeline: pipeline, Change: nums[0]})
		}
		read := h.event("", nums[0], nil, "", "")
		return h.apply(Enqueue{Admin: admin, Pipeline: pipeline, Change: nums[0], Changes: read.Changes, ReadAt: read.ReadAt})
	case "wip":
		c := h.change(arg(1))
		c.WIP = true
		return h.apply(h.event("wip-state-changed", c.Number, nil, "", "dev"))
	case "reconcile":
		c := h.change(arg(1))
		return h.apply(h.event("reconcile", c.Number, nil, "", ""))
	case "started":
		b := h.buildRef(arg(1) + ":" + arg(2))
		return h.apply(BuildStarted{Pipeline: b.Pipeline, Item: b.Item, Attempt: b.Attempt, Name: "b", URL: "https://argo/b"})
	case "slow":
		h.slow = true
		defer func() { h.slow = false }()
		return h.do(strings.Join(f[1:], " "))
	case "refresh":
		if h.refresh == nil {
			h.t.Fatalf("%q: no Refresh was asked for", line)
		}
		ev := h.event(h.refresh.Type, h.refresh.Change, h.refresh.Approvals, h.refresh.Comment, h.refresh.Author)
		ev.Seen = h.refresh.Seen
		h.refresh = nil
		return h.apply(ev)
	case "restart":
		// gated restarts: the engine is restored from its stored parts.
		h.ready()
		e, err := RestoreParts(h.e.Config(), maps.Clone(h.stored))
		if err != nil {
			h.t.Fatal(err)
		}
		h.e = e
		return nil
	case "listed":
		var ev BuildsListed
		for _, s := range f[1:] {
			ev.Builds = append(ev.Builds, h.buildRef(s))
		}
		return h.apply(ev)
	}
	h.t.Fatalf("unknown command %q", line)
	return nil
}

// buildRef parses "PIPELINE:I.A".
func (h *harness) buildRef(s string) BuildRef {
	pipeline, iap, _ := strings.Cut(s, ":")
	ia, pt, _ := strings.Cut(iap, "/")
	i, a, _ := strings.Cut(ia, ".")
	item, err1 := strconv.Atoi(i)
	attempt, err2 := strconv.Atoi(a)
	part, _ := strconv.Atoi(pt)
	if err1 != nil || err2 != nil {
		h.t.Fatalf("bad build %q: want PIPELINE:ITEM.ATTEMPT[/PART]", s)
	}
	return BuildRef{Pipeline: pipeline, Item: ItemID(item), Attempt: attempt, Part: part}
}

// adminArgs parses "N M... [pipeline=P]" (default pipeline gate).
func (h *harness) adminArgs(args []string) (string, []int) {
	pipeline := "gate"
	var nums []int
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "pipeline="); ok {
			pipeline = p
			continue
		}
		n, err := strconv.Atoi(a)
		if err != nil {
			h.t.Fatalf("bad change number %q", a)
		}
		nums = append(nums, n)
	}
	return pipeline, nums
}

func (h *harness) apply(ev Event) []Action {
	before := len(h.e.facts.Verdicts)
	acts := h.e.Apply(h.now, ev)
	for _, a := range acts {
		if r, ok := a.(Refresh); ok {
			h.refresh = &r.Event
		}
	}
	checkInvariants(h.t, h.e)
	for _, a := range acts {
		if m, ok := a.(Merge); ok {
			h.asked[m.Item] = m
		}
	}
	checkVerdicts(h.t, ev, h.e.facts.Verdicts[before:])
	if v := h.e.facts.Verdicts[before:]; len(v) > 0 {
		h.verdict = &v[0]
	}
	return acts
}

// checkVerdicts checks that an administrator's request, and nothing else,
// gets exactly one verdict, which answers it.
func checkVerdicts(t testing.TB, ev Event, got []Verdict) {
	t.Helper()
	var req uint64
	switch ev := ev.(type) {
	case Dequeue:
		req = ev.Request
	case Enqueue:
		req = ev.Request
	case Promote:
		req = ev.Request
	default:
		if len(got) > 0 {
			t.Fatalf("%v got verdicts %v", ev, got)
		}
		return
	}
	if len(got) != 1 || got[0].Request != req {
		t.Fatalf("%v (request %d) got verdicts %+v, want one", ev, req, got)
	}
}

// run executes a script; see harness.
func (h *harness) run(script string) {
	h.t.Helper()
	lines := strings.Split(strings.TrimSpace(script), "\n")
	for i := 0; i < len(lines); {
		line := strings.TrimSpace(lines[i])
		i++
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if strings.HasPrefix(line, "queue ") {
			h.checkQueue(line)
			continue
		}
		if strings.HasPrefix(line, "cleared ") {
			h.checkCleared(line)
			continue
		}
		if want, ok := strings.CutPrefix(line, "facts:"); ok {
			h.checkFacts(strings.TrimSpace(want))
			continue
		}
		if want, ok := strings.CutPrefix(line, "verdict:"); ok {
			h.checkVerdict(strings.TrimSpace(want))
			continue
		}
		if strings.HasPrefix(line, "explain ") || strings.HasPrefix(line, "mentions ") {
			h.checkExplain(line)
			continue
		}
		var want []string
		for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "- ") {
			want = append(want, strings.TrimPrefix(strings.TrimSpace(lines[i]), "- "))
			i++
		}
		got := formatActions(h.do(line))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			h.t.Fatalf("after %q:\n got actions:\n\t%s\nwant:\n\t%s", line, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
}

// checkQueue checks a "queue PIPELINE: items" line: each item's change,
// its phase unless waiting or in progress, and what it builds on when that
// is not the item just ahead of it.
func (h *harness) checkQueue(line string) {
	h.t.Helper()
	h.checkItems(line, "queue", func(p *PipelineState, it *Item, prev ItemID) string {
		var nums []string
		for _, r := range it.own() {
			nums = append(nums, strconv.Itoa(r.Number))
		}
		s := strings.Join(nums, "+")
		if it.Ref != nil {
			s = refName(it.Change, it.Ref, it.Commit)
		}
		if it.Phase != PhaseWaiting && it.Phase != PhaseBuilding && it.Phase != PhaseMerging {
			s += ":" + string(it.Phase)
		}
		if h.e.pipelineConfig(p).Manager == Dependent && it.Ahead != prev {
			if it.Ahead == 0 {
				s += "^tip"
			} else {
				s += "^" + strconv.Itoa(h.e.items[it.Ahead].item.Change.Number)
			}
		}
		return s
	})
}

// checkCleared checks "cleared PIPELINE: N...": the changes whose items
// are cleared (Item.Cleared), in queue order.
func (h *harness) checkCleared(line string) {
	h.t.Helper()
	h.checkItems(line, "cleared", func(_ *PipelineState, it *Item, _ ItemID) string {
		if !it.Cleared {
			return ""
		}
		return strconv.Itoa(it.Change.Number)
	})
}

// checkItems checks a "CMD PIPELINE: ..." line against the items of the
// pipeline in queue order, each as show gives it ("" leaves it out).
func (h *harness) checkItems(line, cmd string, show func(p *PipelineState, it *Item, prev ItemID) string) {
	h.t.Helper()
	name, want, _ := strings.Cut(strings.TrimPrefix(line, cmd+" "), ":")
	p := h.e.pipelines[name]
	if p == nil {
		h.t.Fatalf("%q: no pipeline %q", line, name)
	}
	var got []string
	for _, q := range p.Queues {
		prev := ItemID(0)
		for _, it := range q.Items {
			if s := show(p, it, prev); s != "" {
				got = append(got, s)
			}
			prev = it.ID
		}
	}
	if strings.Join(got, " ") != strings.TrimSpace(want) {
		h.t.Fatalf("%q: got %s %q", line, cmd, strings.Join(got, " "))
	}
}

func refs(rs []ChangeRef) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, " ")
}

func labels(m map[string]int) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s = append(s, fmt.Sprintf("%s%+d", k, m[k]))
	}
	return strings.Join(s, " ")
}

func kv(m map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s = append(s, k+"="+m[k])
	}
	return strings.Join(s, ",")
}

// part renders a bundle's build: "/1" for its second part, and the
// project whose workflow it runs when known.
func part(i int, c ChangeRef) string {
	s := ""
	if i > 0 {
		s = fmt.Sprintf("/%d", i)
	}
	if c.Project != "" && i > 0 {
		s += " " + c.Project
	}
	return s
}

// formatActions renders actions as short lines.
func formatActions(acts []Action) []string {
	var out []string
	for _, a := range acts {
		var s string
		switch a := a.(type) {
		case Merge:
			s = fmt.Sprintf("merge #%d.%d %s [%s]", a.Item, a.Attempt, a.Pipeline, refs(a.Changes))
			if len(a.Bases) > 0 {
				s += " on " + kv(a.Bases)
			}
		case StartBuild:
			s = fmt.Sprintf("build #%d.%d%s %s [%s]", a.Item, a.Attempt, part(a.Part, a.Change), a.Pipeline, refs(a.Changes))
			if a.Ref != nil {
				s += " " + refName(a.Change, a.Ref, a.Heads[a.Change.Project])
			}
			if a.Workflow != DefaultWorkflow {
				s += " workflow=" + a.Workflow
			}
			if a.Trusted {
				s += " trusted@" + a.WorkflowAt
			}
		case Checkout:
			s = fmt.Sprintf("checkout #%d.%d %s %s %s@%s", a.Item, a.Attempt, a.Pipeline, a.Project, a.Ref, orTip(a.Commit))
			if a.OldRev != "" {
				s += " from " + a.OldRev
			}
		case ListBranches:
			s = fmt.Sprintf("list-branches %s %s", a.Pipeline, a.Project)
		case CancelBuild:
			s = fmt.Sprintf("cancel #%d.%d%s %s", a.Item, a.Attempt, part(a.Part, ChangeRef{}), a.Pipeline)
		case Report:
			s = fmt.Sprintf("report %s %s %s", a.Pipeline, a.Change, a.Kind)
			if len(a.Labels) > 0 {
				s += " " + labels(a.Labels)
			}
		case Submit:
			s = fmt.Sprintf("submit #%d.%d %s %s expect %s", a.Item, a.Attempt, a.Pipeline, a.Change, kv(a.Expect))
			if len(a.Together) > 1 {
				s += " with " + refs(a.Together[1:])
			}
		case Forget:
			s = fmt.Sprintf("forget #%d %s", a.Item, a.Pipeline)
		case Refresh:
			s = fmt.Sprintf("refresh %s %d", a.Event.Type, a.Event.Change)
		default:
			s = fmt.Sprintf("%T", a)
		}
		out = append(out, s)
	}
	return out
}

// refName renders a ref item: "P:REF@COMMIT", with "<N" when it comes
// from change N's submit, "(timer)" when a timer enqueued it.
func refName(c ChangeRef, r *RefItem, commit string) string {
	s := c.Project + ":" + strings.TrimPrefix(r.Ref, "refs/heads/") + "@" + commit
	if c.Number != 0 {
		s += "<" + strconv.Itoa(c.Number)
	}
	if r.Timer {
		s += "(timer)"
	}
	return s
}

// checkFacts compares the facts observed since the last Ready with want:
// builds finished, then changes merged, then resets.
func (h *harness) checkFacts(want string) {
	h.t.Helper()
	rd := h.ready()
	var got []string
	for _, f := range rd.Facts.Builds {
		got = append(got, fmt.Sprintf("finished #%d.%d %s [%s] %s", f.Item, f.Attempt, f.Pipeline, refs(f.Changes), f.Result))
	}
	for _, f := range rd.Facts.Merged {
		got = append(got, fmt.Sprintf("merged #%d %s %s after %s", f.Item, f.Pipeline, f.Change, f.MergedAt.Sub(f.EnqueuedAt)))
	}
	for _, f := range rd.Facts.Resets {
		got = append(got, fmt.Sprintf("reset #%d %s", f.Item, f.Pipeline))
	}
	if strings.Join(got, "; ") != want {
		h.t.Fatalf("facts:\n got: %s\nwant: %s", strings.Join(got, "; "), want)
	}
}

// checkInvariants checks what must hold after every transition.
func checkInvariants(t testing.TB, e *Engine) {
	t.Helper()
	count, members := 0, 0
	for _, p := range e.st.Pipelines {
		for _, q := range p.Queues {
			seen := map[ItemID]bool{}
			heads := 0
			for _, it := range q.Items {
				count++
				if it.Ref == nil {
					members += len(it.members())
				}
				if e.pipelineConfig(p).Manager == Supercedent && len(q.Items) > 2 {
					t.Fatalf("%s %s: %d items in a supercedent queue", p.Name, q.Name, len(q.Items))
				}
				if e.pipelineConfig(p).Manager == Supercedent && it != q.Items[0] && it.Phase != PhaseWaiting {
					t.Fatalf("%s %s: item #%d behind the head is %s", p.Name, q.Name, it.ID, it.Phase)
				}
				if l := e.items[it.ID]; l == nil || l.item != it || l.queue != q || l.pipeline != p {
					t.Fatalf("item #%d is not indexed where it lives", it.ID)
				}
				if it.Ahead != 0 && !seen[it.Ahead] {
					t.Fatalf("%s %s: item #%d builds on #%d, which is not ahead of it", p.Name, q.Name, it.ID, it.Ahead)
				}
				for _, n := range it.Needs {
					// What an item needs is merged (or being submitted), or
					// ahead of it in its queue.
					if l := e.itemOf(p, n.Number); l != nil && e.pipelineConfig(p).Manager == Dependent && l.item.Phase != PhaseSubmitting && (l.queue != q || !seen[l.item.ID]) {
						t.Fatalf("%s %s: item #%d needs change %d, whose item #%d is not ahead of it", p.Name, q.Name, it.ID, n.Number, l.item.ID)
					}
				}
				if it.Phase == PhaseSubmitting {
					heads++
					if it.Ahead != 0 {
						t.Fatalf("item #%d is submitting but not at the head", it.ID)
					}
				}
				if (it.Phase == PhaseBuilding || it.Phase == PhasePassed || it.Phase == PhaseSubmitting) && it.Heads == nil {
					t.Fatalf("item #%d is %s without a merged state", it.ID, it.Phase)
				}
				// A state built on the item ahead must be built on its
				// current state: when the item ahead gets a new state, so
				// must everything that included it.
				// With parallel merges the item ahead may still be merging,
				// on the same commits. An item waiting for a change it needs
				// keeps what it had; it is reset when that change recovers.
				if it.Heads != nil && it.Ahead != 0 && !it.Probe && (it.Failure == nil || it.Failure.Kind != FailNeeds) {
					a := e.items[it.Ahead].item
					if a.Heads == nil && e.pipelineConfig(p).ParallelMerges && a.Phase == PhaseMerging {
						for project, base := range a.Bases {
							if it.Bases[project] != base {
								t.Fatalf("item #%d was merged on %s=%s, but item #%d ahead of it is merging on %s", it.ID, project, it.Bases[project], a.ID, base)
							}
						}
						seen[it.ID] = true
						continue
					}
					if a.Heads == nil {
						t.Fatalf("item #%d has a state built on item #%d, which has none now", it.ID, a.ID)
					}
					for project, head := range a.Heads {
						if it.Expect[project] != head {
							t.Fatalf("item #%d was built on %s=%s, but item #%d ahead of it is now at %s", it.ID, project, it.Expect[project], a.ID, head)
						}
					}
				}
				seen[it.ID] = true
			}
		}
	}
	if count != len(e.items) {
		t.Fatalf("%d items in queues, %d indexed", count, len(e.items))
	}
	n := 0
	for _, ids := range e.byChange {
		n += len(ids)
	}
	if n != members {
		t.Fatalf("%d changes of items in queues, %d indexed by change", members, n)
	}
}

// checkVerdict checks a "verdict: OUTCOME: MESSAGE" line.
func (h *harness) checkVerdict(want string) {
	h.t.Helper()
	if h.verdict == nil {
		h.t.Fatalf("verdict: no administrator's request was answered since the last verdict line")
	}
	if got := fmt.Sprintf("%s: %s", h.verdict.Outcome, h.verdict.Message); got != want {
		h.t.Fatalf("verdict:\n got: %s\nwant: %s", got, want)
	}
	h.verdict = nil
}

// checkExplain checks an "explain N PIPELINE: TEXT" or "mentions N
// PIPELINE: M..." line against the explanation of change N, from the
// harness's snapshots.
func (h *harness) checkExplain(line string) {
	h.t.Helper()
	head, want, _ := strings.Cut(line, ":")
	f := strings.Fields(head)
	if len(f) != 3 {
		h.t.Fatalf("%q: want explain|mentions N PIPELINE: ...", line)
	}
	n, _ := strconv.Atoi(f[1])
	var snaps []Change
	if h.changes[n] != nil {
		snaps = h.event("", n, nil, "", "").Changes
	}
	x := h.e.Explain(n, snaps)
	i := slices.IndexFunc(x.Pipelines, func(p PipelineExplanation) bool { return p.Pipeline == f[2] })
	if i < 0 {
		h.t.Fatalf("%q: no pipeline %s in the explanation", line, f[2])
	}
	pe := x.Pipelines[i]
	got := pe.Text
	if f[0] == "mentions" {
		got = strings.Trim(fmt.Sprint(pe.Changes), "[]")
	}
	if got != strings.TrimSpace(want) {
		h.t.Fatalf("%q:\n got: %s", line, got)
	}
	for _, m := range pe.Changes {
		if !regexp.MustCompile(`\b` + strconv.Itoa(m) + `\b`).MatchString(pe.Text) {
			h.t.Fatalf("the explanation names change %d, but its text does not: %s", m, pe.Text)
		}
	}
}
