package scenarios

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/scheduler"
)

// Runner runs scenarios: for each, a Gerrit simulator with the scenario's
// projects, an executor, and gated in-process.
//
// Time under the simulated executor is virtual and moves only when the
// scenario says so: after every step the runner waits until gated has
// consumed every event and finished every action (builds keep running);
// "wait: settled" then ends the running builds that are not held one at a
// time, oldest first, letting gated react to each before the next — so a
// scenario plays out the same way on every run.
type Runner struct {
	// Executor is "sim" (default) or "argo": the development cluster of
	// deploy/devcluster, with the real Argo workflow-controller. Under argo
	// time is real: held builds are suspended workflows.
	Executor string
	// Cluster is the development cluster to use under argo; nil means one
	// the runner starts (and Close stops).
	Cluster *devcluster.Cluster
	// Out receives one line per expectation.
	Out io.Writer
	// Log receives gated's logs; default discarded.
	Log *slog.Logger
	// Timeout bounds each wait for gated to settle; default 60s.
	Timeout time.Duration

	ownCluster bool
	scenarios  int
}

// executor is what the runner needs of the executor besides what gated
// needs: the scenario's scripted results, held builds and virtual time.
type executor interface {
	daemon.Executor
	Fail(change int, with []int)
	Flaky(change, times int)
	Hold(bool)
	Release(ctx context.Context, change int) error
	Advance() bool
	Running() []scheduler.Build
	Started() []scheduler.Build
	Counts() (started, cancelled int)
	Undelivered() int
}

// simExecutor is the simulated executor, as the runner drives it.
type simExecutor struct{ *scheduler.Sim }

// Release ends held builds at once, with their scripted results.
func (e simExecutor) Release(_ context.Context, change int) error {
	e.Sim.Release(change)
	return nil
}

// Close stops the cluster the runner started, if any.
func (r *Runner) Close() error {
	if r.ownCluster && r.Cluster != nil {
		err := r.Cluster.Stop()
		r.Cluster, r.ownCluster = nil, false
		return err
	}
	return nil
}

func (r *Runner) argo() bool { return r.Executor == "argo" }

// RunFile parses and runs one scenario file. It returns whether every
// expectation held; an error means the scenario could not run.
func (r *Runner) RunFile(ctx context.Context, path string) (bool, error) {
	s, err := ParseFile(path)
	if err != nil {
		return false, err
	}
	return r.Run(ctx, s)
}

// Run runs one scenario.
func (r *Runner) Run(ctx context.Context, s *Scenario) (bool, error) {
	if r.Executor != "" && r.Executor != "sim" && r.Executor != "argo" {
		return false, fmt.Errorf("executor %q: want sim or argo", r.Executor)
	}
	w, err := r.start(ctx, s)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.File, err)
	}
	defer w.close()
	for _, st := range s.Steps {
		if err := w.step(ctx, st); err != nil {
			return false, fmt.Errorf("%s:%d: %s: %w", s.File, st.Line, st.Kind, err)
		}
	}
	if err := w.noOrphans(ctx); err != nil {
		w.failures++
		fmt.Fprintf(w.out(), "FAIL %s: after the last step: %v\n", s.File, err)
	}
	return w.failures == 0, nil
}

func (w *world) out() io.Writer {
	if w.r.Out == nil {
		return io.Discard
	}
	return w.r.Out
}
