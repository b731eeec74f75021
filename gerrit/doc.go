// Package gerrit speaks to Gerrit: it decodes events (webhook and
// stream-events), enriches them into change snapshots over the REST API,
// discovers dependencies (relation chains and Depends-On footers), and
// reports results (votes, comments, submit).
//
// Events flow in by two transports, NewWebhookHandler (Gerrit's webhooks
// plugin) and StreamEvents (ssh gerrit stream-events), each decoding with
// DecodeEvent into an Event and handing it to a Sink. The daemon's sink is
// wrapped by Dedupe.Filter, which drops the copies (the same event by both
// transports, webhook retries) by Event.ID, but takes again an event the
// sink could not store. Events are hints: the daemon asks Client.Closure
// for fresh snapshots of the event's change and of every change connected
// to it by a dependency, and Client.Reconcile re-reads the changes events
// may have missed. Client.Review and Client.Submit report back;
// Client.GitRemote is where the merger fetches patchsets.
//
// The package knows nothing of the queue engine; the daemon converts.
package gerrit
