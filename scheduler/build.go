package scheduler

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Build is one request to run a project's workflow on a speculative state.
type Build struct {
	Pipeline string
	// Item is the queue item's id, and Attempt the attempt of its state:
	// together they name the build, so that a build requested again after
	// a crash is found instead of started twice.
	Item    string
	Attempt int
	// Part tells apart the builds of one attempt of a bundle (a dependency
	// cycle built once per project it touches); 0 for other items.
	Part    int
	Project string
	// Change and Patchset are the item's own change.
	Change, Patchset int
	// Revision is the speculative commit of Project to build.
	Revision string
	// Heads maps every project of the speculative state to its commit (the
	// workflow parameter gated-changes).
	Heads map[string]string
	// Changes are the change numbers of the speculative state, in merge
	// order (the item's own last).
	Changes []int
	// GitURL is where the build fetches Revision (gated's read-only git
	// endpoint for Project).
	GitURL string
	// Workflow is the project's workflow definition read at Revision; nil
	// when the file does not exist.
	Workflow []byte
	// Namespace is where the build runs; Trusted projects may use what the
	// policy forbids to untrusted workflows.
	Namespace string
	Trusted   bool
	// Ref is set when the build is not a change's: the ref it builds
	// (refs/heads/master, refs/tags/v1.0); OldRev and NewRev are the ref
	// update's commits (empty for a timer's branch). Change is then the
	// change whose submit moved the ref, or 0.
	Ref, OldRev, NewRev string
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// Name is the build's deterministic name: a valid Kubernetes object name
// (DNS-1123 label) derived from the pipeline, item, attempt and part.
func (b Build) Name() string { return BuildName(b.Pipeline, b.Item, b.Attempt, b.Part) }

// BuildName is the name of the build of a pipeline's item at an attempt
// (and for a bundle, of one of its parts: "-p1", "-p2", ... after it).
func BuildName(pipeline, item string, attempt, part int) string {
	p := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(pipeline), "-"), "-")
	if len(p) > 30 {
		p = p[:30]
	}
	name := fmt.Sprintf("gated-%s-%s-%d", p, unsafeName.ReplaceAllString(item, ""), attempt)
	if part > 0 {
		name += fmt.Sprintf("-p%d", part)
	}
	return name
}

// Phase is where a build is.
type Phase string

// Build phases.
const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	// PhaseError is a build that could not run (infrastructure), as
	// opposed to one whose steps failed.
	PhaseError Phase = "Error"
)

// Done reports whether the phase is final.
func (p Phase) Done() bool { return p == PhaseSucceeded || p == PhaseFailed || p == PhaseError }

// Update is what an executor knows of a build.
type Update struct {
	Name      string
	Namespace string
	Pipeline  string
	Item      string
	Attempt   int
	Part      int
	Phase     Phase
	// Message says what happened; for a failed build it names the failing
	// step (FailedNode) and its message.
	Message    string
	FailedNode string
	// URL is the build's page (Argo UI).
	URL       string
	Artifacts []Artifact
	Started   time.Time
	Finished  time.Time
}

// Artifact is a named link to something a build produced.
type Artifact struct {
	Name string
	URL  string
	// Step is the display name of the step that produced it.
	Step string
	// Key is the object's key in the artifact bucket, and Size its size in
	// bytes as the store reports it (-1 when the store could not be read).
	Key  string
	Size int64
}

// Kinds of DefinitionError.
const (
	KindMissing    = "missing"    // the workflow file does not exist at the revision
	KindYAML       = "yaml"       // the file is not one valid YAML/JSON Workflow
	KindValidation = "validation" // Argo's validator or the API server refused it
	KindPolicy     = "policy"     // it breaks the policy for untrusted workflows
)

// DefinitionError is a problem with the workflow definition itself: the
// file is missing, is not valid YAML, fails Argo's validation, or breaks the
// policy for untrusted workflows. It is the change's fault and permanent:
// the build is never submitted, and the item fails with this report.
type DefinitionError struct {
	// Kind is KindMissing, KindYAML, KindValidation or KindPolicy.
	Kind string
	// Field and Rule name what a policy violation is about (the first one
	// when there are several; Violations has them all).
	Field, Rule string
	Message     string
	Violations  []Violation
}

// Violation is one breach of the policy: the field (a path into the
// Workflow, like spec.templates[0].container.securityContext.privileged)
// and the rule it breaks.
type Violation struct {
	Field, Rule string
}

func (e *DefinitionError) Error() string {
	switch {
	case e.Kind == KindPolicy && len(e.Violations) > 1:
		var b strings.Builder
		fmt.Fprintf(&b, "the workflow breaks %d rules of the policy for untrusted workflows:", len(e.Violations))
		for _, v := range e.Violations {
			fmt.Fprintf(&b, "\n- %s: %s", v.Field, v.Rule)
		}
		return b.String()
	case e.Kind == KindPolicy && e.Field != "":
		return fmt.Sprintf("workflow policy violation at %s: %s", e.Field, e.Rule)
	case e.Message != "":
		return e.Message
	}
	return "workflow definition error: " + e.Kind
}
