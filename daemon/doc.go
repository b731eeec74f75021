// Package daemon is gated, the program: its configuration, the gate loop,
// workers, the intake of Gerrit events, start-up recovery, and the HTTP
// server (webhook, status page and API, metrics, health, the read-only git
// endpoint). cmd/gated is a thin command line over it; the scenario runner
// starts it in-process.
//
// The daemon is a pump. Every input reaches the gate loop the same way,
// posted to its mailbox: Gerrit events (stored first in the inbox by
// Deliver, then enriched with fresh change snapshots), workers' answers,
// the executor's build updates, reconciles. The loop, the one goroutine
// that owns the queue engine, applies them, commits the new state, the
// actions decided (the outbox) and the builds finished (the history) in one
// bbolt transaction, then dispatches the actions to the workers, which
// perform them and post their answers back. What the engine observed
// (Engine.Ready's facts) feeds the history, metrics and estimates; the
// daemon decides nothing the engine could decide.
//
// The web side: the status page (web.go, with its filter in
// statusfilter.go), the build history as JSON and HTML and a page per build
// (builds.go) and per change (change.go), all rendered by html/template
// from web/*.html (pages.go).
package daemon
