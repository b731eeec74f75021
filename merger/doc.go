// Package merger builds the speculative git states the gate tests: for a
// queue item, the branch tip plus every change ahead of it plus its own
// change, merged the way Gerrit's submit type will merge them. It keeps a
// bare repository cache per project, reads files (the workflow definition)
// at a commit, and serves speculative heads read-only over git smart HTTP.
package merger
