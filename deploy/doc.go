// Package deploy holds how to run gated: kustomize manifests for gated
// itself (a single-replica StatefulSet with a volume for its bbolt file, a
// Service, RBAC, configuration), a kustomization per project namespace
// (the RBAC gated and Argo's executor need there, and Argo's artifact
// repository in MinIO), an example project workflow and an example Gerrit
// webhooks.config. Its tests decode every manifest into its typed object.
// The development cluster for tests is in devcluster.
package deploy
