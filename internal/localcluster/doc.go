// Package localcluster runs a throwaway Kubernetes control plane (etcd,
// kube-apiserver and kube-controller-manager) as local processes.
//
// Bulkhead's integration tests and `make demo` need a real API server:
// admission, RBAC, ServiceAccount tokens and garbage collection behave in
// ways a fake clientset cannot reproduce. Docker (and therefore kind) is not
// available on our build machines, so instead we run the upstream binaries
// built by hack/build-control-plane.sh directly, bound to 127.0.0.1 on free
// ports, with certificates generated in Go for every cluster.
//
// There is no kubelet and no scheduler: pods are stored but never run. The
// controller manager only runs the controllers that make API objects behave
// (service accounts and their tokens, namespace deletion, garbage collection,
// resource quota, ClusterRole aggregation).
package localcluster
