//go:build tools

// Package tools pins the control-plane binaries bulkhead's tests and demo run:
// etcd, kube-apiserver and kube-controller-manager, built from the Go module
// proxy (no prebuilt downloads are reachable on our machines).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
