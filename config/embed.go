// Package config holds bulkhead's installation manifests, a kustomize tree in
// the kubebuilder layout (crd, rbac, manager, default), embedded so that
// `bulkhead install` carries exactly what `kubectl apply -k config/default`
// applies. It lives beside the manifests because go:embed cannot reach a
// parent directory.
package config

import "embed"

// FS is the kustomize tree; its root holds the directories crd, rbac,
// manager and default.
//
//go:embed crd rbac manager default
var FS embed.FS

// Default is the kustomization that installs everything.
const Default = "default"
