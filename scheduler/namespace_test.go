package scheduler

import "testing"

func TestValidNamespace(t *testing.T) {
	for name, ok := range map[string]bool{
		"gated-builds": true, "b": true, "builds-2": true,
		"": false, "../../etc": false, "Builds": false, "-x": false, "x-": false, "a.b": false, "kube system": false,
		"a123456789012345678901234567890123456789012345678901234567890123": false,
	} {
		if err := ValidNamespace(name); (err == nil) != ok {
			t.Errorf("ValidNamespace(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
