// Package gerrit speaks to Gerrit: it decodes events (webhook and
// stream-events), enriches them into change snapshots over the REST API,
// discovers dependencies (relation chains and Depends-On footers), and
// reports results (votes, comments, submit).
package gerrit
