package devcluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Annotations on an Argo template's metadata (they land on its pod) that
// say what the fake kubelet and the emulated wait container do.
const (
	// AnnotationDuration is how long the pod runs, as a Go duration
	// ("200ms" if absent).
	AnnotationDuration = "devcluster.gated.dev/duration"
	// AnnotationExitCode is the main container's exit code ("0" if absent).
	AnnotationExitCode = "devcluster.gated.dev/exit-code"
	// AnnotationArtifact + name is the content of the output artifact
	// called name, uploaded as Argo's wait container would (a gzipped tar
	// of one file, at <archive key>/<name>.tgz).
	AnnotationArtifact = "devcluster.gated.dev/artifact."
	// AnnotationParameter + name is the value of the output parameter
	// called name.
	AnnotationParameter = "devcluster.gated.dev/parameter."
)

// startEmulator plays the part of Argo's wait container for finished pods
// of templates with outputs: it uploads their artifacts to the artifact
// repository and reports the outputs in a WorkflowTaskResult, without
// which the controller keeps such a node Running.
func (c *Cluster) startEmulator(ctx context.Context) error {
	kube, err := c.Kubernetes()
	if err != nil {
		return err
	}
	wf, err := c.Argo()
	if err != nil {
		return err
	}
	s3, err := c.NewS3Client()
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = common.LabelKeyWorkflow
	}))
	pods := factory.Core().V1().Pods().Informer()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := map[types.UID]bool{} // only touched by the informer's handler goroutine
	handle := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || done[pod.UID] || (pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed) {
			return
		}
		done[pod.UID] = true
		if err := reportOutputs(runCtx, pod, s3, wf.ArgoprojV1alpha1().WorkflowTaskResults(pod.Namespace).Create); err != nil {
			fmt.Fprintf(c.log, "devcluster: emulated wait container of pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
		}
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
	}); err != nil {
		cancel()
		return fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(runCtx.Done())
	c.mu.Lock()
	c.stopEmu = func() { cancel(); factory.Shutdown() }
	c.mu.Unlock()
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), pods.HasSynced) {
		return fmt.Errorf("watch pods: cache did not sync")
	}
	return nil
}

type createTaskResult func(context.Context, *wfv1.WorkflowTaskResult, metav1.CreateOptions) (*wfv1.WorkflowTaskResult, error)

// reportOutputs does what Argo's wait container does after the main
// container exits, for a template that declares outputs.
func reportOutputs(ctx context.Context, pod *corev1.Pod, s3 *minio.Client, create createTaskResult) error {
	tmpl, err := podTemplate(pod)
	if err != nil {
		return err
	}
	if tmpl == nil || !tmpl.Outputs.HasOutputs() {
		return nil
	}
	outputs := wfv1.Outputs{}
	for _, p := range tmpl.Outputs.Parameters {
		v := wfv1.AnyStringPtr(pod.Annotations[AnnotationParameter+p.Name])
		p.Value, p.ValueFrom = v, nil
		outputs.Parameters = append(outputs.Parameters, p)
	}
	for _, art := range tmpl.Outputs.Artifacts {
		loc := tmpl.ArchiveLocation
		if loc == nil || loc.S3 == nil {
			return fmt.Errorf("artifact %s: the template has no S3 archive location", art.Name)
		}
		content, ok := pod.Annotations[AnnotationArtifact+art.Name]
		if !ok && art.Optional {
			continue
		}
		if !ok {
			content = fmt.Sprintf("artifact %s of pod %s\n", art.Name, pod.Name)
		}
		data, err := tarGzip(path.Base(art.Path), []byte(content))
		if err != nil {
			return fmt.Errorf("artifact %s: %w", art.Name, err)
		}
		key := path.Join(loc.S3.Key, art.Name+".tgz")
		if _, err := s3.PutObject(ctx, loc.S3.Bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("artifact %s: upload to %s: %w", art.Name, key, err)
		}
		art.ArtifactLocation = wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: loc.S3.S3Bucket, Key: key}}
		outputs.Artifacts = append(outputs.Artifacts, art)
	}
	nodeID := pod.Annotations[common.AnnotationKeyNodeID]
	var owner []metav1.OwnerReference
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Workflow" {
			owner = append(owner, metav1.OwnerReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID})
		}
	}
	result := &wfv1.WorkflowTaskResult{
		ObjectMeta: metav1.ObjectMeta{
			Name:      nodeID,
			Namespace: pod.Namespace,
			Labels: map[string]string{
				common.LabelKeyWorkflow:               pod.Labels[common.LabelKeyWorkflow],
				common.LabelKeyReportOutputsCompleted: "true",
			},
			OwnerReferences: owner,
		},
		NodeResult: wfv1.NodeResult{Outputs: &outputs},
	}
	if _, err := create(ctx, result, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("report outputs of node %s: %w", nodeID, err)
	}
	return nil
}

// podTemplate decodes the template the controller passes to the pod's
// containers in ARGO_TEMPLATE; nil if there is none.
func podTemplate(pod *corev1.Pod) (*wfv1.Template, error) {
	containers := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, ctr := range containers {
		for _, env := range ctr.Env {
			if env.Name != common.EnvVarTemplate {
				continue
			}
			if env.Value == "" || strings.EqualFold(env.Value, common.EnvVarTemplateOffloaded) {
				return nil, fmt.Errorf("template of pod %s is offloaded; not emulated", pod.Name)
			}
			var tmpl wfv1.Template
			if err := json.Unmarshal([]byte(env.Value), &tmpl); err != nil {
				return nil, fmt.Errorf("decode template of pod %s: %w", pod.Name, err)
			}
			return &tmpl, nil
		}
	}
	return nil, nil
}

// tarGzip archives one file as Argo's default archive strategy does.
func tarGzip(name string, content []byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
