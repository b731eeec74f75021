// Package mergertest helps test code that uses package merger against real
// git: an Upstream serving bare repositories over smart HTTP, in the role
// of Gerrit, and fast-import streams to write histories into them quickly.
package mergertest
