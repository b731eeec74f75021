package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"gated.dev/gated/daemon"
	"gated.dev/gated/gerrit/gerrittest"
)

// report prints one expectation's outcome.
func (w *world) report(st Step, key string, err error) {
	out := w.out()
	if err != nil {
		w.failures++
		fmt.Fprintf(out, "FAIL %s:%d: %s: %v\n", w.s.File, st.Line, key, err)
		return
	}
	fmt.Fprintf(out, "ok   %s:%d: %s\n", w.s.File, st.Line, key)
}

func (w *world) ids2(nums []int) []string {
	out := make([]string, len(nums))
	for i, n := range nums {
		if id, ok := w.names[n]; ok {
			out[i] = id
		} else {
			out[i] = fmt.Sprint(n)
		}
	}
	return out
}

func (w *world) expect(ctx context.Context, st Step) error {
	e := st.Expect
	status, err := w.gated.Status(ctx)
	if err != nil {
		return err
	}
	for _, key := range e.Keys {
		switch key {
		case "explain-mentions":
			w.report(st, key, w.checkExplainMentions(ctx, e.ExplainMentions))
		case "explain-contains":
			w.report(st, key, w.checkExplainContains(ctx, e.ExplainContains))
		default:
			w.report(st, key, w.check(key, e, status))
		}
	}
	return nil
}

func (w *world) check(key string, e *Expect, status daemon.Status) error {
	switch key {
	case "merged":
		var got []string
		for _, n := range w.gerrit.MergeOrder() {
			if _, ok := w.names[n]; ok {
				got = append(got, w.names[n])
			}
		}
		return wanted(e.Merged, orEmpty(got), slices.Equal[[]string])
	case "not-merged":
		merged := w.gerrit.MergeOrder()
		var bad []string
		for _, id := range e.NotMerged {
			n, err := w.change(id)
			if err != nil {
				return err
			}
			if slices.Contains(merged, n) {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("wanted none of %v merged, got %v merged", e.NotMerged, bad)
		}
		return nil
	case "queue":
		for pipeline, want := range e.Queue {
			if err := w.checkQueue(status, pipeline, want); err != nil {
				return err
			}
		}
		return nil
	case "running":
		var got [][]string
		for _, b := range w.exec.Running() {
			if b.Ref != "" {
				got = append(got, []string{w.refName(b.Project, b.Change, b.NewRev, b.NewRev == "")})
				continue
			}
			got = append(got, w.ids2(b.Changes))
		}
		return wanted(e.Running, got, sameSets)
	case "builds-started":
		started, _ := w.exec.Counts()
		return wanted(*e.BuildsStarted, started, func(a, b int) bool { return a == b })
	case "builds-cancelled":
		_, cancelled := w.exec.Counts()
		return wanted(*e.BuildsCancelled, cancelled, func(a, b int) bool { return a == b })
	case "votes":
		for _, id := range sortedKeys(e.Votes) {
			c, err := w.gerritChange(id)
			if err != nil {
				return err
			}
			for _, label := range sortedKeys(e.Votes[id]) {
				want, got := e.Votes[id][label], c.Votes[gerrittest.GatedUser][label]
				if want != got {
					return fmt.Errorf("wanted %s %s%+d by gated, got %+d", id, label, want, got)
				}
			}
		}
		return nil
	case "comment-contains":
		for _, id := range sortedKeys(e.CommentContains) {
			c, err := w.gerritChange(id)
			if err != nil {
				return err
			}
			want := strings.ToLower(e.CommentContains[id])
			found := false
			var seen []string
			for _, m := range c.Messages {
				if m.Author == gerrittest.GatedUser {
					seen = append(seen, m.Text)
					found = found || strings.Contains(strings.ToLower(m.Text), want)
				}
			}
			if !found {
				return fmt.Errorf("wanted a comment by gated on %s containing %q, got %q", id, e.CommentContains[id], seen)
			}
		}
		return nil
	case "built":
		for _, pipeline := range sortedKeys(e.Built) {
			if got := w.built(pipeline); !slices.Equal(got, e.Built[pipeline]) {
				return fmt.Errorf("wanted %s: %v built, got %v", pipeline, e.Built[pipeline], got)
			}
		}
		return nil
	case "merged-together":
		for _, group := range e.MergedTogether {
			if err := w.mergedTogether(group); err != nil {
				return err
			}
		}
		return nil
	case "window":
		for _, pipeline := range sortedKeys(e.Window) {
			got, err := windowOf(status, pipeline)
			if err != nil {
				return err
			}
			if got != e.Window[pipeline] {
				return fmt.Errorf("wanted window %d in %s, got %d", e.Window[pipeline], pipeline, got)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown expectation")
}

func wanted[T any](want, got T, equal func(T, T) bool) error {
	if equal(want, got) {
		return nil
	}
	return fmt.Errorf("wanted %v, got %v", want, got)
}

func sameSets(a, b [][]string) bool {
	key := func(s [][]string) []string {
		var out []string
		for _, x := range s {
			out = append(out, strings.Join(x, ","))
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkQueue compares a pipeline's items with want: the same changes, and
// within each change queue in the same order (head first).
func (w *world) checkQueue(status daemon.Status, pipeline string, want []string) error {
	p, ok := pipelineOf(status, pipeline)
	if !ok {
		return fmt.Errorf("no pipeline %q", pipeline)
	}
	var all []string
	var perQueue [][]string
	for _, q := range p.Queues {
		var ids []string
		for _, it := range q.Items {
			if it.Ref != nil {
				ids = append(ids, w.refName(it.Change.Project, it.Change.Number, it.Ref.NewRev, it.Ref.Timer))
				continue
			}
			members := []int{it.Change.Number}
			if len(it.Bundle) > 0 {
				members = nil
				for _, c := range it.Bundle {
					if !slices.Contains(it.Merged, c.Number) {
						members = append(members, c.Number)
					}
				}
			}
			ids = append(ids, w.ids2(members)...)
		}
		all = append(all, ids...)
		perQueue = append(perQueue, ids)
	}
	describe := fmt.Sprint(perQueue)
	if !slices.Equal(sorted(all), sorted(want)) {
		return fmt.Errorf("wanted %s: %v, got %s", pipeline, want, describe)
	}
	for _, ids := range perQueue {
		var inWant []string
		for _, id := range want {
			if slices.Contains(ids, id) {
				inWant = append(inWant, id)
			}
		}
		if !slices.Equal(inWant, ids) {
			return fmt.Errorf("wanted %s: %v, got %s (order within a change queue differs)", pipeline, want, describe)
		}
	}
	return nil
}

// pipelineOf finds a pipeline in a status.
func pipelineOf(status daemon.Status, name string) (daemon.PipelineStatus, bool) {
	for _, p := range status.Pipelines {
		if p.Name == name {
			return p, true
		}
	}
	return daemon.PipelineStatus{}, false
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// windowOf is the window of a pipeline's change queue: the one queue, or
// the one common to all of them.
func windowOf(status daemon.Status, pipeline string) (int, error) {
	p, ok := pipelineOf(status, pipeline)
	switch {
	case !ok:
		return 0, fmt.Errorf("no pipeline %q", pipeline)
	case len(p.Queues) == 0:
		return 0, errors.New("the pipeline has no change queue yet")
	}
	w := p.Queues[0].Window
	for _, q := range p.Queues[1:] {
		if q.Window != w {
			return 0, fmt.Errorf("the pipeline's change queues have different windows")
		}
	}
	return w, nil
}

// built names the items of a pipeline that started a build, in order of
// their first build.
func (w *world) built(pipeline string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, b := range w.exec.Started() {
		if b.Pipeline != pipeline || seen[b.Item] {
			continue
		}
		seen[b.Item] = true
		if b.Ref != "" {
			out = append(out, w.refName(b.Project, b.Change, b.NewRev, b.NewRev == ""))
			continue
		}
		out = append(out, w.ids2([]int{b.Change})[0])
	}
	return out
}

// refName names an item that is not a change (SCENARIOS.md, built): a
// timer's branch by its project; a ref update by the change whose submit
// moved the ref, or by the id of the push-branch step that pushed its
// commit (its commit otherwise).
func (w *world) refName(project string, change int, newRev string, timer bool) string {
	switch {
	case timer:
		return project
	case change != 0:
		return w.ids2([]int{change})[0]
	}
	for id, sha := range w.pushes {
		if sha == newRev {
			return id
		}
	}
	return newRev
}

// mergedTogether checks that one submit merged exactly the changes of
// group: they share one Gerrit submission id, which no other change has.
func (w *world) mergedTogether(group []string) error {
	if len(group) == 0 {
		return fmt.Errorf("an empty group: name the changes one submit merged")
	}
	ids := map[string][]string{} // submission id → the scenario's changes
	for _, id := range sortedKeys(w.ids) {
		c, err := w.gerritChange(id)
		if err != nil {
			return err
		}
		if c.SubmissionID != "" {
			ids[c.SubmissionID] = append(ids[c.SubmissionID], id)
		}
	}
	first, err := w.gerritChange(group[0])
	if err != nil {
		return err
	}
	if first.SubmissionID == "" {
		return fmt.Errorf("wanted %v merged by one submit, but %s is not merged", group, group[0])
	}
	if got := ids[first.SubmissionID]; !slices.Equal(sorted(got), sorted(group)) {
		return fmt.Errorf("wanted %v merged by one submit, but submission %s merged %v", group, first.SubmissionID, got)
	}
	return nil
}
