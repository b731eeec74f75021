package queue

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var propertyRuns = flag.Int("queue.runs", 1000, "random event sequences per configuration in TestProperties")

// chooser supplies the random decisions of a simulation, from a seeded
// generator or from a fuzzer's bytes.
type chooser interface{ intn(n int) int }

type seeded struct{ r *rand.Rand }

func (s seeded) intn(n int) int { return s.r.IntN(n) }

type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) intn(n int) int {
	if len(f.b) == 0 {
		return 0
	}
	v := int(f.b[0])
	f.b = f.b[1:]
	return v % n
}

// sim is a random world around an engine: a fake Gerrit whose changes get
// uploaded, approved, rebased, abandoned; a merger, executor and reporter
// that answer the engine's actions late, in any order, sometimes twice. It
// checks the engine's promises after every event.
type sim struct {
	t       testing.TB
	rnd     chooser
	e       *Engine
	cfg     Config   // the configuration the engine started with
	configs []Config // configurations to switch between (Reconfigure), if any
	now     time.Time
	changes map[int]*Change
	nextNum int
	tips    map[string]string
	trees   map[string]string // commit → the tree it has (gated's merges)
	content map[string][]int  // commit → the changes its tree has, sorted
	pushes  int
	mix     []int   // cumulative weights of the kinds of Gerrit events
	closing *Change // the first change of a cycle being uploaded
	// wholeTopic is Gerrit's change.submitWholeTopic.
	wholeTopic bool

	pending   []Action       // actions not answered yet
	done      []Event        // answers already given, for duplicate delivery
	sent      []ChangeEvent  // recent Gerrit events, for late copies (slow reads)
	followups []func() Event // Gerrit's events about gated's submits, not delivered yet

	building map[partKey]int                      // (item, part) → attempt with a build running
	started  map[attemptKey]int                   // builds started per attempt (a bundle's parts)
	passed   map[attemptKey]int                   // builds passed per attempt
	built    map[ItemID]map[int][]ChangeRef       // item → attempt → state built
	heads    map[ItemID]map[int]map[string]string // item → attempt → commits built

	mergedBy map[int]ItemID    // change → the item whose submit merged it
	bundles  map[ItemID]*Item  // every bundle seen, as first seen
	partial  map[ItemID]bool   // half-merged bundles Gerrit refused a submit of, or whose branch moved
	waiting  map[int]bool      // approved changes that must be queued or told why not
	store    map[string][]byte // the parts written so far, as storage keeps them
	told     map[int][]string  // refusals reported per change
	requests uint64            // administrators' requests made
	outcomes map[string]int    // their verdicts, by kind and outcome

	// Every event with its time and its actions: for the determinism check
	// and for failure messages.
	times  []time.Time
	events []Event
	acts   [][]Action
}

var simProjects = []string{"p", "q", "r"}

func newSim(t testing.TB, rnd chooser, cfg Config) *sim {
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &sim{
		t: t, rnd: rnd, e: e, cfg: cfg, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		changes: map[int]*Change{}, nextNum: 1, tips: map[string]string{}, trees: map[string]string{}, content: map[string][]int{},
		building: map[partKey]int{}, started: map[attemptKey]int{}, passed: map[attemptKey]int{},
		built: map[ItemID]map[int][]ChangeRef{}, heads: map[ItemID]map[int]map[string]string{},
		waiting: map[int]bool{}, store: map[string][]byte{}, told: map[int][]string{},
		mergedBy: map[int]ItemID{}, bundles: map[ItemID]*Item{}, partial: map[ItemID]bool{},
		outcomes: map[string]int{}, mix: mix(len(cfg.Queues) > 0),
	}
}

// partKey names one build of an item: its part (0 unless a bundle's).
type partKey struct {
	item ItemID
	part int
}

// attemptKey names one attempt of an item.
type attemptKey struct {
	item    ItemID
	attempt int
}

// passedAttempt reports whether every build of an item's attempt passed.
func (s *sim) passedAttempt(item ItemID, attempt int) bool {
	k := attemptKey{item, attempt}
	return s.started[k] > 0 && s.passed[k] == s.started[k]
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	var log []string
	for i, ev := range s.events {
		log = append(log, describe(ev))
		for _, a := range formatActions(s.acts[i]) {
			log = append(log, "  → "+a)
		}
	}
	s.t.Fatalf("%s\nevents:\n\t%s", fmt.Sprintf(format, args...), strings.Join(log, "\n\t"))
}

func (s *sim) openChanges() []*Change {
	var out []*Change
	for n := 1; n < s.nextNum; n++ {
		if c := s.changes[n]; c.Open() {
			out = append(out, c)
		}
	}
	return out
}

func (s *sim) changeEvent(typ string, c *Change, approvals []Approval, comment, author string) ChangeEvent {
	ev := ChangeEvent{Type: typ, Change: c.Number, Approvals: approvals, Comment: comment, Author: author, ReadAt: s.now, Changes: s.snapshots()}
	s.sent = append(s.sent, ev)
	if len(s.sent) > 30 {
		s.sent = s.sent[1:]
	}
	return ev
}

// snapshots are fresh snapshots of every change, as Gerrit gives them.
func (s *sim) snapshots() []Change {
	var out []Change
	for n := 1; n < s.nextNum; n++ {
		x := *s.changes[n]
		x.Votes = slices.Clone(x.Votes)
		x.Needs = slices.Clone(x.Needs)
		out = append(out, x)
	}
	return out
}

// adminEvent is an administrator's request: a dequeue, an enqueue or a
// promote, mostly of changes in the pipeline, sometimes of others, in an
// unknown pipeline, across queues, twice the same change.
func (s *sim) adminEvent() Event {
	s.requests++
	a := Admin{Request: s.requests, By: "admin", Reason: "sim"}
	pipeline := []string{"gate", "gate", "gate", "gate", "gate", "gate", "check", "post"}[s.rnd.intn(8)]
	var queued, approved []int
	if p := s.e.pipelines[pipeline]; p != nil {
		queued = s.e.changesIn(p)
	}
	for _, c := range s.openChanges() {
		if s.approved(c) && !slices.Contains(queued, c.Number) {
			approved = append(approved, c.Number)
		}
	}
	pick := func(from []int) int {
		if len(from) > 0 && s.rnd.intn(6) > 0 {
			return from[s.rnd.intn(len(from))]
		}
		return 1 + s.rnd.intn(s.nextNum) // nextNum itself is unknown to Gerrit
	}
	switch s.rnd.intn(3) {
	case 0:
		return Dequeue{Admin: a, Pipeline: pipeline, Change: pick(queued)}
	case 1:
		return Enqueue{Admin: a, Pipeline: pipeline, Change: pick(approved), Changes: s.snapshots(), ReadAt: s.now}
	}
	ev := Promote{Admin: a, Pipeline: pipeline}
	for range 1 + s.rnd.intn(3) {
		ev.Changes = append(ev.Changes, pick(queued))
	}
	return ev
}

func setVote(c *Change, label, account string, v int) {
	c.Votes = slices.DeleteFunc(c.Votes, func(x Vote) bool { return x.Label == label && x.Account == account })
	if v != 0 {
		c.Votes = append(c.Votes, Vote{Label: label, Account: account, Value: v})
	}
}

// The kinds of things that happen in the fake Gerrit.
const (
	evNew = iota
	evApprove
	evUnapprove
	evPatchset
	evAbandon
	evRecheck
	evReject
	evPush
	evDependsOn
	evServerInfo
	evCycle
)

// mix returns the cumulative weights of the kinds of Gerrit events. With
// cycles allowed, approvals are more frequent and changes change less, so
// that cycles get approved whole and their bundles go through.
func mix(cycles bool) []int {
	w := []int{3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 1}
	if cycles {
		w = []int{2, 8, 1, 1, 1, 1, 1, 1, 2, 1, 3}
	}
	for i := 1; i < len(w); i++ {
		w[i] += w[i-1]
	}
	return w
}

// gerritEvent makes something happen in the fake Gerrit.
func (s *sim) gerritEvent() Event {
	open := s.openChanges()
	pick := func() *Change { return open[s.rnd.intn(len(open))] }
	k := s.rnd.intn(s.mix[len(s.mix)-1])
	kind := slices.IndexFunc(s.mix, func(w int) bool { return k < w })
	if s.closing != nil {
		kind = evCycle
	}
	switch {
	case kind == evCycle:
		// Two changes that need each other, uploaded one after the other,
		// in one change queue.
		c := &Change{Number: s.nextNum, Project: simProjects[s.rnd.intn(2)], Branch: "master", Status: StatusNew, Patchset: 1}
		c.Revision = fmt.Sprintf("r%d.1", c.Number)
		if s.closing != nil {
			c.Needs = []Need{{Number: s.closing.Number}}
			s.closing = nil
		} else {
			c.Needs = []Need{{Number: c.Number + 1}}
			s.closing = c
		}
		s.changes[c.Number] = c
		s.nextNum++
		return s.changeEvent("patchset-created", c, nil, "", "dev")
	case kind == evNew || len(open) == 0:
		c := &Change{Number: s.nextNum, Project: simProjects[s.rnd.intn(3)], Branch: "master", Status: StatusNew, Patchset: 1}
		c.Revision = fmt.Sprintf("r%d.1", c.Number)
		// Topics mostly stay within a change queue, as features do.
		if t := []string{"", "", "", "t1", "t2", "t3"}[s.rnd.intn(6)]; t != "" {
			c.Topic = t + c.Project
			if c.Project != "r" && s.rnd.intn(3) > 0 {
				c.Topic = t + "pq"
			}
		}
		c.Files = [][]string{nil, {"/COMMIT_MSG", "docs/a.md"}, {"src/a.go"}, {".pipeline/argo-workflow.yaml"}}[s.rnd.intn(4)]
		if len(open) > 0 && s.rnd.intn(2) == 0 {
			d := pick()
			if s.rnd.intn(2) == 0 {
				c.Needs = []Need{{Number: d.Number, Patchset: d.Patchset}}
				c.Project = d.Project
			} else {
				c.Needs = []Need{{Number: d.Number}}
			}
		}
		s.changes[c.Number] = c
		s.nextNum++
		return s.changeEvent("patchset-created", c, nil, "", "dev")
	case kind == evApprove:
		c := pick()
		if n := s.awaited(); n != 0 && s.rnd.intn(2) == 0 {
			c = s.changes[n] // a reviewer approves the change a cycle waits for
		}
		setVote(c, "Code-Review", "core", 2)
		setVote(c, "Workflow", "core", 1)
		return s.changeEvent("comment-added", c, []Approval{{Label: "Code-Review", Value: 2}, {Label: "Workflow", Value: 1}}, "", "core")
	case kind == evUnapprove:
		c := pick()
		setVote(c, "Workflow", "core", 0)
		return s.changeEvent("comment-added", c, []Approval{{Label: "Workflow", Value: 0}}, "", "core")
	case kind == evPatchset:
		c := pick()
		c.Patchset++
		c.Revision = fmt.Sprintf("r%d.%d", c.Number, c.Patchset)
		c.Votes = nil
		return s.changeEvent("patchset-created", c, nil, "", "dev")
	case kind == evAbandon:
		c := pick()
		c.Status = StatusAbandoned
		return s.changeEvent("change-abandoned", c, nil, "", "dev")
	case kind == evRecheck:
		c := pick()
		return s.changeEvent("comment-added", c, nil, "recheck", "dev")
	case kind == evReject:
		c := pick()
		setVote(c, "Code-Review", "other", -2)
		return s.changeEvent("comment-added", c, []Approval{{Label: "Code-Review", Value: -2}}, "", "other")
	case kind == evPush:
		project := simProjects[s.rnd.intn(3)]
		s.pushes++
		switch s.rnd.intn(6) {
		case 0:
			return RefUpdated{Project: project, Ref: fmt.Sprintf("refs/tags/v%d", s.rnd.intn(3)), NewRev: fmt.Sprintf("tag%d", s.pushes)}
		case 1:
			return RefUpdated{Project: project, Ref: "refs/heads/stable", Branch: "stable", NewRev: fmt.Sprintf("stable%d", s.pushes)}
		case 2:
			return RefUpdated{Project: project, Ref: "refs/heads/stable", Branch: "stable", NewRev: zeroRev} // deleted
		}
		old := s.tip(project)
		s.tips[project] = fmt.Sprintf("push%d", s.pushes)
		s.content[s.tips[project]] = union(s.content[old], -s.pushes) // someone else's change
		return RefUpdated{Project: project, Branch: "master", OldRev: old, NewRev: s.tips[project]}
	case kind == evDependsOn:
		// A new patchset names another change in a Depends-On footer:
		// often it closes a cycle.
		c, d := pick(), pick()
		for _, x := range open {
			needsC := slices.ContainsFunc(x.Needs, func(n Need) bool { return n.Number == c.Number })
			if needsC && (x.Project == "r") == (c.Project == "r") && s.rnd.intn(4) > 0 {
				d = x
				break
			}
		}
		c.Patchset++
		c.Revision = fmt.Sprintf("r%d.%d", c.Number, c.Patchset)
		c.Votes = nil
		if d != c && !slices.ContainsFunc(c.Needs, func(n Need) bool { return n.Number == d.Number }) {
			c.Needs = append(c.Needs, Need{Number: d.Number})
		}
		return s.changeEvent("patchset-created", c, nil, "", "dev")
	default:
		// Gerrit's change.submitWholeTopic, read again: rarely does it
		// change.
		if s.rnd.intn(4) == 0 {
			s.wholeTopic = !s.wholeTopic
		}
		return ServerInfo{SubmitWholeTopic: s.wholeTopic}
	}
}

// awaited returns an open change that a dependency cycle waits for (its
// refusal says so), or 0.
func (s *sim) awaited() int {
	for _, n := range slices.Sorted(maps.Keys(s.e.pipelines["gate"].Refused)) {
		why := s.e.pipelines["gate"].Refused[n]
		if _, rest, ok := strings.Cut(why, "once every change in it may: change "); ok {
			var m int
			if _, err := fmt.Sscanf(rest, "%d", &m); err == nil && s.changes[m].Open() {
				return m
			}
		}
	}
	return 0
}

// tree returns the tree of a commit: a commit Gerrit made when gated
// submitted has the tree of the speculative head gated built.
func (s *sim) tree(sha string) string {
	if t, ok := s.trees[sha]; ok {
		return t
	}
	return sha
}

// answer answers one pending action (or repeats an old answer).
func (s *sim) answer() Event {
	if len(s.done) > 0 && s.rnd.intn(10) == 0 {
		return s.done[s.rnd.intn(len(s.done))]
	}
	i := s.rnd.intn(len(s.pending))
	a := s.pending[i]
	s.pending = slices.Delete(s.pending, i, i+1)
	var ev Event
	switch a := a.(type) {
	case Merge:
		if s.rnd.intn(10) == 0 {
			ev = MergeCompleted{Item: a.Item, Attempt: a.Attempt, Conflict: &Conflict{Change: a.Changes[len(a.Changes)-1].Number}}
			break
		}
		m := MergeCompleted{Item: a.Item, Attempt: a.Attempt, Heads: map[string]string{}, Bases: map[string]string{}}
		for _, r := range a.Changes {
			m.Heads[r.Project] = fmt.Sprintf("h%d.%d.%s", a.Item, a.Attempt, r.Project)
			m.Bases[r.Project] = s.tip(r.Project)
		}
		for k, v := range a.Bases {
			m.Bases[k] = v
		}
		for _, r := range a.Changes {
			head := m.Heads[r.Project]
			if _, ok := s.content[head]; !ok {
				s.content[head] = s.content[m.Bases[r.Project]]
			}
			s.content[head] = union(s.content[head], r.Number)
		}
		ev = m
	case StartBuild:
		if s.rnd.intn(2) == 0 {
			s.pending = append(s.pending, a) // still running; it ends later
			ev = BuildStarted{Item: a.Item, Attempt: a.Attempt, Part: a.Part, Name: fmt.Sprintf("b%d-%d-%d", a.Item, a.Attempt, a.Part), URL: "https://argo/b"}
			break
		}
		results := []Result{ResultSuccess, ResultSuccess, ResultSuccess, ResultFailure, ResultError, ResultConfigError, ResultLost}
		if len(s.e.cfg.Queues) > 0 {
			// A bundle passes only if every one of its builds does: with
			// cycles, builds pass more often, so that bundles get merged.
			results = append(results, ResultSuccess, ResultSuccess, ResultSuccess, ResultSuccess, ResultSuccess)
		}
		res := results[s.rnd.intn(len(results))]
		ev = BuildCompleted{Item: a.Item, Attempt: a.Attempt, Part: a.Part, Result: res}
	case Submit:
		ev = s.submit(a)
	case Refresh:
		ev = s.changeEvent(a.Event.Type, s.changes[a.Event.Change], a.Event.Approvals, a.Event.Comment, a.Event.Author)
	case Checkout:
		if s.rnd.intn(10) == 0 {
			ev = MergeCompleted{Item: a.Item, Attempt: a.Attempt, Conflict: &Conflict{Message: "the ref is gone"}}
			break
		}
		commit := a.Commit
		if commit == "" {
			commit = s.tip(a.Project)
		}
		m := MergeCompleted{Item: a.Item, Attempt: a.Attempt, Heads: map[string]string{a.Project: commit}, Bases: map[string]string{a.Project: commit}}
		if a.OldRev != "" {
			m.Files = [][]string{{"docs/a.md"}, {"src/a.go"}, {"docs/b.md", "src/b.go"}}[s.rnd.intn(3)]
		}
		ev = m
	case ListBranches:
		ev = BranchTips{Pipeline: a.Pipeline, Project: a.Project, Default: "master",
			Tips: map[string]string{"master": s.tip(a.Project), "stable": "stable-" + s.tip(a.Project)}}
	}
	s.done = append(s.done, ev)
	return ev
}

// submit does what the reporter and Gerrit do with a Submit: a change
// merged already by this item's submits is a success; otherwise the
// changes tested together must be unchanged, the branches must have the
// trees the state was built on, and what Gerrit would submit with the
// change (its open parents, and its topic with submitWholeTopic) must be
// among the changes tested together. Then Gerrit may still refuse (only
// the first submit of an item: a later refusal is a change that changed).
func (s *sim) submit(a Submit) Event {
	c := s.changes[a.Change.Number]
	done := SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Change: c.Number}
	if c.Status == StatusMerged && s.mergedBy[c.Number] == a.Item {
		done.Merged, done.Tips = true, map[string]string{c.Project: s.tip(c.Project)}
		return done
	}
	for _, r := range a.Together {
		if x := s.changes[r.Number]; !x.Open() || x.Patchset != r.Patchset {
			done.Message = fmt.Sprintf("change %d: revision is not current", r.Number)
			return s.refused(a, done)
		}
	}
	for project, want := range a.Expect {
		if s.tree(s.tip(project)) != s.tree(want) {
			// The branch moved between two submits of a bundle: what is
			// left of it is built again, and may fail.
			s.refused(a, done)
			return SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Change: c.Number, Stale: true, Tips: map[string]string{project: s.tip(project)}}
		}
	}
	set := s.submittedTogether(c)
	for _, x := range set {
		if !slices.ContainsFunc(a.Together, func(r ChangeRef) bool { return r.Number == x.Number }) {
			done.Message = fmt.Sprintf("Gerrit would submit change %d with it, which was not tested with it", x.Number)
			return s.refused(a, done)
		}
	}
	if !slices.ContainsFunc(slices.Collect(maps.Values(s.mergedBy)), func(i ItemID) bool { return i == a.Item }) && s.rnd.intn(8) == 0 {
		done.Message = "blocked by Verified"
		return done
	}
	s.checkTree(a, set)
	l := s.e.items[a.Item]
	done.Merged, done.Tips = true, map[string]string{}
	for _, x := range set {
		if !s.passedAttempt(a.Item, a.Attempt) || !slices.ContainsFunc(s.built[a.Item][a.Attempt], func(r ChangeRef) bool { return r.Number == x.Number }) {
			s.fail("the submit of %s merged change %d, which was not in a passed build of item %d attempt %d", a.Change, x.Number, a.Item, a.Attempt)
		}
		x.Status = StatusMerged
		s.mergedBy[x.Number] = a.Item
	}
	// Gerrit reports each branch's move, then each merge, before or after
	// the submit's answer reaches the engine. (Snapshots are taken when
	// the event is delivered, as the daemon's intake reads them.)
	var after []func() Event
	for _, x := range set {
		if _, ok := done.Tips[x.Project]; ok {
			continue
		}
		old := s.tip(x.Project)
		s.pushes++
		tip := fmt.Sprintf("merge%d", s.pushes)
		s.tips[x.Project] = tip
		done.Tips[x.Project] = tip
		s.content[tip] = s.content[old]
		for _, y := range set {
			if y.Project == x.Project {
				s.content[tip] = union(s.content[tip], y.Number)
			}
		}
		// The tip has the tree the state was built on once every change
		// of the item in that project is merged; before, one of its own.
		if l != nil && !slices.ContainsFunc(l.item.own(), func(r ChangeRef) bool {
			return r.Project == x.Project && s.changes[r.Number].Status != StatusMerged
		}) {
			s.trees[tip] = l.item.Heads[x.Project]
		}
		moved := RefUpdated{Project: x.Project, Branch: "master", OldRev: old, NewRev: tip}
		after = append(after, func() Event { return moved })
	}
	for _, x := range set {
		tip := done.Tips[x.Project]
		after = append(after, func() Event {
			ev := s.changeEvent("change-merged", x, nil, "", "gated")
			ev.NewRev = tip
			return ev
		})
	}
	if s.rnd.intn(2) == 0 {
		s.followups = append(s.followups, after...)
		return done
	}
	s.followups = append(s.followups, func() Event { return done })
	s.followups = append(s.followups, after[1:]...)
	return after[0]()
}

// refused is Gerrit's refusal of a submit (or its branch having moved);
// for a bundle that merged some of its changes already, it is a cause of
// a bundle left half merged.
func (s *sim) refused(a Submit, done SubmitCompleted) Event {
	if slices.ContainsFunc(slices.Collect(maps.Values(s.mergedBy)), func(i ItemID) bool { return i == a.Item }) {
		s.partial[a.Item] = true
	}
	return done
}

// submittedTogether is what Gerrit submits with c: c, its open parents
// (needs on a patchset), and with submitWholeTopic the open changes of
// its topic, transitively.
func (s *sim) submittedTogether(c *Change) []*Change {
	set := []*Change{c}
	for i := 0; i < len(set); i++ {
		x := set[i]
		add := func(y *Change) {
			if y.Open() && !slices.Contains(set, y) {
				set = append(set, y)
			}
		}
		for _, n := range x.Needs {
			if n.Patchset != 0 {
				add(s.changes[n.Number])
			}
		}
		if s.wholeTopic && x.Topic != "" {
			for n := 1; n < s.nextNum; n++ {
				if y := s.changes[n]; y.Topic == x.Topic {
					add(y)
				}
			}
		}
	}
	return set
}

// checkTree checks, as Gerrit submits a change (and what it submits with
// it), that every branch of the state its build tested has exactly the
// tree it tested, but for the changes of the item not merged yet: the
// tip's changes, and the item's changes still open (a bundle's later
// submits included).
func (s *sim) checkTree(a Submit, set []*Change) {
	item := s.bundles[a.Item]
	if l := s.e.items[a.Item]; l != nil {
		item = l.item
	}
	for project, head := range s.heads[a.Item][a.Attempt] {
		want := s.content[s.tip(project)]
		for _, x := range set {
			if x.Project == project {
				want = union(want, x.Number)
			}
		}
		if item != nil {
			for _, r := range item.members() {
				if r.Project == project && s.changes[r.Number].Open() {
					want = union(want, r.Number)
				}
			}
		}
		if got := s.content[head]; !slices.Equal(got, want) {
			s.fail("submit of %s: its build tested %v in %s, the branch will have %v", a.Change, got, project, want)
		}
	}
}

// union returns a sorted tree with more changes.
func union(tree []int, nums ...int) []int {
	out := slices.Concat(tree, nums)
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *sim) tip(project string) string {
	if t, ok := s.tips[project]; ok {
		return t
	}
	return "t0" + project
}

// gateItems returns the changes with an item in the gate.
func (s *sim) gateItems() map[int]bool {
	out := map[int]bool{}
	for n, ids := range s.e.byChange {
		for _, id := range ids {
			if s.e.items[id].pipeline.Name == "gate" {
				out[n] = true
			}
		}
	}
	return out
}

func (s *sim) approved(c *Change) bool {
	return s.e.cfg.byName["gate"].unmet(c) == ""
}

func (s *sim) configured(project string) bool {
	_, ok := s.e.cfg.Projects[project]
	return ok
}

// step plays one event and checks the engine's promises.
func (s *sim) step() {
	var ev Event
	switch k := s.rnd.intn(40); {
	case len(s.followups) > 0 && k < 12:
		ev, s.followups = s.followups[0](), s.followups[1:]
	case k == 12:
		s.now = s.now.Add(time.Duration(s.rnd.intn(180)) * time.Minute)
		ev = Tick{}
	case k == 13 && len(s.configs) > 0:
		ev = Reconfigure{Config: s.configs[s.rnd.intn(len(s.configs))]}
	case len(s.sent) > 0 && k < 16:
		ev = s.sent[s.rnd.intn(len(s.sent))] // a slow read, arriving late
	case len(s.pending) > 0 && k < 36:
		ev = s.answer()
	case s.rnd.intn(8) == 0:
		ev = s.adminEvent()
	default:
		ev = s.gerritEvent()
	}
	s.now = s.now.Add(time.Duration(1+s.rnd.intn(60)) * time.Second)
	switch ev := ev.(type) {
	case BuildCompleted:
		if att, ok := s.building[partKey{ev.Item, ev.Part}]; ok && att == ev.Attempt {
			delete(s.building, partKey{ev.Item, ev.Part})
			if ev.Result == ResultSuccess {
				s.passed[attemptKey{ev.Item, ev.Attempt}]++
			}
		}
	case ChangeEvent:
		h, held := s.e.pipelines["gate"].Held[ev.Change]
		if c := s.changes[ev.Change]; s.e.cfg.byName["gate"].triggered(ev, c.Branch) && s.approved(c) && s.configured(c.Project) && (!held || h.endedBy(ev)) {
			s.waiting[c.Number] = true // (an event seen before a dequeue does not end its hold)
		}
	}
	before := s.gateItems()
	var twin *Engine
	var queues map[string][]*Item
	if isAdmin(ev) {
		twin, queues = s.twin(), s.queueOrders()
	}
	s.times = append(s.times, s.now)
	s.events = append(s.events, ev)
	acts := s.e.Apply(s.now, ev)
	s.acts = append(s.acts, acts)
	checkInvariants(s.t, s.e)
	s.checkActions(ev, acts, before)
	s.checkBundles(acts)
	rd, err := s.e.Ready()
	if err != nil {
		s.fail("ready: %v", err)
	}
	keep(s.store, rd.State)
	s.checkFacts(ev, rd.Facts)
	if isAdmin(ev) {
		s.checkAdmin(ev, rd.Facts.Verdicts[0], acts, twin, queues)
	}
	if s.rnd.intn(3) == 0 {
		s.checkRoundTrip()
	}
}

func (s *sim) checkActions(ev Event, acts []Action, before map[int]bool) {
	reported := map[int]bool{}
	for _, a := range acts {
		switch a := a.(type) {
		case Merge, Submit, Refresh, Checkout, ListBranches:
			s.pending = append(s.pending, a)
		case StartBuild:
			if att, ok := s.building[partKey{a.Item, a.Part}]; ok {
				s.fail("item %d starts build %d/%d while build %d runs", a.Item, a.Attempt, a.Part, att)
			}
			s.building[partKey{a.Item, a.Part}] = a.Attempt
			s.started[attemptKey{a.Item, a.Attempt}]++
			if s.built[a.Item] == nil {
				s.built[a.Item] = map[int][]ChangeRef{}
			}
			s.built[a.Item][a.Attempt] = a.Changes
			if s.heads[a.Item] == nil {
				s.heads[a.Item] = map[int]map[string]string{}
			}
			s.heads[a.Item][a.Attempt] = a.Heads
			s.pending = append(s.pending, a)
			s.checkStartBuild(a)
		case CancelBuild:
			bs, staleStart := ev.(BuildStarted)
			staleStart = staleStart && bs.Item == a.Item && bs.Attempt == a.Attempt && bs.Part == a.Part
			att, running := s.building[partKey{a.Item, a.Part}]
			if (!running || att != a.Attempt) && !staleStart {
				s.fail("cancel of build %d.%d/%d, which is not running", a.Item, a.Attempt, a.Part)
			}
			if running && att == a.Attempt {
				delete(s.building, partKey{a.Item, a.Part})
			}
			s.pending = slices.DeleteFunc(s.pending, func(p Action) bool {
				b, ok := p.(StartBuild)
				return ok && b.Item == a.Item && b.Attempt == a.Attempt && b.Part == a.Part
			})
		case Forget:
			for k, att := range s.building {
				if k.item == a.Item {
					s.fail("item %d forgotten with build %d/%d still running (an orphaned workflow)", a.Item, att, k.part)
				}
			}
		case Report:
			reported[a.Change.Number] = true
			if a.Change.Number == 0 {
				s.fail("report %v on no change", a)
			}
		}
	}
	for _, a := range acts {
		if sub, ok := a.(Submit); ok {
			s.checkSubmit(sub)
		}
	}
	after := s.gateItems()
	for n := range before {
		if !after[n] && !reported[n] && s.changes[n].Status != StatusMerged {
			s.fail("change %d left the gate without a report", n)
		}
	}
	for _, a := range acts {
		if r, ok := a.(Report); ok && r.Kind == ReportRefusal {
			s.told[r.Change.Number] = append(s.told[r.Change.Number], r.Message)
		}
	}
	for n := range s.waiting {
		c := s.changes[n]
		if after[n] || reported[n] || !c.Open() || !s.approved(c) || !s.configured(c.Project) {
			delete(s.waiting, n)
			continue
		}
		if slices.ContainsFunc(s.pending, func(a Action) bool { r, ok := a.(Refresh); return ok && r.Event.Change == n }) {
			continue // decided once read again
		}
		// Told before, for the same reason: refusals are reported once.
		if why := s.e.pipelines["gate"].Refused[n]; why != "" && slices.ContainsFunc(s.told[n], func(m string) bool { return strings.Contains(m, why) }) {
			delete(s.waiting, n)
			continue
		}
		s.fail("approved change %d is neither in the gate nor told why", n)
	}
}

// checkStartBuild checks what a build runs: a ref item or a merged
// change builds the commit it checked out and reads its workflow there; a
// trusted project's change reads it at a branch commit, never at a
// speculative head (the sim's heads start with "h").
func (s *sim) checkStartBuild(a StartBuild) {
	l := s.e.items[a.Item]
	if l == nil {
		s.fail("build of item %d, which is gone", a.Item)
	}
	project := a.Change.Project
	switch {
	case l.item.checksOut() && (a.WorkflowAt != a.Heads[project] || a.Heads[project] != l.item.Commit && l.item.Commit != ""):
		s.fail("item %d builds %v with the workflow at %s, not its commit %s", a.Item, a.Heads, a.WorkflowAt, l.item.Commit)
	case a.Trusted && !l.item.checksOut() && strings.HasPrefix(a.WorkflowAt, "h"):
		s.fail("trusted project %s runs the workflow of speculative state %s", project, a.WorkflowAt)
	case !a.Trusted && a.WorkflowAt != a.Heads[project]:
		s.fail("item %d reads its workflow at %s, not at its head %s", a.Item, a.WorkflowAt, a.Heads[project])
	}
}

// checkSubmit checks a Submit: the item's current state was built and
// passed, everything else in that state is merged already, and nothing that
// could still merge is ahead of it in its queue.
func (s *sim) checkSubmit(a Submit) {
	if !s.passedAttempt(a.Item, a.Attempt) {
		s.fail("submit of item %d attempt %d, which did not pass", a.Item, a.Attempt)
	}
	l := s.e.items[a.Item]
	if l == nil || l.item.Phase != PhaseSubmitting {
		s.fail("submit of item %d, which is not submitting", a.Item)
	}
	if len(a.Together) == 0 || a.Together[0] != a.Change {
		s.fail("submit of %s together with %v: the change must come first", a.Change, a.Together)
	}
	built := s.built[a.Item][a.Attempt]
	for _, r := range a.Together {
		if !slices.Contains(built, r) {
			s.fail("submit of %s together with %s, which was not built with it", a.Change, r)
		}
	}
	for _, r := range built {
		if !slices.Contains(a.Together, r) && s.changes[r.Number].Status != StatusMerged {
			s.fail("submit of %s, tested together with %s, which is not merged", a.Change, r)
		}
	}
	for _, it := range l.queue.Items {
		if it == l.item {
			break
		}
		if it.Failure == nil {
			s.fail("submit of %s while %s, ahead of it, may still merge", a.Change, it.Change)
		}
	}
	if s.changes[a.Change.Number].Status == StatusMerged && s.mergedBy[a.Change.Number] != a.Item {
		s.fail("submit of %s, which is merged already (a repeated submit)", a.Change)
	}
}

// checkBundles checks that no bundle is left half merged by gated's own
// doing: a bundle some of whose changes merged leaves its pipeline only
// once all of them merged, or with a report, and only after Gerrit refused
// one of its submits, a branch moved between two of them, or one of its
// changes changed.
func (s *sim) checkBundles(acts []Action) {
	for id, l := range s.e.items {
		if l.item.isBundle() && s.bundles[id] == nil {
			s.bundles[id] = l.item
		}
	}
	reported := map[ItemID]bool{}
	for _, a := range acts {
		if r, ok := a.(Report); ok && (r.Kind == ReportFailure || r.Kind == ReportConflict || r.Kind == ReportDequeue) {
			reported[r.Item] = true
		}
	}
	for id, it := range s.bundles {
		if s.e.items[id] != nil {
			continue
		}
		delete(s.bundles, id)
		merged := 0
		for _, r := range it.Bundle {
			if s.mergedBy[r.Number] == id {
				merged++
			}
		}
		if merged > 0 && merged < len(it.Bundle) && !reported[id] {
			s.fail("bundle %d (%v) left with %d of its changes merged, without a report", id, it.Bundle, merged)
		}
		if merged > 0 && merged < len(it.Bundle) && !s.partial[id] && !s.changedSince(it) {
			s.fail("bundle %d (%v) left half merged though Gerrit refused none of its submits, no branch moved between them and none of its changes changed", id, it.Bundle)
		}
	}
}

// changedSince reports whether a change of a bundle is no longer as the
// bundle holds it (a new patchset, abandoned, or not approved any more).
func (s *sim) changedSince(it *Item) bool {
	for _, r := range it.Bundle {
		c := s.changes[r.Number]
		if c.Status == StatusAbandoned || c.Patchset != r.Patchset || (c.Open() && !s.approved(c)) {
			return true
		}
	}
	return false
}

// checkFacts checks that the engine observes what the event did: a build
// finished only on the answer for an item's current build, a change merged
// only on a merged submit, one verdict for each administrator's request
// and none for anything else.
func (s *sim) checkFacts(ev Event, facts Facts) {
	checkVerdicts(s.t, ev, facts.Verdicts)
	for _, f := range facts.Builds {
		bc, ok := ev.(BuildCompleted)
		_, listed := ev.(BuildsListed)
		if !listed && (!ok || bc.Item != f.Item || bc.Attempt != f.Attempt || bc.Result != f.Result) {
			s.fail("build of item %d attempt %d finished on %v", f.Item, f.Attempt, ev)
		}
	}
	for _, f := range facts.Merged {
		if sc, ok := ev.(SubmitCompleted); !ok || !sc.Merged || sc.Item != f.Item {
			s.fail("change %s merged on %v", f.Change, ev)
		}
	}
}

func isAdmin(ev Event) bool {
	switch ev.(type) {
	case Dequeue, Enqueue, Promote:
		return true
	}
	return false
}

// twin returns an engine with the state stored so far: the engine's as
// of now, apart from the memory of reads, which is not state.
func (s *sim) twin() *Engine {
	e, err := RestoreParts(s.e.Config(), s.store)
	if len(s.store) == 0 {
		e, err = New(s.e.Config())
	}
	if err != nil {
		s.fail("restore parts: %v", err)
	}
	return e
}

// queueOrders returns the items of every queue, by pipeline and queue.
func (s *sim) queueOrders() map[string][]*Item {
	out := map[string][]*Item{}
	for _, p := range s.e.st.Pipelines {
		for _, q := range p.Queues {
			out[p.Name+" "+q.Name] = slices.Clone(q.Items)
		}
	}
	return out
}

// checkAdmin checks what an administrator's request did: nothing at all
// when refused; when accepted, what was asked.
func (s *sim) checkAdmin(ev Event, v Verdict, acts []Action, twin *Engine, queues map[string][]*Item) {
	s.outcomes[fmt.Sprintf("%T %s", ev, v.Outcome)]++
	if v.Outcome != OutcomeAccepted {
		// Time passed, and the timers due fired: nothing else happened.
		timers := twin.Apply(s.now, Tick{})
		if !reflect.DeepEqual(formatActions(acts), formatActions(timers)) || !bytes.Equal(encodeState(s.t, twin), encodeState(s.t, s.e)) {
			s.fail("%v was refused (%s: %s), but it changed the state or acted: %v", ev, v.Outcome, v.Message, formatActions(acts))
		}
		return
	}
	switch ev := ev.(type) {
	case Dequeue:
		if s.e.itemOf(s.e.pipelines[ev.Pipeline], ev.Change) != nil {
			s.fail("%v accepted (%s), but the change is still there", ev, v.Message)
		}
	case Enqueue:
		if s.e.itemOf(s.e.pipelines[ev.Pipeline], ev.Change) == nil {
			s.fail("%v accepted (%s), but the change is not there", ev, v.Message)
		}
	case Promote:
		s.checkPromoted(ev, queues)
	}
}

// checkPromoted checks the order of a queue after a promote: the same
// items, those being submitted first, then the promoted ones in the order
// asked (but behind what they need, which moves with them), then the
// others in their previous order.
func (s *sim) checkPromoted(ev Promote, queues map[string][]*Item) {
	p := s.e.pipelines[ev.Pipeline]
	l := s.e.itemOf(p, ev.Changes[0])
	was, now := queues[p.Name+" "+l.queue.Name], l.queue.Items
	ids := func(items []*Item) []ItemID {
		out := make([]ItemID, len(items))
		for i, it := range items {
			out[i] = it.ID
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(was), ids(now)) {
		s.fail("%v changed the items of the queue", ev)
	}
	moved := map[int]bool{} // promoted, and what they need within the queue
	var need func(n int)
	need = func(n int) {
		if moved[n] {
			return
		}
		moved[n] = true
		for _, d := range s.e.itemOf(p, n).item.Needs {
			if m := s.e.itemOf(p, d.Number); m != nil && m.queue == l.queue {
				need(d.Number)
			}
		}
	}
	for _, n := range ev.Changes {
		need(n)
	}
	pos := map[int]int{}
	for i, it := range now {
		pos[it.Change.Number] = i
	}
	var rest []int
	for _, it := range was {
		if !moved[it.Change.Number] && it.Phase != PhaseSubmitting {
			rest = append(rest, it.Change.Number)
		}
	}
	for i, it := range now {
		switch {
		case it.Phase == PhaseSubmitting:
			if i > 0 && now[i-1].Phase != PhaseSubmitting {
				s.fail("%v: a submitting item is not at the head", ev)
			}
		case !moved[it.Change.Number]:
			if it.Change.Number != rest[0] {
				s.fail("%v: the items not promoted are not in their previous order after the promoted ones: %s", ev, queueOrder(now))
			}
			rest = rest[1:]
		}
	}
	for i, a := range ev.Changes {
		for _, b := range ev.Changes[i+1:] {
			if pos[a] > pos[b] && !s.needs(p, a, b) && now[pos[b]].Phase != PhaseSubmitting {
				s.fail("%v: change %d is behind change %d, which it does not need: %s", ev, a, b, queueOrder(now))
			}
		}
	}
}

// needs reports whether change a's item needs change b's, transitively.
func (s *sim) needs(p *PipelineState, a, b int) bool {
	for _, d := range s.e.itemOf(p, a).item.Needs {
		if d.Number == b || (s.e.itemOf(p, d.Number) != nil && s.needs(p, d.Number, b)) {
			return true
		}
	}
	return false
}

func (s *sim) checkRoundTrip() {
	data := encodeState(s.t, s.e)
	fromParts, err := restoreParts(s.e.cfg, s.store) // the configuration compiled once
	if err != nil {
		s.fail("restore parts: %v", err)
	}
	if !reflect.DeepEqual(s.e.st, fromParts.st) {
		s.fail("the stored parts do not give the state:\n%s\n%s", data, encodeState(s.t, fromParts))
	}
	if again := encodeState(s.t, fromParts); !bytes.Equal(data, again) {
		s.fail("encode(decode(encode(state))) differs:\n%s\n%s", data, again)
	}
	if s.rnd.intn(10) == 0 {
		// A restart: carry on with the restored engine. Reads from Gerrit
		// die with the process (after a restart, the inbox is read anew),
		// so no snapshot read before it arrives after it.
		s.e = fromParts
		s.sent = nil
		s.done = slices.DeleteFunc(s.done, func(ev Event) bool { _, read := ev.(ChangeEvent); return read })
	}
}

// encodeState encodes an engine's whole state, deterministically.
func encodeState(t testing.TB, e *Engine) []byte {
	t.Helper()
	data, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkDeterminism replays every event on a new engine: the actions must
// be the same, restarts or not.
func (s *sim) checkDeterminism() {
	e, err := New(s.cfg)
	if err != nil {
		s.fail("%v", err)
	}
	for i, ev := range s.events {
		if got := e.Apply(s.times[i], ev); !reflect.DeepEqual(got, s.acts[i]) {
			s.fail("replaying event %d gave other actions:\n%v\nnot\n%v", i, formatActions(got), formatActions(s.acts[i]))
		}
	}
	if !bytes.Equal(encodeState(s.t, e), encodeState(s.t, s.e)) {
		s.fail("replaying the events gave another state")
	}
}

// TestProperties plays thousands of random event sequences (Gerrit's
// events, the workers' answers, administrators' requests), with Zuul's
// gate and with each strategy of the throughput simulator, and checks after
// every event that the engine never panics, never submits an item whose
// current speculative state was not built and passed (nor one tested with
// unmerged changes, nor one behind an item that may still merge, nor one
// merged already), never loses an approved change without a report, never
// leaves a build running for an item it forgot, answers every
// administrator's request once, changes nothing when it refuses one and
// does what was asked when it accepts one, and that its state round-trips
// through its encoding; and at the end that replaying the events gives the
// same actions.
func TestProperties(t *testing.T) {
	runs := *propertyRuns
	if testing.Short() {
		runs /= 10
	}
	for _, pc := range []struct {
		name   string
		gate   func(*PipelineConfig)
		queues []QueueConfig
	}{
		{"zuul", func(*PipelineConfig) {}, nil},
		{"gated", func(p *PipelineConfig) {
			p.Window.DecreaseType = "linear"
			p.ParallelMerges = true
			p.Retries, p.RetryCleared, p.ClearPasses = 1, true, 2
		}, nil},
		{"retry_cleared", func(p *PipelineConfig) { p.Retries, p.RetryCleared = 1, true }, nil},
		{"probe", func(p *PipelineConfig) {
			p.Window.Size, p.Window.Floor = 2, 1
			p.Retries, p.RetryCleared, p.Probe = 1, true, 3
		}, nil},
		{"probe_group", func(p *PipelineConfig) {
			p.Window.Size, p.Window.Floor = 2, 1
			p.Retries, p.RetryCleared, p.Probe, p.ProbeGroup = 1, true, 5, 3
		}, nil},
		{"lifecycle", nil, nil},
		{"cycles", func(p *PipelineConfig) { p.Retries = 1 }, []QueueConfig{{Name: "integrated", AllowCircularDependencies: true, DependenciesByTopic: true}}},
	} {
		t.Run(pc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Queues = pc.queues
			cfg.Pipelines[1].Window.Size = 4
			var configs []Config
			if pc.gate != nil {
				pc.gate(&cfg.Pipelines[1])
			} else {
				cfg, configs = simLifecycle()
			}
			outcomes := map[string]int{}
			for seed := range runs {
				s := newSim(t, seeded{rand.New(rand.NewPCG(uint64(seed), 7))}, cfg)
				s.configs = configs
				for range 120 {
					s.step()
				}
				s.checkDeterminism()
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
				for k, n := range s.outcomes {
					outcomes[k] += n
				}
			}
			// The requests must exercise the engine, not only its refusals.
			for _, kind := range []string{"queue.Dequeue", "queue.Enqueue", "queue.Promote"} {
				for _, o := range []Outcome{OutcomeAccepted, OutcomeNotFound, OutcomeConflict} {
					if outcomes[kind+" "+string(o)] == 0 && (kind != "queue.Enqueue" || o != OutcomeNotFound || runs >= 100) {
						t.Errorf("no %s was %s in %d runs: %v", kind, o, runs, outcomes)
					}
				}
			}
			t.Logf("administrators' requests: %v", outcomes)
		})
	}
}

// simLifecycle is a configuration with every kind of pipeline, item and
// project setting (post, promote, tag, periodic; file matchers, workflow
// mappings, a trusted project), and the others the engine is switched to:
// one without project r and the tag pipeline, one with the check
// pipeline supercedent.
func simLifecycle() (Config, []Config) {
	c := filesConfig()
	c.Pipelines[1].Window.Size = 4
	c.Pipelines = append(c.Pipelines, PipelineConfig{Name: "periodic", Manager: Independent, Triggers: []Trigger{{Event: "timer", Time: "*/30 * * * *"}}})
	c.Projects["q"] = ProjectConfig{Queue: "integrated", Trusted: true, Workflows: map[string]string{"post": ".pipeline/publish.yaml"}}
	c.Projects["r"] = ProjectConfig{Workflows: map[string]string{"promote": ""}, Branches: `.*`}
	smaller := c
	smaller.Pipelines = slices.DeleteFunc(slices.Clone(c.Pipelines), func(p PipelineConfig) bool { return p.Name == "tag" })
	smaller.Projects = map[string]ProjectConfig{"p": c.Projects["p"], "q": c.Projects["q"]}
	other := c
	other.Pipelines = slices.Clone(c.Pipelines)
	other.Pipelines[0].Manager = Supercedent
	return c, []Config{c, smaller, other}
}

// FuzzApply drives the engine with events chosen by the fuzzer's bytes.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 3, 5, 7, 0, 9, 9, 9, 2, 4, 6, 8, 10, 11, 1, 1, 1})
	f.Add(bytes.Repeat([]byte{3, 0, 200, 7}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSim(t, &fuzzBytes{b: data}, testConfig())
		for range len(data) / 2 {
			s.step()
		}
		s.checkDeterminism()
	})
}

// describe renders an event briefly for failure messages.
func describe(ev Event) string {
	switch ev := ev.(type) {
	case ChangeEvent:
		c := ev.Changes[slices.IndexFunc(ev.Changes, func(c Change) bool { return c.Number == ev.Change })]
		return fmt.Sprintf("%s %d,%d %s votes=%v needs=%v approvals=%v %q", ev.Type, c.Number, c.Patchset, c.Status, c.Votes, c.Needs, ev.Approvals, ev.Comment)
	case MergeCompleted:
		if ev.Conflict != nil {
			return fmt.Sprintf("conflict #%d.%d", ev.Item, ev.Attempt)
		}
		return fmt.Sprintf("merged #%d.%d bases=%v", ev.Item, ev.Attempt, ev.Bases)
	case BuildCompleted:
		return fmt.Sprintf("build #%d.%d %s", ev.Item, ev.Attempt, ev.Result)
	case SubmitCompleted:
		return fmt.Sprintf("submit #%d.%d merged=%v stale=%v tips=%v", ev.Item, ev.Attempt, ev.Merged, ev.Stale, ev.Tips)
	}
	return fmt.Sprintf("%+v", ev)
}

// Every action the engine emits survives the outbox's encoding.
func TestActionCodecRoundTrip(t *testing.T) {
	s := newSim(t, seeded{rand.New(rand.NewPCG(1, 2))}, testConfig())
	n := 0
	for range 400 {
		s.step()
	}
	for _, acts := range s.acts {
		for _, a := range acts {
			data, err := MarshalAction(a)
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnmarshalAction(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, back) {
				t.Fatalf("%#v\nbecame\n%#v", a, back)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d actions checked", n)
	}
}

func FuzzUnmarshalAction(f *testing.F) {
	f.Add([]byte(`{"type":"merge","body":{"item":1,"attempt":1,"changes":[]}}`))
	f.Add([]byte(`{"type":"report","body":{"labels":{"Verified":2}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := UnmarshalAction(data)
		if err != nil {
			return
		}
		again, err := MarshalAction(a)
		if err != nil {
			t.Fatalf("decoded action does not encode: %v", err)
		}
		if _, err := UnmarshalAction(again); err != nil {
			t.Fatalf("re-encoded action does not decode: %v", err)
		}
	})
}
