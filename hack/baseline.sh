#!/usr/bin/env bash
# Regenerates internal/audit/baseline/rbac-defaults.json: the bootstrap RBAC
# policy a fresh API server creates (the objects labelled
# kubernetes.io/bootstrapping=rbac-defaults), which audit treats as the
# baseline rather than as findings. Run against a fresh local control plane of
# the version in hack/build-control-plane.sh:
#   go run ./hack/cluster up && KUBECONFIG=.local/admin.kubeconfig hack/baseline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=internal/audit/baseline/rbac-defaults.json
version=$(grep -o "gitVersion=v[0-9.]*" hack/build-control-plane.sh | cut -d= -f2)  # the binaries may report v0.0.0-master
{
  kubectl get clusterroles,clusterrolebindings -l kubernetes.io/bootstrapping=rbac-defaults -o json
  kubectl get roles,rolebindings -A -l kubernetes.io/bootstrapping=rbac-defaults -o json
} | jq -s --arg version "$version" '{
  version: $version,
  items: [.[].items[] | {kind, name: .metadata.name, namespace: (.metadata.namespace // ""), labels: .metadata.labels,
          rules, aggregationRule, roleRef, subjects}
          | with_entries(select(.value != null))] | sort_by(.kind, .namespace, .name)
}' > "$out"
echo "wrote $out ($(jq '.items | length' "$out") objects, $version)" >&2
