package daemon

import (
	"testing"

	"gated.dev/gated/storage"
)

// A stored build is served with its links: the Argo UI's page where the
// executor gave one, else gated's own; records written by the first gated
// (the change as an object, the executor's link as url) read the same.
func TestDecodeBuild(t *testing.T) {
	for _, tc := range []struct {
		name, data                string
		change, patchset          int
		url, page, argo, artifact string
		duration                  float64
	}{
		{"with the Argo UI",
			`{"pipeline":"gate","project":"org/a","change":7,"patchset":2,"result":"success","started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:01:30Z","duration_seconds":90,"workflow":"gated-gate-3-1","argo_url":"https://argo/workflows/gated/gated-gate-3-1","artifacts":[{"name":"report","url":"https://s3/report"}]}`,
			7, 2, "https://argo/workflows/gated/gated-gate-3-1", "https://gated/build/gated-gate-3-1", "https://argo/workflows/gated/gated-gate-3-1", "report", 90},
		{"without",
			`{"pipeline":"gate","project":"org/a","change":7,"patchset":2,"result":"failure","started":null,"finished":"2026-01-01T00:01:30Z","duration_seconds":null,"workflow":"gated-gate-3-1"}`,
			7, 2, "https://gated/build/gated-gate-3-1", "https://gated/build/gated-gate-3-1", "", "", -1},
		{"as the first gated wrote it",
			`{"pipeline":"gate","item":3,"attempt":1,"project":"org/a","change":{"project":"org/a","branch":"master","number":7,"patchset":2},"changes":[],"result":"success","url":"https://argo/wf","links":[{"name":"log","url":"https://s3/log"}],"started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:00:10Z"}`,
			7, 2, "https://argo/wf", "", "https://argo/wf", "log", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeBuild(storage.Build{ID: "00ff", Data: []byte(tc.data)}, "https://gated")
			if err != nil {
				t.Fatal(err)
			}
			if r.Change != tc.change || r.Patchset != tc.patchset || r.URL != tc.url || r.Page != tc.page || r.ArgoURL != tc.argo || r.ID != "00ff" {
				t.Fatalf("decoded %+v", r)
			}
			if tc.artifact != "" && (len(r.Artifacts) != 1 || r.Artifacts[0].Name != tc.artifact) {
				t.Fatalf("artifacts %+v", r.Artifacts)
			}
			if (tc.duration < 0) != (r.Duration == nil) || (r.Duration != nil && *r.Duration != tc.duration) {
				t.Fatalf("duration %v, want %v", r.Duration, tc.duration)
			}
		})
	}
}
