package gerrittest

// commitMsgHook is served at /tools/hooks/commit-msg, where git-review and
// people fetch Gerrit's hook: it adds a Change-Id footer to a commit message
// that has none.
const commitMsgHook = `#!/bin/sh
# commit-msg hook of the gated Gerrit simulator: adds a Change-Id footer.
msg="$1"
if grep -q '^Change-Id: I[0-9a-f]\{40\}[[:space:]]*$' "$msg"; then
	exit 0
fi
# Nothing to do for an empty message: git aborts the commit.
if ! grep -v '^#' "$msg" | grep -q '[^[:space:]]'; then
	exit 0
fi
id=$( { git var GIT_COMMITTER_IDENT; git var GIT_AUTHOR_IDENT; cat "$msg"; date +%s%N; echo $$; } | git hash-object --stdin)
git interpret-trailers --in-place --if-exists doNothing --trailer "Change-Id: I$id" "$msg"
`
