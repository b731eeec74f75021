// Package scheduler runs builds: it turns a speculative head and the
// project's workflow definition into an Argo Workflow, validates it with
// Argo's own validator, enforces the policy for untrusted workflows,
// submits it, watches it, and aborts it. It also provides the simulated
// executor used by the demo, the scenario runner and the throughput
// simulator.
//
// Argo is the real executor; Sim is the simulated one. The daemon consumes
// both through an interface it defines (daemon.Executor: Start, Cancel,
// Run, and List, every build, for the inventory at start-up). Argo adds
// Forget and Collect (the workflows of items that left their pipeline are
// deleted after a retention period) and Delete; both tell a build's Steps
// (Argo: the workflow's nodes, with the end of each failed pod's log read
// through the Kubernetes API); Sim adds the scripted results, held builds
// and virtual time the scenario runner drives.
//
// Start is idempotent: a workflow's name derives from the pipeline, the
// item and the attempt (Build.Name), so submitting again after a crash
// finds the existing workflow. Its errors are either a *DefinitionError
// (the change's fault: missing file, invalid YAML, Argo validation,
// policy violation; report it and never retry) or transient (the API
// server is down, a quota is exhausted: retry with backoff, the item
// waits). Run delivers every phase change of every gated workflow once
// per change, survives API server restarts and expired watches, and
// reports the current state of every workflow when it starts, which is
// how gated adopts the builds that ran while it was down.
package scheduler
