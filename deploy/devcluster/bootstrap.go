package devcluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// bootstrap installs what the controllers need: Argo's CRDs, the argo
// namespace with the controller's ConfigMap, and the fake node.
func (c *Cluster) bootstrap(ctx context.Context) error {
	kube, err := c.Kubernetes()
	if err != nil {
		return err
	}
	if err := c.installCRDs(ctx); err != nil {
		return err
	}
	if err := c.PrepareNamespace(ctx, ArgoNamespace); err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "workflow-controller-configmap", Namespace: ArgoNamespace},
		Data:       map[string]string{"config": c.controllerConfig()},
	}
	if _, err := kube.CoreV1().ConfigMaps(ArgoNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create controller ConfigMap: %w", err)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "type": "kwok"},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("2000")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("2000")},
		},
	}
	if _, err := kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node: %w", err)
	}
	return nil
}

// controllerConfig is the workflow-controller's configuration: the MinIO
// artifact repository, and no metrics or telemetry servers (they would
// listen on fixed ports).
func (c *Cluster) controllerConfig() string {
	return fmt.Sprintf(`artifactRepository:
  archiveLogs: false
  s3:
    bucket: %s
    endpoint: %s
    insecure: true
    accessKeySecret: {name: %s, key: accesskey}
    secretKeySecret: {name: %s, key: secretkey}
    keyFormat: %q
metricsConfig:
  enabled: false
telemetryConfig:
  enabled: false
`, c.s3.Bucket, c.s3.Endpoint, ArtifactSecret, ArtifactSecret, KeyFormat)
}

// installCRDs creates Argo's CRDs and waits until each serves its resource.
func (c *Cluster) installCRDs(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(c.opts.Binaries.CRDDir(), "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no Argo CRDs in %s", c.opts.Binaries.CRDDir())
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var served []schema.GroupVersionResource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read CRD: %w", err)
		}
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return fmt.Errorf("decode CRD %s: %w", f, err)
		}
		if _, err := dyn.Resource(crdGVR).Create(ctx, &obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", obj.GetName(), err)
		}
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "plural")
		served = append(served, schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: plural})
	}
	return waitFor(ctx, 30*time.Second, "Argo CRDs established", func(ctx context.Context) error {
		for _, gvr := range served {
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				return fmt.Errorf("list %s: %w", gvr.Resource, err)
			}
		}
		return nil
	})
}

// PrepareNamespace creates a namespace for builds, as an administrator
// would: the namespace, its default ServiceAccount (no controller manager
// creates it) and the Secret with the artifact repository's keys.
func (c *Cluster) PrepareNamespace(ctx context.Context, name string) error {
	kube, err := c.Kubernetes()
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := kube.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create default ServiceAccount in %s: %w", name, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ArtifactSecret, Namespace: name},
		StringData: map[string]string{"accesskey": c.s3.AccessKey, "secretkey": c.s3.SecretKey},
	}
	if _, err := kube.CoreV1().Secrets(name).Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create artifact Secret in %s: %w", name, err)
	}
	return nil
}

// NewS3Client returns a client of the cluster's S3 store.
func (c *Cluster) NewS3Client() (*minio.Client, error) {
	cl, err := minio.New(c.s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(c.s3.AccessKey, c.s3.SecretKey, ""), Secure: false})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	return cl, nil
}

// waitMinio waits for MinIO to be ready and creates the artifact bucket.
func (c *Cluster) waitMinio(ctx context.Context) error {
	c.mu.Lock()
	proc := c.procs["minio"]
	c.mu.Unlock()
	if err := waitReady(ctx, proc, 60*time.Second, httpReady(http.DefaultClient, "http://"+c.s3.Endpoint+"/minio/health/ready", "")); err != nil {
		return err
	}
	s3, err := c.NewS3Client()
	if err != nil {
		return err
	}
	if err := s3.MakeBucket(ctx, c.s3.Bucket, minio.MakeBucketOptions{}); err != nil {
		if exists, eerr := s3.BucketExists(ctx, c.s3.Bucket); eerr != nil || !exists {
			return fmt.Errorf("create bucket %s: %w", c.s3.Bucket, err)
		}
	}
	return nil
}

// waitNode waits for kwok to report the node Ready.
func (c *Cluster) waitNode(ctx context.Context, kwok *process) error {
	kube, err := c.Kubernetes()
	if err != nil {
		return err
	}
	return waitReady(ctx, kwok, 60*time.Second, func(ctx context.Context) error {
		n, err := kube.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", NodeName)
	})
}

// waitFor polls check until it returns nil or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, err)
		case <-tick.C:
		}
	}
}
