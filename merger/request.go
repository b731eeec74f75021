package merger

import (
	"fmt"
	"strings"
	"time"
)

// Gerrit's submit types, as its REST API spells them. They say how a change
// is integrated into its branch; the merger applies each change to a state
// exactly that way. An empty SubmitType means MergeIfNecessary, Gerrit's
// default.
const (
	MergeIfNecessary  = "MERGE_IF_NECESSARY"
	MergeAlways       = "MERGE_ALWAYS"
	FastForwardOnly   = "FAST_FORWARD_ONLY"
	RebaseIfNecessary = "REBASE_IF_NECESSARY"
	RebaseAlways      = "REBASE_ALWAYS"
	CherryPick        = "CHERRY_PICK"
)

// ChangeRef is one patchset of a Gerrit change, with what the merger needs
// to fetch and apply it.
type ChangeRef struct {
	Project string
	Branch  string
	Number  int
	// Patchset is the patchset number; Ref defaults to the patchset's ref
	// refs/changes/NN/Number/Patchset.
	Patchset int
	Ref      string
	// Revision is the patchset's commit. When it is already in the
	// repository cache the merger does not fetch; when given, the fetched
	// Ref must point at it.
	Revision string
	// SubmitType is the project's submit type; empty means
	// MergeIfNecessary.
	SubmitType string
}

// String formats the change as Gerrit users write it: "number,patchset".
func (c ChangeRef) String() string { return fmt.Sprintf("%d,%d", c.Number, c.Patchset) }

// GitRef is the ref the patchset is fetched from: Ref, or Gerrit's
// refs/changes/NN/N/P.
func (c ChangeRef) GitRef() string {
	if c.Ref != "" {
		return c.Ref
	}
	return fmt.Sprintf("refs/changes/%02d/%d/%d", c.Number%100, c.Number, c.Patchset)
}

func (c ChangeRef) submitType() string {
	if c.SubmitType == "" {
		return MergeIfNecessary
	}
	return c.SubmitType
}

// Request asks for one speculative state: every change applied, in order,
// onto its branch.
type Request struct {
	// Changes in merge order: every change ahead in the queue, then the
	// item's own. They may span projects; within one project they must
	// target one branch.
	Changes []ChangeRef
	// Bases optionally pins the commit each branch state starts from, by
	// BaseKey(project, branch); a branch without one starts from its tip,
	// fetched.
	Bases map[string]string
	// Ref is where each project's result is recorded (a ref under
	// refs/gated/, for example refs/gated/gate/17) until Forget.
	Ref string
	// Time is when the request is made: no commit the merger writes is
	// dated after it, should a change come from a clock ahead.
	Time time.Time
}

// Result is a speculative state.
type Result struct {
	// Heads maps each project of the request to its speculative commit.
	Heads map[string]string
	// Bases maps BaseKey(project, branch) to the branch commit the state
	// was built on.
	Bases map[string]string
}

// BaseKey is the key of Request.Bases and Result.Bases: project and branch
// joined by a NUL byte, which neither name may contain.
func BaseKey(project, branch string) string { return project + "\x00" + branch }

// RefPrefix is the namespace of the refs the merger records states under,
// the only refs besides branch heads that Handler serves.
const RefPrefix = "refs/gated/"

// validate checks what can be checked without a repository.
func (req *Request) validate() error {
	if err := checkStateRef(req.Ref); err != nil {
		return err
	}
	if req.Time.IsZero() {
		return fmt.Errorf("request for %s has no time", req.Ref)
	}
	branches := map[string]string{}
	for i, c := range req.Changes {
		if err := checkProject(c.Project); err != nil {
			return fmt.Errorf("changes[%d] (%s): %w", i, c, err)
		}
		if c.Branch == "" || strings.Contains(c.Branch, "\x00") {
			return fmt.Errorf("changes[%d] (%s): invalid branch %q", i, c, c.Branch)
		}
		if err := checkRefName("refs/heads/" + c.Branch); err != nil {
			return fmt.Errorf("changes[%d] (%s): branch: %w", i, c, err)
		}
		if err := checkRefName(c.GitRef()); err != nil {
			return fmt.Errorf("changes[%d] (%s): ref: %w", i, c, err)
		}
		if c.Revision != "" && !isHash(c.Revision) {
			return fmt.Errorf("changes[%d] (%s): revision %q is not a commit id", i, c, c.Revision)
		}
		switch c.submitType() {
		case MergeIfNecessary, MergeAlways, FastForwardOnly, RebaseIfNecessary, RebaseAlways, CherryPick:
		default:
			return fmt.Errorf("changes[%d] (%s): unknown submit type %q", i, c, c.SubmitType)
		}
		if b, ok := branches[c.Project]; ok && b != c.Branch {
			return &ConflictError{Change: c, Reason: fmt.Sprintf(
				"project %s has changes on branches %s and %s in one state; a state holds one branch per project",
				c.Project, b, c.Branch)}
		}
		branches[c.Project] = c.Branch
	}
	for k, sha := range req.Bases {
		if !isHash(sha) {
			return fmt.Errorf("base %q: %q is not a commit id", strings.ReplaceAll(k, "\x00", " "), sha)
		}
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
