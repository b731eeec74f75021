package scheduler

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary workflow files to the policy: it never
// panics, its verdict is a *DefinitionError or nothing, and checking the
// same file twice gives the same verdict (the walk and the pod checks are
// deterministic).
func FuzzCheck(f *testing.F) {
	for _, tc := range hostileCases {
		f.Add(strings.Replace(string(workflowYAML(tc.spec)), "metadata:\n", "metadata:\n"+tc.meta, 1), tc.trusted)
	}
	f.Fuzz(func(t *testing.T, file string, trusted bool) {
		refs, err := testPolicy.Check([]byte(file), "builds", trusted)
		var def *DefinitionError
		if err != nil && !errors.As(err, &def) {
			t.Fatalf("verdict %v is not a DefinitionError", err)
		}
		again, err2 := testPolicy.Check([]byte(file), "builds", trusted)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || len(refs) != len(again) {
			t.Fatalf("two checks disagree: %v / %v, %v / %v", err, err2, refs, again)
		}
	})
}
