package scheduler

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// ArtifactKeyPrefix is the build's own part of the artifact repository:
// the repository's keyFormat puts every output there
// ({{workflow.namespace}}/{{workflow.name}}/{{pod.name}}, see
// deploy/projects/example), and an artifact that names its key must keep
// it there.
const ArtifactKeyPrefix = "{{workflow.namespace}}/{{workflow.name}}/"

// keyVariables are what a key may compute at run time: names of this
// build's own workflow and pods, never a parameter or a step's output.
var keyVariables = regexp.MustCompile(`\{\{\s*(workflow\.name|workflow\.namespace|workflow\.uid|pod\.name)\s*\}\}`)

// ownKey reports whether an artifact key stays in the build's own prefix.
func ownKey(key string) bool {
	rest, ok := strings.CutPrefix(key, ArtifactKeyPrefix)
	if !ok || strings.Contains(keyVariables.ReplaceAllString(rest, "x"), "{{") {
		return false
	}
	return !slices.Contains(strings.Split(rest, "/"), "..")
}

// untrustedDrivers are the artifact drivers an untrusted workflow may use:
// fetching sources (git, http), literal content (raw), and S3 in the
// artifact repository, which gated's artifact summary reads.
var untrustedDrivers = []string{"s3", "git", "http", "raw"}

// checkLocation applies the artifact rules to an artifact's location (or
// a template's archive location). Argo completes a location that is not
// whole (an S3 key without an endpoint and bucket) from the artifact
// repository, keeping the key as written: that key must stay under the
// build's own prefix, or a build would read or overwrite other builds'
// artifacts, which gated links in its reports. An untrusted workflow uses
// the repository only: no other driver, bucket, endpoint or credentials.
func (c *policyCheck) checkLocation(path string, loc *wfv1.ArtifactLocation) {
	v := reflect.ValueOf(loc).Elem()
	for i := range v.NumField() {
		name, _ := jsonName(v.Type().Field(i))
		if name == "archiveLogs" || v.Field(i).IsNil() {
			continue
		}
		if !c.trusted && !slices.Contains(untrustedDrivers, name) {
			c.violate(path+"."+name, fmt.Sprintf(ruleArtifactDriver, name))
		}
		if name == "s3" && !c.trusted {
			c.checkKeyOnly(path+".s3", &loc.S3.S3Bucket)
		}
		if loc.HasLocation() {
			continue
		}
		if key, err := loc.GetKey(); err == nil && !ownKey(key) {
			c.violate(path+"."+name, fmt.Sprintf(ruleArtifactKey, ArtifactKeyPrefix, key))
		}
	}
}

// checkKeyOnly refuses every field of an S3 location but the key.
func (c *policyCheck) checkKeyOnly(path string, b *wfv1.S3Bucket) {
	v := reflect.ValueOf(b).Elem()
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			name, _ := jsonName(v.Type().Field(i))
			c.violate(path+"."+name, fmt.Sprintf(ruleArtifactS3, name))
		}
	}
}

// onlyArchiveLogs reports whether an archive location says no more than
// whether to archive logs (where is the repository's).
func onlyArchiveLogs(loc *wfv1.ArtifactLocation) bool {
	return loc == nil || *loc == (wfv1.ArtifactLocation{ArchiveLogs: loc.ArchiveLogs})
}
