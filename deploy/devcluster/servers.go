package devcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

//go:embed kwok.yaml
var kwokConfig []byte

// writeConfig writes the files the servers read: the token file, the
// service-account signing key, a kubeconfig and kwok's configuration.
func (c *Cluster) writeConfig() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode service-account key: %w", err)
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: devcluster
  cluster:
    server: https://127.0.0.1:%d
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: devcluster
  context: {cluster: devcluster, user: admin, namespace: default}
current-context: devcluster
`, c.opts.Ports.APIServer, adminToken)
	files := map[string][]byte{
		"tokens.csv":     []byte(adminToken + `,admin,admin,"system:masters"` + "\n"),
		"sa.key":         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"kubeconfig":     []byte(kubeconfig),
		"kwok.yaml":      kwokConfig,
		"s3.credentials": []byte(c.s3.AccessKey + "\n" + c.s3.SecretKey + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(c.dir, name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	p := c.opts.Ports
	client := fmt.Sprintf("http://127.0.0.1:%d", p.Etcd)
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
	proc, err := c.spawn("etcd", []string{
		"--name=devcluster",
		"--data-dir=" + filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=devcluster=" + peer,
		"--unsafe-no-fsync", // test data: durability is not worth the latency
		"--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}
	return waitReady(ctx, proc, 30*time.Second, httpReady(http.DefaultClient, client+"/health", ""))
}

// StartAPIServer starts kube-apiserver on the cluster's port and data. Start
// calls it; tests call it again after StopAPIServer to simulate an API
// server restart.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	p := c.opts.Ports
	proc, err := c.spawn("kube-apiserver", []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(p.Etcd),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.APIServer),
		"--cert-dir=" + filepath.Join(c.dir, "apiserver-certs"), // self-signed, kept across restarts
		"--token-auth-file=" + filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=AlwaysAllow",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(c.dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(c.dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		// No controller manager creates ServiceAccounts or lifts the
		// not-ready taint of new nodes; PrepareNamespace creates the
		// default ServiceAccount instead.
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
		"--enable-priority-and-fairness=false",
		// Only loopback addresses exist; the endpoints of the kubernetes
		// service would be refused every 10 s.
		"--endpoint-reconciler-type=none",
		// Serve watches of workflows from etcd rather than the watch
		// cache, so that an etcd compaction (CompactEtcd) expires old
		// resource versions at once, as it does in a busy cluster.
		"--watch-cache-sizes=workflows.argoproj.io#0",
		"--profiling=false",
	}, nil)
	if err != nil {
		return err
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer insecure.CloseIdleConnections()
	return waitReady(ctx, proc, 60*time.Second, httpReady(insecure, fmt.Sprintf("https://127.0.0.1:%d/readyz", p.APIServer), adminToken))
}

// StopAPIServer stops kube-apiserver with SIGKILL, as a crash would; the
// other servers keep running and retry.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	p := c.procs["kube-apiserver"]
	delete(c.procs, "kube-apiserver")
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("stop kube-apiserver: not running")
	}
	return p.kill()
}

// CompactEtcd compacts etcd's history up to its current revision, through
// etcd's JSON gateway, after two writes of a key outside the API server's
// prefix: a watch from any resource version seen before the call then
// fails with "too old resource version" (410 Gone), as after a long
// disconnect. (Compacting exactly at a watcher's next revision would not
// expire it.)
func (c *Cluster) CompactEtcd(ctx context.Context) (revision int64, err error) {
	base := fmt.Sprintf("http://127.0.0.1:%d", c.opts.Ports.Etcd)
	for _, v := range []string{"1", "2"} {
		put := map[string]string{
			"key":   base64.StdEncoding.EncodeToString([]byte("/devcluster/compaction-marker")),
			"value": base64.StdEncoding.EncodeToString([]byte(v)),
		}
		if err := postJSON(ctx, base+"/v3/kv/put", put, nil); err != nil {
			return 0, fmt.Errorf("compact etcd: %w", err)
		}
	}
	var status struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if err := postJSON(ctx, base+"/v3/maintenance/status", struct{}{}, &status); err != nil {
		return 0, fmt.Errorf("compact etcd: %w", err)
	}
	rev, err := strconv.ParseInt(status.Header.Revision, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("compact etcd: revision %q: %w", status.Header.Revision, err)
	}
	req := map[string]any{"revision": rev, "physical": true}
	if err := postJSON(ctx, base+"/v3/kv/compaction", req, nil); err != nil {
		return 0, fmt.Errorf("compact etcd at revision %d: %w", rev, err)
	}
	return rev, nil
}

func postJSON(ctx context.Context, url string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func (c *Cluster) startMinio() error {
	p := c.opts.Ports
	_, err := c.spawn("minio", []string{
		"server", filepath.Join(c.dir, "s3"),
		"--address=127.0.0.1:" + strconv.Itoa(p.S3),
		"--console-address=127.0.0.1:" + strconv.Itoa(p.S3Console),
		"--quiet",
	}, []string{
		"MINIO_ROOT_USER=" + c.s3.AccessKey,
		"MINIO_ROOT_PASSWORD=" + c.s3.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	})
	return err
}

// startControllers starts Argo's workflow-controller, kube-scheduler and
// kwok, and waits for the node to be Ready.
func (c *Cluster) startControllers(ctx context.Context) error {
	kubeconfig := c.Kubeconfig()
	if _, err := c.spawn("workflow-controller", []string{
		"--kubeconfig=" + kubeconfig,
		"--namespace=" + ArgoNamespace, // where its ConfigMap is; it watches all namespaces
		"--executor-image=" + ExecutorImage,
		"--qps=100", "--burst=200",
	}, []string{
		"LEADER_ELECTION_DISABLE=true",
		// The default of 10 s adds up to 10 s to every workflow.
		"DEFAULT_REQUEUE_TIME=1s",
	}); err != nil {
		return err
	}
	if _, err := c.spawn("kube-scheduler", []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
	}, nil); err != nil {
		return err
	}
	proc, err := c.spawn("kwok", []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + filepath.Join(c.dir, "kwok.yaml"),
	}, nil)
	if err != nil {
		return err
	}
	return c.waitNode(ctx, proc)
}
