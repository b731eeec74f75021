package devcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions of what the cluster runs. They must match the wrapper modules
// under tools/ (the build fails loudly otherwise: the ldflags name them).
const (
	KubernetesVersion = "v1.34.3"
	ArgoVersion       = "v3.7.18"
)

// Binaries is a directory of built tools: bin/ holds the executables and
// crds/ Argo's CustomResourceDefinitions, copied from the argo-workflows
// module.
type Binaries struct {
	Dir string
}

// Path returns the path of the executable called name.
func (b Binaries) Path(name string) string { return filepath.Join(b.Dir, "bin", name) }

// CRDDir is the directory of Argo's CRD manifests.
func (b Binaries) CRDDir() string { return filepath.Join(b.Dir, "crds") }

// BuildOptions says where to cache the binaries and where to print progress.
type BuildOptions struct {
	// CacheDir holds one directory per cache key; empty means DefaultCacheDir.
	CacheDir string
	// Log receives progress and the output of every go command (build errors
	// included); nil means os.Stderr.
	Log io.Writer
}

// DefaultCacheDir is $GATED_DEVCLUSTER_CACHE if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/gated/devcluster.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("GATED_DEVCLUSTER_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory (set GATED_DEVCLUSTER_CACHE): %w", err)
	}
	return filepath.Join(base, "gated", "devcluster"), nil
}

// tool is one wrapper module and the commands built from it.
type tool struct {
	module   string   // directory under tools/
	packages []string // main packages, built into bin/ under their last element's name
	ldflags  string
	about    string
}

func toolList() []tool {
	return []tool{
		{
			module:   "kubernetes",
			packages: []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-scheduler", "./cmd/etcd"},
			// Without these the server reports v0.0.0-master and clients
			// cannot parse its version.
			ldflags: "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
				" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34" +
				" -X k8s.io/client-go/pkg/version.gitVersion=" + KubernetesVersion,
			about: "kube-apiserver, kube-scheduler (k8s.io/kubernetes " + KubernetesVersion + "), etcd (go.etcd.io/etcd/server/v3)",
		},
		{
			module:   "argo",
			packages: []string{"github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"},
			ldflags:  "-X github.com/argoproj/argo-workflows/v3.version=" + ArgoVersion,
			about:    "workflow-controller (github.com/argoproj/argo-workflows/v3 " + ArgoVersion + ")",
		},
		{module: "kwok", packages: []string{"sigs.k8s.io/kwok/cmd/kwok"}, about: "kwok (sigs.k8s.io/kwok)"},
		{module: "minio", packages: []string{"github.com/minio/minio"}, about: "minio (github.com/minio/minio)"},
	}
}

// binaryNames lists every executable Build produces.
func binaryNames() []string {
	var names []string
	for _, t := range toolList() {
		for _, p := range t.packages {
			names = append(names, filepath.Base(p))
		}
	}
	return names
}

// Build returns the cached binaries for the current wrapper modules and Go
// toolchain, building them first if they are missing. Concurrent callers
// (test binaries of several packages) wait for one build. A cold build takes
// about ten minutes on two cores; a warm one returns at once.
func Build(ctx context.Context, opts BuildOptions) (Binaries, error) {
	logw := opts.Log
	if logw == nil {
		logw = os.Stderr
	}
	root := opts.CacheDir
	if root == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return Binaries{}, err
		}
		root = d
	}
	src, err := toolsDir()
	if err != nil {
		return Binaries{}, err
	}
	key, err := cacheKey(ctx, src)
	if err != nil {
		return Binaries{}, err
	}
	bins := Binaries{Dir: filepath.Join(root, key)}
	if bins.complete() {
		return bins, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, key+".lock"), logw)
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	if bins.complete() { // built by another process while we waited
		return bins, nil
	}
	fmt.Fprintf(logw, "devcluster: building the cluster's binaries into %s (cold: about 10 minutes on 2 cores)\n", bins.Dir)
	partial := bins.Dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return Binaries{}, fmt.Errorf("remove partial build: %w", err)
	}
	if err := buildInto(ctx, src, partial, logw); err != nil {
		return Binaries{}, err
	}
	if err := os.RemoveAll(bins.Dir); err != nil {
		return Binaries{}, fmt.Errorf("remove stale build: %w", err)
	}
	if err := os.Rename(partial, bins.Dir); err != nil {
		return Binaries{}, fmt.Errorf("install build: %w", err)
	}
	return bins, nil
}

func buildInto(ctx context.Context, src, dir string, logw io.Writer) error {
	binDir := filepath.Join(dir, "bin") + string(filepath.Separator)
	for _, t := range toolList() {
		start := time.Now()
		fmt.Fprintf(logw, "devcluster: building %s\n", t.about)
		args := []string{"build", "-buildvcs=false", "-o", binDir}
		if t.ldflags != "" {
			args = append(args, "-ldflags", t.ldflags)
		}
		args = append(args, t.packages...)
		if err := goCommand(ctx, filepath.Join(src, t.module), logw, args...); err != nil {
			return fmt.Errorf("build %s: %w", t.about, err)
		}
		fmt.Fprintf(logw, "devcluster: built %s in %s\n", t.about, time.Since(start).Round(time.Second))
	}
	if err := copyCRDs(ctx, filepath.Join(src, "argo"), filepath.Join(dir, "crds")); err != nil {
		return err
	}
	stamp := fmt.Sprintf("kubernetes %s\nargo %s\nbuilt %s\n", KubernetesVersion, ArgoVersion, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(stamp), 0o644); err != nil {
		return fmt.Errorf("write build stamp: %w", err)
	}
	return nil
}

// copyCRDs copies Argo's minimal CRDs (schemaless, as Argo's quick-start
// installs them) from the argo-workflows module the controller was built
// from.
func copyCRDs(ctx context.Context, argoModule, dst string) error {
	var out strings.Builder
	if err := goCommand(ctx, argoModule, &out, "mod", "download", "-json", "github.com/argoproj/argo-workflows/v3"); err != nil {
		return fmt.Errorf("locate argo-workflows module: %w\n%s", err, out.String())
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(out.String()), &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("locate argo-workflows module: unexpected go mod download output %q", out.String())
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "manifests", "base", "crds", "minimal", "argoproj.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs under %s/manifests/base/crds/minimal", mod.Dir)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("create CRD directory: %w", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read CRD: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o644); err != nil {
			return fmt.Errorf("write CRD: %w", err)
		}
	}
	return nil
}

func (b Binaries) complete() bool {
	if _, err := os.Stat(filepath.Join(b.Dir, "ready")); err != nil {
		return false
	}
	for _, name := range binaryNames() {
		if _, err := os.Stat(b.Path(name)); err != nil {
			return false
		}
	}
	return true
}

// goCommand runs the go tool in dir, outside any workspace, with its output
// copied to out.
func goCommand(ctx context.Context, dir string, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s (in %s): %w", strings.Join(args, " "), dir, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, waiting for other holders
// (checking twice a second, so that a cancelled ctx is honoured).
func lockFile(ctx context.Context, path string, logw io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for waited := false; ; waited = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited {
			fmt.Fprintf(logw, "devcluster: another process is building the binaries; waiting for it (%s)\n", path)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for build lock: %w", ctx.Err())
		}
	}
}
