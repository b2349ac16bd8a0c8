#!/usr/bin/env bash
# make demo: start the local control plane, provision examples/researchers.yaml,
# issue bob's and alice's kubeconfigs, verify, and show kubectl as each researcher.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
export KUBECONFIG=$PWD/.local/admin.kubeconfig

step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }
run() { step "$@"; "$@"; }
# expect_fail shows a command that must be refused, and fails the demo if it is not.
expect_fail() { step "$@"; if "$@"; then echo "demo: expected this to be refused" >&2; exit 1; fi; }

go run ./hack/cluster up >/dev/null
run bin/bulkhead apply -f examples/researchers.yaml
run bin/bulkhead apply -f examples/researchers.yaml
run bin/bulkhead kubeconfig bob --ttl 24h -o .local/bob.kubeconfig --force
run bin/bulkhead kubeconfig alice --ttl 24h -o .local/alice.kubeconfig --force
run bin/bulkhead verify -f examples/researchers.yaml
run kubectl --kubeconfig .local/bob.kubeconfig get pods -n bob
expect_fail kubectl --kubeconfig .local/bob.kubeconfig get pods -n alice
run kubectl --kubeconfig .local/alice.kubeconfig get pods -n alice
run kubectl --kubeconfig .local/bob.kubeconfig get resourcequota bulkhead -n bob
expect_fail kubectl --kubeconfig .local/bob.kubeconfig delete resourcequota bulkhead -n bob
run bin/bulkhead plan -f examples/researchers.yaml
run bin/bulkhead audit --tenants bob,alice --live 100
run bin/bulkhead who-can delete resourcequotas -n bob
expect_fail bin/bulkhead audit -f internal/audit/testdata/procedure
run bin/bulkhead audit --tenants bob,alice -o html > .local/audit.html
echo "HTML report: .local/audit.html" >&2

# Controller mode: the CRDs, the controller as a process beside the cluster
# (the local control plane has no kubelet to run its Deployment), one Tenant
# object reconciled, a deleted RoleBinding put back.
run kubectl apply --server-side -f config/crd/bases/
run kubectl wait --for=condition=Established crd/tenants.bulkhead.dev
bin/bulkhead controller --metrics-bind-address=0 --health-probe-bind-address=0 2> .local/controller.log &
controller=$!
trap 'kill $controller 2>/dev/null' EXIT
step "kubectl apply -f - (Tenant carol)"
kubectl apply -f - <<'YAML'
apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: carol
spec:
  members:
  - {name: carol-user, role: edit}
YAML
run kubectl wait --for=condition=Ready tenant/carol --timeout=60s
run kubectl wait --for=condition=Verified tenant/carol --timeout=60s
run kubectl get tenants carol
run kubectl -n carol delete rolebinding bulkhead-edit-sa-carol-user
run kubectl -n carol wait --for=create rolebinding/bulkhead-edit-sa-carol-user --timeout=30s
run kubectl get events --field-selector involvedObject.name=carol,reason=DriftRepaired
run kubectl delete tenant carol
run kubectl get namespace carol --show-labels
kill $controller
cat >&2 <<MSG

The local control plane keeps running. Try it yourself:
  export KUBECONFIG=$KUBECONFIG
  kubectl --kubeconfig .local/bob.kubeconfig get pods
Stop it with: make cluster-down
MSG
