package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gated.dev/gated/gerrit/gerrittest"
)

func (w *world) change(id string) (int, error) {
	n, ok := w.ids[id]
	if !ok {
		return 0, fmt.Errorf("no change %q was uploaded", id)
	}
	return n, nil
}

// gerritChange returns what the Gerrit simulator holds of a scenario's
// change.
func (w *world) gerritChange(id string) (gerrittest.ChangeState, error) {
	n, err := w.change(id)
	if err != nil {
		return gerrittest.ChangeState{}, err
	}
	return w.gerrit.Change(n)
}

func (w *world) changes(ids []string) ([]int, error) {
	var out []int
	for _, id := range ids {
		n, err := w.change(id)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (w *world) step(ctx context.Context, st Step) error {
	var err error
	switch st.Kind {
	case "upload":
		err = w.upload(ctx, st.Upload)
	case "new-patchset":
		err = w.newPatchset(ctx, st.NewPatchset)
	case "approve":
		var n int
		if n, err = w.change(st.Change); err == nil {
			err = w.gerrit.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}})
		}
	case "review":
		err = w.review(st.Review)
	case "abandon", "restore":
		var n int
		if n, err = w.change(st.Change); err == nil {
			if st.Kind == "abandon" {
				err = w.gerrit.Abandon(n, gerrittest.AdminUser, "")
			} else {
				err = w.gerrit.Restore(n, gerrittest.AdminUser, "")
			}
		}
	case "push-branch":
		var sha string
		sha, err = w.gerrit.PushBranch(ctx, gerrittest.Push{Project: st.PushBranch.Project, Branch: st.PushBranch.Branch, Files: st.PushBranch.Files})
		if err == nil && st.PushBranch.ID != "" {
			w.pushes[st.PushBranch.ID] = sha
		}
	case "advance":
		w.clock.Add(int64(st.Advance))
		_, err = w.gated.Status(ctx) // a tick: the timers due by now fire

	case "fail", "flaky":
		w.rules = append(w.rules, st)
		w.applyRules()
	case "hold":
		w.exec.Hold(st.Hold)
	case "release":
		n := 0
		if st.Release != "all" {
			n, err = w.change(st.Release)
		}
		if err == nil {
			err = w.exec.Release(ctx, n)
		}
	case "reload":
		err = w.reload(ctx, st.Reload)
	case "wait":
		return w.settle(ctx)
	case "restart-gated":
		w.stopGated()
		err = w.startGated(ctx)
	case "dequeue", "enqueue", "promote":
		err = w.admin(ctx, st)
	case "gerrit-fault":
		w.gerrit.InjectFault(gerrittest.Fault{Path: st.GerritFault.Path, Status: st.GerritFault.Status, Count: st.GerritFault.Count})
	case "expect":
		return w.expect(ctx, st)
	default:
		return fmt.Errorf("unknown step")
	}
	if err != nil {
		return err
	}
	return w.quiesce(ctx)
}

func (w *world) newPatchset(ctx context.Context, np *NewPatchset) error {
	n, err := w.change(np.Change)
	if err != nil {
		return err
	}
	in := gerrittest.Patchset{Change: n, Files: np.Files, Message: np.Message}
	if np.DependsOn != nil {
		if in.DependsOn, err = w.changes(np.DependsOn); err != nil {
			return err
		}
	}
	_, err = w.gerrit.NewPatchset(ctx, in)
	return err
}

func (w *world) upload(ctx context.Context, u *Upload) error {
	if _, dup := w.ids[u.ID]; dup {
		return fmt.Errorf("change %q is uploaded twice", u.ID)
	}
	in := gerrittest.Upload{Project: u.Project, Branch: u.Branch, Files: u.Files, Topic: u.Topic, Message: u.Message, Subject: u.Message}
	if u.Message != "" {
		in.Subject, in.Message = firstLine(u.Message)
	}
	if u.Parent != "" {
		n, err := w.change(u.Parent)
		if err != nil {
			return err
		}
		in.Parent = n
	}
	deps, err := w.changes(u.DependsOn)
	if err != nil {
		return err
	}
	in.DependsOn = deps
	n, err := w.gerrit.Upload(ctx, in)
	if err != nil {
		return err
	}
	w.ids[u.ID], w.names[n] = n, u.ID
	w.applyRules()
	return nil
}

// applyRules hands the executor the fail and flaky rules whose changes are
// all uploaded.
func (w *world) applyRules() {
	var later []Step
	for _, st := range w.rules {
		if st.Fail != nil {
			n, err := w.change(st.Fail.Change)
			with, err2 := w.changes(st.Fail.With)
			if err != nil || err2 != nil {
				later = append(later, st)
				continue
			}
			w.exec.Fail(n, with)
			continue
		}
		n, err := w.change(st.Flaky.Change)
		if err != nil {
			later = append(later, st)
			continue
		}
		w.exec.Flaky(n, st.Flaky.Times)
	}
	w.rules = later
}

func firstLine(msg string) (string, string) {
	subject, body, _ := strings.Cut(msg, "\n")
	return subject, strings.TrimSpace(body)
}

// review votes as a second core reviewer (approve votes as the first), or
// as an administrator when a label is outside a core reviewer's range.
func (w *world) review(r *Review) error {
	n, err := w.change(r.Change)
	if err != nil {
		return err
	}
	account := gerrittest.BobUser
	for label := range r.Labels {
		if label != "Code-Review" && label != "Workflow" {
			account = gerrittest.AdminUser
		}
	}
	return w.gerrit.Review(n, gerrittest.Review{Account: account, Labels: r.Labels, Message: r.Message})
}

// reload rewrites gated's configuration file with the step's fragment and
// projects, and has gated reload it as SIGHUP does.
func (w *world) reload(ctx context.Context, r *Reload) error {
	configured := r.Projects
	if configured == nil {
		for _, p := range w.s.Projects {
			configured = append(configured, p.Name)
		}
	}
	for _, name := range configured {
		if !slices.ContainsFunc(w.s.Projects, func(p Project) bool { return p.Name == name }) {
			return fmt.Errorf("project %q is not one of the scenario's", name)
		}
	}
	w.configured = configured
	if err := w.configure(r.Config); err != nil {
		return err
	}
	return w.gated.Reload(ctx)
}
