// Package scheduler runs builds: it turns a speculative head and the
// project's workflow definition into an Argo Workflow, validates it,
// enforces the policy for untrusted workflows, submits it, watches it, and
// aborts it. It also provides the simulated executor used by the demo, the
// scenario runner and the throughput simulator.
package scheduler
