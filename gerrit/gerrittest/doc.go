// Package gerrittest is a Gerrit simulator for tests and demos: an
// in-process server that behaves like Gerrit for everything gated and
// common Gerrit clients (git, git-review, pygerrit2, go-gerrit) use.
//
// Projects are real bare git repositories served over git smart HTTP by the
// system git; a push to refs/for/<branch> creates changes and patchsets as
// Gerrit does (Change-Id footers, relation chains, %topic and push options).
// The REST API answers change queries, change details, related changes,
// submitted-together, review, submit (with the project's submit type, real
// merges and real conflicts, merged as Gerrit's JGit merges: see package
// merger/jgitmerge and Options.UseGitattributesForMerge; with
// change.submitWholeTopic, Options.SubmitWholeTopic, a whole topic at once,
// all or nothing, with Gerrit's submission ids), abandon and restore, with
// Gerrit's JSON, its )]}' prefix and basic auth under /a/. Every state
// change emits Gerrit's event JSON to subscribers, to a webhook and over a
// real SSH server running `gerrit stream-events`. Faults can be injected
// into HTTP answers.
//
// Tests and the scenario runner also drive the server directly through its
// Go API (CreateProject, Upload, Review, Submit, ...) and read its state back
// (Change, MergeOrder, BranchTip, Events).
//
// Labels follow the OpenStack model: Code-Review -2..+2, Verified -2..+2
// and Workflow -1..+1, each with the submit requirement
// "label:X=MAX AND -label:X=MIN". So a change is submittable with a
// Code-Review+2 from a core reviewer, a Workflow+1 (approval) and a
// Verified+2 from the gate, and no -2 (or Workflow-1) from anyone.
package gerrittest
