package scheduler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Labels gated puts on its workflows (DESIGN.md decision 4). Label values
// are restricted; the exact values are in the annotations of the same
// names.
const (
	LabelPipeline = "gated.dev/pipeline"
	LabelItem     = "gated.dev/item"
	LabelAttempt  = "gated.dev/attempt"
	LabelProject  = "gated.dev/project"
	LabelChange   = "gated.dev/change"
	// LabelForgotten marks the workflows of items that left their
	// pipeline; they are deleted after the retention period.
	LabelForgotten = "gated.dev/forgotten"
	// AnnotationRevision is the speculative commit the workflow builds.
	AnnotationRevision = "gated.dev/revision"
	// AnnotationPart is which of a bundle's builds the workflow is (absent
	// for the first, and for items that are not bundles).
	AnnotationPart = "gated.dev/part"
	// AnnotationForgottenAt is when the item left its pipeline (RFC 3339).
	AnnotationForgottenAt = "gated.dev/forgotten-at"

	// selector selects every workflow gated submitted.
	selector = LabelItem
)

// Parameters of the workflow contract (DESIGN.md decision 4).
const (
	ParamGitURL   = "gated-git-url"
	ParamRevision = "gated-revision"
	ParamProject  = "gated-project"
	ParamChange   = "gated-change"
	ParamPatchset = "gated-patchset"
	ParamPipeline = "gated-pipeline"
	ParamItem     = "gated-item"
	// ParamChanges is JSON: every project of the item's state → its
	// speculative commit.
	ParamChanges = "gated-changes"
	// ParamRef, ParamOldRev and ParamNewRev say what a build that is not a
	// change's builds: the ref, and the ref update's commits (empty for a
	// change, and the revisions for a timer's branch).
	ParamRef    = "gated-ref"
	ParamOldRev = "gated-oldrev"
	ParamNewRev = "gated-newrev"
)

// applyContract names the workflow, puts it in its namespace, labels it and
// fills the contract's parameters, overriding values the file may give.
func applyContract(wf *wfv1.Workflow, b Build) error {
	heads, err := json.Marshal(b.Heads)
	if err != nil {
		return err
	}
	wf.Name = b.Name()
	wf.GenerateName = ""
	wf.Namespace = b.Namespace
	wf.ResourceVersion, wf.UID = "", ""
	if wf.Labels == nil {
		wf.Labels = map[string]string{}
	}
	if wf.Annotations == nil {
		wf.Annotations = map[string]string{}
	}
	meta := map[string]string{
		LabelPipeline: b.Pipeline,
		LabelItem:     b.Item,
		LabelAttempt:  strconv.Itoa(b.Attempt),
		LabelProject:  b.Project,
		LabelChange:   strconv.Itoa(b.Change),
	}
	for k, v := range meta {
		wf.Labels[k] = labelValue(v)
		wf.Annotations[k] = v
	}
	wf.Annotations[AnnotationRevision] = b.Revision
	if b.Part > 0 {
		wf.Annotations[AnnotationPart] = strconv.Itoa(b.Part)
	}
	params := []struct{ name, value string }{
		{ParamGitURL, b.GitURL},
		{ParamRevision, b.Revision},
		{ParamProject, b.Project},
		{ParamChange, strconv.Itoa(b.Change)},
		{ParamPatchset, strconv.Itoa(b.Patchset)},
		{ParamPipeline, b.Pipeline},
		{ParamItem, b.Item},
		{ParamChanges, string(heads)},
		{ParamRef, b.Ref},
		{ParamOldRev, b.OldRev},
		{ParamNewRev, b.NewRev},
	}
	for _, p := range params {
		setParameter(&wf.Spec.Arguments, p.name, p.value)
	}
	return nil
}

func setParameter(args *wfv1.Arguments, name, value string) {
	for i := range args.Parameters {
		if args.Parameters[i].Name == name {
			args.Parameters[i].Value = wfv1.AnyStringPtr(value)
			args.Parameters[i].ValueFrom = nil
			args.Parameters[i].Default = nil
			args.Parameters[i].Enum = nil
			return
		}
	}
	args.Parameters = append(args.Parameters, wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(value)})
}

var labelSafe = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
var labelUnsafe = regexp.MustCompile(`[^-A-Za-z0-9_.]+`)
var labelTrim = regexp.MustCompile(`^[^A-Za-z0-9]+|[^A-Za-z0-9]+$`)

// labelValue makes v a valid label value: v itself when it is one,
// otherwise a readable form with a hash of v, so that distinct values stay
// distinct.
func labelValue(v string) string {
	if len(v) <= 63 && labelSafe.MatchString(v) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:8]
	s := labelUnsafe.ReplaceAllString(v, "-")
	if len(s) > 50 {
		s = s[:50]
	}
	s = labelTrim.ReplaceAllString(s, "")
	if s == "" {
		return h
	}
	return s + "-" + h
}
