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
cat >&2 <<MSG

The local control plane keeps running. Try it yourself:
  export KUBECONFIG=$KUBECONFIG
  kubectl --kubeconfig .local/bob.kubeconfig get pods
Stop it with: make cluster-down
MSG
