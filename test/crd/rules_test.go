package crd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// TestSharedIdentitiesAreRefused keeps the CRD's list of shared identities
// in step with v1alpha1.SharedIdentities and SharedIdentityPrefixes.
func TestSharedIdentitiesAreRefused(t *testing.T) {
	e := needCluster(t)
	names := append([]string{}, v1alpha1.SharedIdentities...)
	for _, p := range v1alpha1.SharedIdentityPrefixes {
		names = append(names, p+"team-a")
	}
	for _, kind := range []string{"User", "Group"} {
		for _, name := range names {
			if !v1alpha1.IsSharedIdentity(name) {
				t.Fatalf("test bug: %q is not shared", name)
			}
			got := e.sendTenant(t, "shared", "  members:\n  - {kind: "+kind+", name: \""+name+"\"}\n")
			if got.refused == nil || !strings.Contains(got.refused.Error(), "is an identity Kubernetes shares") {
				t.Errorf("%s %q: want refused as a shared identity, got %v", kind, name, got.refused)
			}
		}
	}
}

// TestRulesAcceptWhatTheCLIAccepts guards against rules that refuse too
// much: each spec here passes the CLI's validation.
func TestRulesAcceptWhatTheCLIAccepts(t *testing.T) {
	e := needCluster(t)
	for name, spec := range map[string]string{
		"same-name-two-kinds": "  members:\n  - {kind: User, name: dana}\n  - {kind: Group, name: dana}\n  - {name: dana}\n",
		"similar-identity":    "  members:\n  - {kind: Group, name: \"system:nodes-team\"}\n  - {kind: User, name: \"oidc:system:masters\"}\n",
		"admin-sa-235":        "  members:\n  - {role: admin, name: " + strings.Repeat("a", 235) + "}\n",
		"empty-namespace":     "  namespace: \"\"\n",
		"quantities":          "  quota: {gpus: 0, cpu: 500m, memory: 1e9, pods: \"1k\", storage: 1Ei}\n  limits: {max: {memory: 64Gi, nvidia.com/gpu: 2}}\n",
		"ttl-bounds":          "  credentials: {maxTokenTTL: 10m}\n",
		"ipv6":                "  network: {egress: restricted, egressCIDRs: [\"fd00::/8\", 10.0.0.0/8]}\n",
		"open-and-egress":     "  network: {mode: open, egress: open}\n",
		"inherited-egress":    "  defaults: lab\n  network: {egressCIDRs: [10.0.0.0/8]}\n",
		"deletion-delete":     "  deletionPolicy: Delete\n",
		"unlimited-gpus":      "  quota: {unlimitedGPUs: true, extendedResources: {nvidia.com/mig-1g.10gb: 100000}}\n",
		"gpus-at-max":         "  quota: {gpus: 10000}\n",
		"gpus-10k":            "  quota: {gpus: 10k}\n",
		"unlimited-false":     "  quota: {gpus: 2, unlimitedGPUs: false}\n",
		"non-ascii-user":      "  members:\n  - {kind: User, name: \"jos\u00e9@example.com\"}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got := e.sendTenant(t, name, spec); got.refused != nil {
				t.Errorf("refused: %v", got.refused)
			}
		})
	}
}

// TestRulesRefuse covers rules the fixtures do not reach.
func TestRulesRefuse(t *testing.T) {
	e := needCluster(t)
	for name, c := range map[string]struct{ spec, want string }{
		// resource.ParseQuantity takes practically forever on such exponents;
		// the rules refuse them before anything parses them.
		"huge-exponent":        {"  quota: {memory: \"1e-2147483647\"}\n", "exponent of at most three characters"},
		"huge-exponent-limit":  {"  limits: {max: {memory: \"1E2147483647\"}}\n", "an exponent has at most three characters"},
		"negative-limit":       {"  limits: {default: {cpu: \"-1\"}}\n", "values must not be negative"},
		"fractional-pods":      {"  quota: {pods: 1500m}\n", "must be a whole number"},
		"sa-236-admin":         {"  members:\n  - {role: admin, name: " + strings.Repeat("a", 236) + "}\n", "shorten the name to 235 characters or less"},
		"blank-user":           {"  members:\n  - {kind: User, name: \" dana\"}\n", "must not start or end with blanks"},
		"kube-namespace":       {"  namespace: kube-lab\n", `namespace "kube-lab" is reserved`},
		"unmasked-cidr":        {"  network: {egress: restricted, egressCIDRs: [10.20.1.0/16]}\n", "has address bits set beyond the prefix length"},
		"open-restricted":      {"  network: {mode: open, egress: restricted}\n", "egress cannot be restricted when the network mode is open"},
		"peer-without-ns":      {"  network: {allowFrom: [{podSelector: {matchLabels: {app: x}}}]}\n", "a peer needs namespace or namespaceSelector"},
		"gpu-twice":            {"  quota: {gpuResource: amd.com/gpu, extendedResources: {amd.com/gpu: 1}}\n", "amd.com/gpu is the GPU resource"},
		"gpu-twice-builtin":    {"  quota: {extendedResources: {nvidia.com/gpu: 1}}\n", "nvidia.com/gpu is the GPU resource (bulkhead's built-in default)"},
		"requests-prefix":      {"  quota: {gpuResource: requests.nvidia.com/gpu}\n", `without the "requests." prefix`},
		"ttl-negative":         {"  credentials: {maxTokenTTL: -1h}\n", "must be at least 10m"},
		"gpus-absurd-quoted":   {"  quota: {gpus: \"100000000000000000000000\"}\n", "must be at most 10000"},
		"gpus-above-max":       {"  quota: {gpus: \"10001\"}\n", "set unlimitedGPUs: true for no GPU cap"},
		"gpus-10k-suffix":      {"  quota: {gpus: 11k}\n", "must be at most 10000"},
		"gpus-fraction-quoted": {"  quota: {gpus: \"0.5\"}\n", "must be a whole number"},
		"unlimited-and-count":  {"  defaults: lab\n  quota: {gpus: 0, unlimitedGPUs: true}\n", "may not be set together with gpus"},
		"zero-width-group":     {"  members:\n  - {kind: Group, name: \"team\u200d\"}\n", "must not contain invisible formatting characters"},
	} {
		t.Run(name, func(t *testing.T) {
			got := e.sendTenant(t, name, c.spec)
			if got.refused == nil || !strings.Contains(got.refused.Error(), c.want) {
				t.Errorf("want refused with %q, got %v", c.want, got.refused)
			}
		})
	}
}

// TestKubectlApplyIsRefused applies an invalid Tenant with the real kubectl
// (client-side apply): the schema's message reaches the user as it is.
func TestKubectlApplyIsRefused(t *testing.T) {
	e := needCluster(t)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is needed on PATH: %v", err)
	}
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	spec := "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: intruder\nspec:\n  namespace: kube-system\n"
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "--kubeconfig", e.kubeconfig, "apply", "-f", file).CombinedOutput()
	if err == nil {
		t.Fatalf("kubectl apply succeeded:\n%s", out)
	}
	for _, want := range []string{`The Tenant "intruder" is invalid`, "spec.namespace: Forbidden", `namespace "kube-system" is reserved`, "choose another namespace"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubectl's output lacks %q:\n%s", want, out)
		}
	}
	// Nothing was stored.
	out, err = exec.Command(kubectl, "--kubeconfig", e.kubeconfig, "get", "tenants", "-o", "name").CombinedOutput()
	if err != nil || strings.Contains(string(out), "intruder") {
		t.Errorf("kubectl get tenants: %v\n%s", err, out)
	}
}
