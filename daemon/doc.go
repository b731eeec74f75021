// Package daemon is gated, the program: its configuration, the gate loop
// (one goroutine owns the queue engine and the bbolt file; workers perform
// the actions it decides and report back as events), start-up recovery, and
// the HTTP server (webhook, status page and API, metrics, health, the
// read-only git endpoint). cmd/gated is a thin command line over it; the
// scenario runner starts it in-process.
package daemon
