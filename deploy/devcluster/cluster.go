package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure a cluster.
type Options struct {
	// Binaries come from Build.
	Binaries Binaries
	// Dir holds the cluster's data, configuration and logs; empty means a
	// new temporary directory, removed by Stop.
	Dir string
	// Ports to listen on; zero fields mean free ports.
	Ports Ports
	// Log receives progress; nil means io.Discard.
	Log io.Writer
}

// S3 is the cluster's S3 store (a MinIO server).
type S3 struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	// Bucket is Argo's artifact repository, created at start.
	Bucket string
}

// Names of what Start creates.
const (
	// ArgoNamespace holds the controller's configuration.
	ArgoNamespace = "argo"
	// ArtifactSecret is the Secret (in each build namespace, see
	// PrepareNamespace) with the S3 keys of the artifact repository.
	ArtifactSecret = "devcluster-artifacts-s3"
	// NodeName is the one fake node.
	NodeName = "kwok-node-0"
	// KeyFormat is the artifact repository's key format.
	KeyFormat = "{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}"
	// ExecutorImage is the image Argo puts in pods; it is never pulled.
	ExecutorImage = "quay.io/argoproj/argoexec:" + ArgoVersion

	adminToken = "devcluster-admin-token"
)

// Cluster is a running development cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	opts    Options
	dir     string
	tempDir bool
	log     io.Writer
	s3      S3

	mu      sync.Mutex
	procs   map[string]*process
	stopEmu func()
}

// serverOrder is the order servers start in; they stop in reverse.
var serverOrder = []string{"etcd", "kube-apiserver", "minio", "workflow-controller", "kube-scheduler", "kwok"}

// Start starts a cluster and returns once a workflow can run: the API
// server answers, Argo's CRDs are established, the controller, the
// scheduler and kwok run, the node is Ready and the artifact bucket
// exists. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if !opts.Binaries.complete() {
		return nil, fmt.Errorf("start devcluster: binaries in %q are incomplete; run Build first", opts.Binaries.Dir)
	}
	c := &Cluster{opts: opts, dir: opts.Dir, log: opts.Log, procs: map[string]*process{}}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "gated-devcluster-")
		if err != nil {
			return nil, fmt.Errorf("start devcluster: %w", err)
		}
		c.dir, c.tempDir = d, true
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("start devcluster: %w", err)
	}
	// c, not a named result: the returns below set that to nil before
	// this runs.
	defer func() {
		if err != nil {
			err = fmt.Errorf("start devcluster (logs in %s): %w", c.dir, err)
			if serr := c.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}
	}()
	if err := c.opts.Ports.fill(); err != nil {
		return nil, err
	}
	p := c.opts.Ports
	c.s3 = S3{Endpoint: "127.0.0.1:" + strconv.Itoa(p.S3), AccessKey: "devcluster", SecretKey: "devcluster-secret", Bucket: "gated-artifacts"}
	start := time.Now()
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	if err := c.startMinio(); err != nil { // starts in the background; checked below
		return nil, err
	}
	if err := c.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx); err != nil {
		return nil, err
	}
	if err := c.waitMinio(ctx); err != nil {
		return nil, err
	}
	if err := c.startControllers(ctx); err != nil {
		return nil, err
	}
	if err := c.startEmulator(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.log, "devcluster: ready in %s: API server https://127.0.0.1:%d, S3 http://%s (files in %s)\n",
		time.Since(start).Round(100*time.Millisecond), p.APIServer, c.s3.Endpoint, c.dir)
	return c, nil
}

// RESTConfig returns a configuration for the cluster's administrator.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(c.opts.Ports.APIServer),
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
	}
}

// Kubeconfig is the path of a kubeconfig file for the administrator.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.dir, "kubeconfig") }

// Dir is the cluster's directory (data, configuration, logs).
func (c *Cluster) Dir() string { return c.dir }

// S3 describes the cluster's S3 store.
func (c *Cluster) S3() S3 { return c.s3 }

// Kubernetes returns a client of the core API.
func (c *Cluster) Kubernetes() (kubernetes.Interface, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}

// Argo returns a client of Argo's API.
func (c *Cluster) Argo() (wfclientset.Interface, error) {
	cs, err := wfclientset.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("argo client: %w", err)
	}
	return cs, nil
}

// Stop stops every server by PID (SIGTERM, then SIGKILL after a grace
// period) and removes the cluster's directory if Start created it. It is
// safe to call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	stopEmu := c.stopEmu
	c.stopEmu = nil
	c.mu.Unlock()
	if stopEmu != nil {
		stopEmu()
	}
	var errs []error
	for i := len(serverOrder) - 1; i >= 0; i-- {
		if err := c.stopServer(serverOrder[i], 10*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if c.tempDir && len(errs) == 0 {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
		}
	}
	return errors.Join(errs...)
}

// Logs returns the last lines of every server's output, for a test or a
// start that failed.
func (c *Cluster) Logs(lines int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, name := range serverOrder {
		if p := c.procs[name]; p != nil {
			fmt.Fprintf(&b, "==== %s (pid %d, %s)\n%s", name, p.cmd.Process.Pid, p.log, p.tail(lines))
		}
	}
	return b.String()
}

// PIDs returns the process id of every running server, by name.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := map[string]int{}
	for name, p := range c.procs {
		if done, _ := p.exited(); !done {
			pids[name] = p.cmd.Process.Pid
		}
	}
	return pids
}

func (c *Cluster) stopServer(name string, grace time.Duration) error {
	c.mu.Lock()
	p := c.procs[name]
	delete(c.procs, name)
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(grace)
}

// spawn starts a server and records it for Stop.
func (c *Cluster) spawn(name string, args, env []string) (*process, error) {
	p, err := startProcess(name, c.opts.Binaries.Path(name), args, env, filepath.Join(c.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs[name] = p
	c.mu.Unlock()
	fmt.Fprintf(c.log, "devcluster: started %s (pid %d)\n", name, p.cmd.Process.Pid)
	return p, nil
}

// waitReady polls ready until it returns nil, failing early if p exits.
func waitReady(ctx context.Context, p *process, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if done, werr := p.exited(); done {
			return fmt.Errorf("%s exited (%v) before it was ready; last output:\n%s", p.name, werr, p.tail(30))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w; last output:\n%s", p.name, timeout, err, p.tail(30))
		case <-tick.C:
		}
	}
}

// httpReady is a readiness check for an HTTP endpoint answering 200.
func httpReady(client *http.Client, url, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		return nil
	}
}
