// Package devcluster runs a real Kubernetes control plane with Argo's
// workflow-controller on 127.0.0.1, for gated's integration tests and for
// local development, without Docker: etcd, kube-apiserver, kube-scheduler,
// kwok (a fake kubelet that moves pods through their phases), Argo's
// workflow-controller at the version gated uses, and a MinIO server as
// Argo's artifact repository.
//
// Every binary is built from its Go module by a wrapper module under tools/
// (never from gated's own go.mod) and cached under a directory keyed by the
// wrapper modules and the Go toolchain, so a cluster starts in seconds once
// the cache is warm. Processes are started on free loopback ports and
// stopped by PID; they die with the process that started them.
//
// kwok runs no containers, so the cluster plays two parts of a kubelet and
// Argo's executor itself: pods finish after the duration and with the exit
// code their annotations ask for (AnnotationDuration, AnnotationExitCode),
// and the outputs Argo's wait container would upload and report (artifacts
// to S3, output parameters) are produced from annotations too (see
// AnnotationArtifact). The controller, the API server and the S3 store are
// the real ones.
package devcluster
