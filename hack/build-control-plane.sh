#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the Go module
# proxy into $BULKHEAD_BIN_DIR (default .cache/bin), only when missing.
# Cold: ~10 minutes on 2 cores; cached: a few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BULKHEAD_BIN_DIR:-$root/.cache/bin}
mkdir -p "$out"
missing=()
for b in etcd kube-apiserver kube-controller-manager; do
  [ -x "$out/$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "control plane binaries present in $out" >&2
  exit 0
fi
echo "building ${missing[*]} into $out (about 10 minutes on a cold cache)..." >&2
cd "$root/hack/tools"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -trimpath -o "$tmp/" \
  go.etcd.io/etcd/server/v3 \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager
# go build names the etcd binary after its module's last element ("v3").
mv "$tmp/v3" "$out/etcd"
mv "$tmp/kube-apiserver" "$tmp/kube-controller-manager" "$out/"
echo "built: $(ls "$out" | tr '\n' ' ')" >&2
