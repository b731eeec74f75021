package scheduler

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ValidNamespace says why a name cannot be a Kubernetes namespace (a
// DNS-1123 label: lower-case letters, digits and '-', at most 63, like
// gated-builds; never ../../etc), nil if it can. The configuration's
// validation calls it for every namespace builds run in.
func ValidNamespace(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a namespace name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}
