package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Config configures the Argo executor.
type Config struct {
	// REST reaches the Kubernetes API server (in-cluster or a kubeconfig).
	REST *rest.Config
	// Namespaces are the namespaces builds run in, which gated watches and
	// lists; empty means all namespaces (and needs cluster-wide RBAC).
	Namespaces []string
	// UIURL is the Argo UI, for links (<UIURL>/workflows/<ns>/<name>);
	// empty means no links.
	UIURL string
	// Policy holds every workflow to its limits.
	Policy Policy
	// Artifacts, if set, is the S3 store of Argo's artifact repository,
	// read for the artifact summary of finished builds.
	Artifacts *S3Config
	// Retention is how long the workflows of items that left their
	// pipeline are kept (see Forget); zero keeps them.
	Retention time.Duration
	// Log receives what gated does with workflows; nil means slog.Default.
	Log *slog.Logger
}

// S3Config is the S3-compatible store (MinIO) of Argo's artifact repository.
type S3Config struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	// Insecure means plain HTTP.
	Insecure bool
	// PublicURL, if set, is where people download objects: an artifact's
	// link is <PublicURL>/<key>. Without it links go through the Argo UI.
	PublicURL string
}

// Argo is the executor that runs builds as Argo Workflows. It keeps no
// state a restart would lose: the workflows themselves are the state.
type Argo struct {
	cfg  Config
	wf   wfclientset.Interface
	kube kubernetes.Interface // pods' logs
	s3   *minio.Client        // nil without Config.Artifacts
	log  *slog.Logger

	mu    sync.Mutex
	where map[string]string // workflow name → namespace, as seen
}

// Errors wrapped by the transient errors of Start, Cancel and Forget, for
// callers that explain why an item waits.
var (
	// ErrUnavailable: the Kubernetes API server could not be reached or
	// failed; the operation is retried.
	ErrUnavailable = errors.New("kubernetes API unavailable")
	// ErrQuotaExceeded: a ResourceQuota of the namespace refuses the
	// workflow; it is submitted when the quota allows.
	ErrQuotaExceeded = errors.New("quota exceeded")
)

// NewArgo returns the Argo executor. It does no I/O: an API server that is
// down shows in the first calls, as transient errors.
func NewArgo(cfg Config) (*Argo, error) {
	if cfg.REST == nil {
		return nil, fmt.Errorf("argo executor: no Kubernetes configuration")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("argo executor: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	rc := rest.CopyConfig(cfg.REST)
	rc.UserAgent = "gated"
	client, err := wfclientset.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("argo executor: %w", err)
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("argo executor: %w", err)
	}
	a := &Argo{cfg: cfg, wf: client, kube: kube, log: cfg.Log, where: map[string]string{}}
	if s := cfg.Artifacts; s != nil {
		a.s3, err = minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: !s.Insecure})
		if err != nil {
			return nil, fmt.Errorf("argo executor: artifact store %s: %w", s.Endpoint, err)
		}
	}
	return a, nil
}

// namespaces lists where to look for workflows.
func (a *Argo) namespaces() []string {
	if len(a.cfg.Namespaces) == 0 {
		return []string{metav1.NamespaceAll}
	}
	return a.cfg.Namespaces
}

// remember records where a workflow is, for Cancel by name.
func (a *Argo) remember(wf *wfv1.Workflow) {
	a.mu.Lock()
	a.where[wf.Name] = wf.Namespace
	a.mu.Unlock()
}

// locate finds the namespace of a gated workflow by name; "" if none.
func (a *Argo) locate(ctx context.Context, name string) (string, error) {
	a.mu.Lock()
	ns, ok := a.where[name]
	a.mu.Unlock()
	if ok {
		return ns, nil
	}
	for _, ns := range a.namespaces() {
		list, err := a.wf.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{
			LabelSelector: selector, FieldSelector: "metadata.name=" + name,
		})
		if err != nil {
			return "", apiError("find workflow "+name, err)
		}
		if len(list.Items) > 0 {
			a.remember(&list.Items[0])
			return list.Items[0].Namespace, nil
		}
	}
	return "", nil
}

// apiError wraps the error of a failed API call with what it means for the
// build: every such error is transient, and the caller retries.
func apiError(op string, err error) error {
	switch {
	case isQuota(err):
		return fmt.Errorf("%s: %w (the build waits until the namespace's quota allows it): %w", op, ErrQuotaExceeded, err)
	case isUnavailable(err):
		return fmt.Errorf("%s: %w (retried with backoff; the build waits): %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isQuota(err error) bool {
	return err != nil && strings.Contains(err.Error(), "exceeded quota")
}

// isUnavailable reports whether err means the API server did not answer
// or could not serve the request right now.
func isUnavailable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // no answer at all: connection refused, timeout, TLS
	}
	return apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}
