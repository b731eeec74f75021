// Package jgitmerge merges commits as Gerrit's submit does, with JGit's
// rules rather than git's: what lands is what Gerrit's JGit merges, and
// where the two differ a speculative state built with git's merge-ort
// would be a state Gerrit refuses or merges otherwise.
//
// The rules are those of JGit's ResolveMerger and RecursiveMerger, as
// Gerrit calls them (in core, without a work tree):
//   - no rename detection: a path is merged with the same path on the other
//     sides, so a rename is a deletion and an addition (git's merge-ort
//     follows renames, and directory renames, and cannot be told not to
//     before git 2.50);
//   - a file changed on both sides is binary, and so a conflict, when any
//     of its three versions holds a NUL byte anywhere, a carriage return not
//     followed by a line feed, or is over 50 MiB (git looks for a NUL in the
//     first 8,000 bytes);
//   - a file emptied (or added empty) on one side and whose content the
//     other side changed conflicts;
//   - a gitlink or a symbolic link changed on both sides conflicts, as does a
//     file on one side and a directory on the other (also where the base
//     had a directory one side replaced with a file), or a file modified on
//     one side and deleted on the other — but a file whose mode alone one
//     side changed and the other deleted is deleted; modes merge as JGit
//     merges them (a file added with different modes conflicts);
//   - several merge bases are merged into a virtual base, conflicts and
//     all, as RecursiveMerger does;
//   - .gitattributes are ignored, as Gerrit ignores them unless
//     core.useGitattributesForMerge is set; when it is (Engine's
//     attributes), the attributes of the "ours" side decide, as in JGit:
//     binary, -merge and merge=binary make a file changed on both sides a
//     conflict, merge=union joins both sides' lines.
//
// The line-by-line merge of a text file changed on both sides is git's
// (xdiff's histogram diff, the algorithm JGit uses too), run in one git
// merge-tree over synthetic trees that hold only those files, so that
// merge-ort has nothing to rename. Everything else is decided here, on the
// object store, reading only the trees that both sides changed.
package jgitmerge
