package scheduler

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// recordingAPI stands in for the Kubernetes API server where a test needs
// to see every request gated makes before a submit, and the exact
// workflow it submits: it serves the templates it holds, takes workflows
// and records everything. (The real API server and Argo's controller are
// in the cluster tests.)
type recordingAPI struct {
	srv *httptest.Server

	mu        sync.Mutex
	requests  []string // "METHOD path"
	submitted [][]byte // bodies of workflow creations
	templates map[string][]byte
	forbidden map[string]bool
}

const apiPrefix = "/apis/argoproj.io/v1alpha1/"

// newRecordingAPI starts the recorder; templates are WorkflowTemplates and
// ClusterWorkflowTemplates as YAML, and forbidden the paths (under
// apiPrefix) it refuses with 403.
func newRecordingAPI(t testing.TB, templates []string, forbidden ...string) *recordingAPI {
	r := &recordingAPI{templates: map[string][]byte{}, forbidden: map[string]bool{}}
	for _, y := range templates {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		data, err := yaml.YAMLToJSON([]byte(y))
		if err == nil {
			err = json.Unmarshal(data, &obj)
		}
		if err != nil {
			t.Fatalf("template %s: %v", y, err)
		}
		path := "clusterworkflowtemplates/" + obj.Metadata.Name
		if obj.Kind == "WorkflowTemplate" {
			path = "namespaces/" + obj.Metadata.Namespace + "/workflowtemplates/" + obj.Metadata.Name
		}
		r.templates[path] = data
	}
	for _, f := range forbidden {
		r.forbidden[f] = true
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recordingAPI) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path)
	path := strings.TrimPrefix(req.URL.Path, apiPrefix)
	w.Header().Set("Content-Type", "application/json")
	status := func(err *apierrors.StatusError) {
		w.WriteHeader(int(err.ErrStatus.Code))
		json.NewEncoder(w).Encode(err.ErrStatus)
	}
	switch {
	case r.forbidden[path]:
		status(apierrors.NewForbidden(wfv1.Resource("clusterworkflowtemplates"), path, nil))
	case req.Method == http.MethodGet && r.templates[path] != nil:
		w.Write(r.templates[path])
	case req.Method == http.MethodGet:
		status(apierrors.NewNotFound(wfv1.Resource("workflowtemplates"), path))
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/workflows"):
		body, _ := io.ReadAll(req.Body)
		r.submitted = append(r.submitted, body)
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	default:
		status(apierrors.NewMethodNotSupported(wfv1.Resource("workflows"), req.Method))
	}
}

// argo is an executor talking to the recorder.
func (r *recordingAPI) argo(t testing.TB, p Policy) *Argo {
	a, err := NewArgo(Config{REST: &rest.Config{Host: r.srv.URL}, Policy: p, UIURL: "https://argo.example.com", Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// record returns the requests and submitted workflows so far.
func (r *recordingAPI) record() ([]string, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.requests...), append([][]byte{}, r.submitted...)
}
