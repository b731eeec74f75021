// Package storage keeps gated's durable state in one bbolt file: the queue
// engine's state, the ids of consumed events, the outbox of actions still to
// perform, and the build history with its indexes (by change, project,
// pipeline, result and build name), so that a filtered page of it is a walk
// from a cursor, not a scan. Every transition is one transaction, so a
// crash at any moment loses nothing and repeats nothing.
package storage
