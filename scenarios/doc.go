// Package scenarios runs scenario files: whole-system stories told to gated
// (against the Gerrit simulator and an executor) with expectations about
// what must come of them. The format is the contract of
// shared/SCENARIOS.md (v2, and a reload step: gated's configuration file
// rewritten and reloaded, as SIGHUP does); files written anywhere run with
// `gated scenario run FILE...`, and `go test ./scenarios/...` runs every
// file in this directory.
package scenarios
