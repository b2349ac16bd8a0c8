# bulkhead: two commands set everything up on a fresh machine.
#   make demo   build, start a local control plane, provision bob and alice, prove isolation
#   make test   unit and end-to-end tests with -race (the e2e tests start their own control plane)
#   make install  bulkhead and the kubectl plugin kubectl-bulkhead into $(INSTALL_DIR)

GO        ?= go
BIN       := bin/bulkhead
export BULKHEAD_BIN_DIR ?= $(CURDIR)/.cache/bin
KUBECONFIG_LOCAL := $(CURDIR)/.local/admin.kubeconfig
# Where go install puts binaries: $GOBIN, else the first GOPATH entry's bin.
INSTALL_DIR ?= $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)

.PHONY: generate check-generated all build install uninstall control-plane chromium test unit e2e demo cluster-up cluster-down fmt vet clean

all: build

build:
	$(GO) build -o $(BIN) .

# kubectl-bulkhead is a symlink, so `kubectl bulkhead ...` runs the same
# binary as a kubectl plugin (krew's naming: kubectl-NAME on the PATH).
install: build
	install -d $(DESTDIR)$(INSTALL_DIR)
	install -m 0755 $(BIN) $(DESTDIR)$(INSTALL_DIR)/bulkhead
	ln -sf bulkhead $(DESTDIR)$(INSTALL_DIR)/kubectl-bulkhead
	@echo "installed $(DESTDIR)$(INSTALL_DIR)/bulkhead and kubectl-bulkhead; $(INSTALL_DIR) must be on your PATH" >&2

uninstall:
	rm -f $(DESTDIR)$(INSTALL_DIR)/bulkhead $(DESTDIR)$(INSTALL_DIR)/kubectl-bulkhead

# etcd, kube-apiserver and kube-controller-manager, built from the Go module
# proxy only when missing (about 10 minutes cold).
control-plane:
	hack/build-control-plane.sh

# Every test runs under the race detector, and so does the bulkhead binary
# the e2e tests build in their TestMain: GOFLAGS reaches that `go build`
# through the environment. One exception: the runs at -v 9 use a binary built
# without it, because client-go's own debuggingRoundTripper races at -v 9
# (see test/e2e/main_test.go). `make test RACE=` runs without the detector.
RACE ?= -race
test: control-plane chromium vet check-generated
	GOFLAGS="$(strip $(GOFLAGS) $(RACE))" $(GO) test -count=1 -timeout 30m ./...

# Debian's chromium renders the audit's HTML report in a browser test.
chromium:
	@command -v chromium >/dev/null || { echo "installing chromium (apt-get)"; \
		$$(command -v sudo) apt-get install -y -q chromium >/dev/null || \
		{ $$(command -v sudo) apt-get update -q && $$(command -v sudo) apt-get install -y -q chromium; }; }

# DeepCopy methods and the CRDs come from the API types, the controller's
# ClusterRole from its +kubebuilder:rbac markers (controller-gen, pinned in
# go.mod as a tool). CI fails when they are stale.
CONTROLLER_GEN := $(GO) tool controller-gen
generate:
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=bulkhead-controller paths=./internal/controller/... output:rbac:dir=config/rbac

check-generated: generate
	@git diff --quiet --exit-code -- api config/crd config/rbac || { git --no-pager diff --stat -- api config/crd config/rbac; \
		echo "generated files are stale: run make generate and commit the result" >&2; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- api config/crd config/rbac)" || { \
		echo "generated files are not committed: $$(git ls-files --others --exclude-standard -- api config/crd config/rbac)" >&2; exit 1; }

unit:
	BULKHEAD_SKIP_E2E=1 $(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

cluster-up: control-plane
	$(GO) run ./hack/cluster up

cluster-down:
	$(GO) run ./hack/cluster down

demo: build control-plane
	hack/demo.sh

# bulkhead apply vs kubectl apply --server-side and raw creates, on a fresh local
# control plane the program starts and stops itself (~15 minutes at the default
# 1000 tenants, mostly kubectl). Quick run: make bench BENCH_FLAGS='-tenants 100 -skip-kubectl'
.PHONY: bench bench-apply bench-audit bench-controller
bench: bench-audit bench-apply bench-controller

bench-apply: build control-plane
	$(GO) run ./hack/bench $(BENCH_FLAGS)

# bulkhead controller vs bulkhead apply on the same tenants (each on a fresh
# local control plane), drift repair latency, and the controller's API
# requests, CPU and memory when nothing changes (~10 minutes at 1000 tenants).
# Quick run: make bench-controller BENCH_CONTROLLER_FLAGS='-tenants 100 -steady 30s'
bench-controller: build control-plane
	$(GO) run ./hack/bench-controller $(BENCH_CONTROLLER_FLAGS)

# audit and who-can on 5,000 namespaces / 50,000 RoleBindings, and the same
# questions as SubjectAccessReviews of a local API server (about 1 minute).
bench-audit: control-plane
	$(GO) run ./hack/bench-audit $(BENCH_AUDIT_FLAGS)

clean: cluster-down
	rm -rf bin .local
