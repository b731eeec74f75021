// Package merger builds the speculative git states the gate tests: for a
// queue item, the branch tip plus every change ahead of it plus its own
// change, merged the way Gerrit's submit type will merge them. It keeps a
// bare repository cache per project, reads files (the workflow definition)
// at a commit, and serves speculative heads read-only over git smart HTTP.
//
// Merger.Merge applies a Request's changes in order, per project, onto the
// branch tip (fetched) or a pinned base: MERGE_IF_NECESSARY fast-forwards
// or merges, MERGE_ALWAYS merges, FAST_FORWARD_ONLY fast-forwards or
// refuses, REBASE_IF_NECESSARY fast-forwards or rebases, REBASE_ALWAYS
// rebases, CHERRY_PICK cherry-picks, as Gerrit's submit strategies do
// (merge commits are merged by the rebasing types, root commits refused, a
// parent neither merged nor ahead refused). A change that cannot be
// applied is a *ConflictError. The result of each project is recorded
// under the request's ref in refs/gated/, served by Handler and deleted by
// Forget; GC collects what no ref keeps.
//
// The merges are Gerrit's, not git's: what lands is what Gerrit's JGit
// merges, and JGit differs from git's merge-ort (no rename detection, a
// stricter test for binary files, its own rules for modes, empty files,
// files against directories and virtual merge bases, attributes only when
// core.useGitattributesForMerge is set, see WithGitattributesForMerge).
// Package jgitmerge decides them as JGit does, in process on the object
// store, and asks the system git (merge-tree, on synthetic trees) only for
// the line-by-line merge of text files both sides changed; merge bases are
// walked in process too. Everything else (fetching, reading objects,
// writing commits and refs) is go-git; git runs with no system or user
// configuration or attributes. Commits the merger writes carry a fixed
// identity and the request's time, so equal requests give equal commits.
// The outcome of each step is remembered by the state it applies to (the
// base and the changes before it), so the state of a queue item reuses
// the work done for the items ahead, and a gate reset merges only what
// changed.
package merger
