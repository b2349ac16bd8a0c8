package spec

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// defaultsHeader starts a TenantDefaults named lab; inheriting tenants name it.
const defaultsHeader = "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata: {name: lab}\n"

// inheriting is withSpec for a tenant that names the TenantDefaults lab.
func inheriting(name, spec string) string { return withSpec(name, "  defaults: lab\n"+spec) }

// withSpec is a tenant document named name with the given spec lines.
func withSpec(name, spec string) string {
	return minimal(name) + "spec:\n" + spec
}

// TestGuardrailRules covers the rules the invalid files do not, and what is
// explicitly allowed. Each case lists every problem it must produce, in
// order, as prefixes; none means the input is valid.
func TestGuardrailRules(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"privileged and open are explicit opt-outs", withSpec("a", "  podSecurity: privileged\n  network: {mode: open, egress: open}\n"), nil},
		{"open network drops inherited peers and egress",
			defaultsHeader + "spec:\n  network: {allowFrom: [{namespace: x}], egress: restricted, egressCIDRs: [10.0.0.0/8]}\n---\n" +
				inheriting("a", "  network: {mode: open}\n"), nil},
		{"open egress drops inherited CIDRs",
			defaultsHeader + "spec:\n  network: {egress: restricted, egressCIDRs: [10.0.0.0/8]}\n---\n" + inheriting("a", "  network: {egress: open}\n"), nil},
		{"peers need an open network's owner to allow them",
			defaultsHeader + "spec:\n  network: {mode: open}\n---\n" + inheriting("a", "  network:\n    allowFrom: [{namespace: x}]\n"),
			[]string{"in.yaml:14: spec.network.allowFrom: Forbidden: the network mode is open (set by the TenantDefaults at in.yaml:5)"}},
		{"restricted egress in an open network", withSpec("a", "  network:\n    mode: open\n    egress: restricted\n"),
			[]string{"in.yaml:8: spec.network.egress: Forbidden: egress cannot be restricted when the network mode is open"}},
		{"CIDRs with inherited open egress", withSpec("a", "  network:\n    egressCIDRs: [10.0.0.0/8]\n"),
			[]string{"in.yaml:7: spec.network.egressCIDRs: Forbidden: egressCIDRs only apply to restricted egress, and egress is open (bulkhead's built-in default)"}},
		{"CIDR with host bits", withSpec("a", "  network:\n    egress: restricted\n    egressCIDRs: [10.20.0.5/16]\n"),
			[]string{`in.yaml:8: spec.network.egressCIDRs[0]: Invalid value: "10.20.0.5/16": has address bits set beyond the prefix length; write it as 10.20.0.0/16`}},
		{"unknown egress", withSpec("a", "  network:\n    egress: closed\n    egressCIDRs: [10.0.0.0/8]\n"),
			[]string{`in.yaml:7: spec.network.egress: Unsupported value: "closed": supported values: "open", "restricted"`}},
		{"peer without namespace", withSpec("a", "  network:\n    allowFrom:\n    - podSelector: {matchLabels: {app: x}}\n"),
			[]string{"in.yaml:8: spec.network.allowFrom[0].namespace: Required value: a peer needs namespace or namespaceSelector"}},
		{"bad selector label", withSpec("a", "  network:\n    allowFrom:\n    - namespaceSelector:\n        matchLabels:\n          bad key: x\n"),
			[]string{`in.yaml:10: spec.network.allowFrom[0].namespaceSelector.matchLabels[bad key]: Invalid value: "bad key"`}},
		{"max below the built-in default limit", withSpec("a", "  limits:\n    max: {memory: 1Gi}\n"),
			[]string{`in.yaml:7: spec.limits.max[memory]: Invalid value: "1Gi": must not be less than the default limit, 2Gi (bulkhead's built-in default); ` +
				"raise it to 2Gi or more, or set spec.limits.default[memory] to 1Gi or less"}},
		{"default request above default limit", withSpec("a", "  limits:\n    defaultRequest: {memory: 4Gi}\n    default: {memory: 2Gi}\n"),
			[]string{`in.yaml:7: spec.limits.defaultRequest[memory]: Invalid value: "4Gi": must not be more than the default limit, 2Gi (spec.limits.default[memory])`}},
		{"a conflict of the defaults is reported once, on the defaults",
			defaultsHeader + "spec:\n  limits:\n    max: {memory: 1Gi}\n---\n" + inheriting("a", "") + "---\n" + inheriting("b", ""),
			[]string{`in.yaml:6: spec.limits.max[memory]: Invalid value: "1Gi": must not be less than the default limit, 2Gi (bulkhead's built-in default)`}},
		{"whole numbers", withSpec("a", "  quota: {gpus: 1.5, pods: 10, cpu: 1.5}\n  limits:\n    max: {example.com/fpga: 500m}\n"),
			[]string{`in.yaml:6: spec.quota.gpus: Invalid value: "1500m": must be a whole number`,
				`in.yaml:8: spec.limits.max[example.com/fpga]: Invalid value: "500m": must be a whole number`}},
		{"requests prefix", withSpec("a", "  quota: {gpuResource: requests.nvidia.com/gpu}\n"),
			[]string{`in.yaml:6: spec.quota.gpuResource: Invalid value: "requests.nvidia.com/gpu": must be an extended resource name without the "requests." prefix`}},
		{"GPU resource capped twice", withSpec("a", "  quota:\n    extendedResources: {nvidia.com/gpu: 2}\n"),
			[]string{`in.yaml:7: spec.quota.extendedResources[nvidia.com/gpu]: Duplicate value: "nvidia.com/gpu"; it is the GPU resource (bulkhead's built-in default)`}},
		{"quantity exponent", withSpec("a", "  quota: {cpu: 1e-2147483647}\n"),
			[]string{"in.yaml:6: spec.quota.cpu: Invalid value: must be a quantity such as 4, 500m or 64Gi, not the number 1e-2147483647: its exponent is out of range"}},
		{"null in a resource list", withSpec("a", "  limits:\n    max: {memory: null}\n"),
			[]string{"in.yaml:7: spec.limits.max[memory]: Invalid value: must be a quantity such as 4, 500m or 64Gi, not null"}},
		{"null quantity is unset", withSpec("a", "  quota: {cpu: null}\n"), nil},
		{"quantity of the wrong type", withSpec("a", "  quota:\n    memory: [1Gi]\n    pods: {n: 1}\n"),
			[]string{"in.yaml:7: spec.quota.memory: Invalid value: must be a quantity such as 4, 500m or 64Gi, not a list",
				"in.yaml:8: spec.quota.pods: Invalid value: must be a quantity such as 4, 500m or 64Gi, not a mapping"}},
		{"an undecodable inherited value causes nothing else",
			defaultsHeader + "spec:\n  limits:\n    max: {memory: lots}\n---\n" + inheriting("a", "  limits:\n    default: {memory: 8Gi}\n"),
			[]string{"in.yaml:6: spec.limits.max[memory]: Invalid value: must be a quantity"}},
		{"guardrails of the wrong type", withSpec("a", "  quota: 5\n"), []string{"in.yaml:6: spec.quota: Invalid value: must be a mapping"}},
		{"unknown field in TenantDefaults", defaultsHeader + "specs: {}\n---\n" + inheriting("a", ""),
			[]string{`in.yaml:4: specs: Unknown field; rename it to "spec" or remove it (a TenantDefaults document takes: apiVersion, kind, metadata, spec)`}},
		{"TenantDefaults metadata", "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata:\n  name: Lab\n  namespace: x\n---\n" + withSpec("a", "  defaults: Lab\n"),
			[]string{`in.yaml:4: metadata.name: Invalid value: "Lab"`, "in.yaml:5: metadata.namespace: Forbidden"}},
		{"unknown defaults", defaultsHeader + "---\n" + withSpec("a", "  defaults: gpu\n"),
			[]string{`in.yaml:10: spec.defaults: Not found: "gpu"; the input defines these TenantDefaults: lab; name one of them or pass the file that defines gpu`}},
		{"defaults of the old form", defaultsHeader + "---\n" + minimal("a"),
			[]string{`in.yaml:8: spec.defaults: Required value: this file holds TenantDefaults "lab", which no longer applies to every tenant of the input: add ` + "`defaults: lab`"}},
		{"defaults without a name", "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nspec: {}\n---\n" + minimal("a"),
			[]string{`in.yaml:1: metadata.name: Required value: tenants name the TenantDefaults they inherit`}},
		{"TenantDefaults without tenants", "# only defaults\n" + defaultsHeader + "spec: {podSecurity: restricted}\n",
			[]string{"in.yaml:2: no Tenant documents found: a TenantDefaults applies to the tenants that name it"}},
		{"token lifetime caps at the bounds", withSpec("a", "  credentials: {maxTokenTTL: 10m}\n") + "---\n" +
			withSpec("b", "  credentials: {maxTokenTTL: 8760h}\n"), nil},
		{"null token lifetime cap is unset", withSpec("a", "  credentials: {maxTokenTTL: null}\n"), nil},
		{"token lifetime caps out of bounds", withSpec("a", "  credentials: {maxTokenTTL: 9m59s}\n") + "---\n" +
			withSpec("b", "  credentials: {maxTokenTTL: 8760h1s}\n"),
			[]string{`in.yaml:6: spec.credentials.maxTokenTTL: Invalid value: "9m59s": must be at least 10m`,
				`in.yaml:13: spec.credentials.maxTokenTTL: Invalid value: "8760h0m1s": must be at most 8760h (a year)`}},
		{"token lifetime cap of the wrong type", withSpec("a", "  credentials:\n    maxTokenTTL: 720\n") + "---\n" +
			withSpec("b", "  credentials:\n    maxTokenTTL: \"36\"\n") + "---\n" +
			withSpec("c", "  credentials:\n    maxTokenTTL: {hours: 1}\n  podSecurity: strict\n"),
			[]string{"in.yaml:7: spec.credentials.maxTokenTTL: Invalid value: must be a duration such as 720h or 90m, " +
				"not the number 720 without a unit; write 720h for hours or 720m for minutes",
				`in.yaml:15: spec.credentials.maxTokenTTL: Invalid value: must be a duration such as 720h or 90m, not the string "36" without a unit`,
				"in.yaml:23: spec.credentials.maxTokenTTL: Invalid value: must be a duration such as 720h or 90m, not a mapping",
				`in.yaml:24: spec.podSecurity: Unsupported value: "strict"`}},
		{"an inherited cap out of bounds is reported on the defaults only",
			defaultsHeader + "spec:\n  credentials: {maxTokenTTL: 1m}\n---\n" + inheriting("a", "") + "---\n" + inheriting("b", ""),
			[]string{`in.yaml:5: spec.credentials.maxTokenTTL: Invalid value: "1m": must be at least 10m`}},
		{"defaults after the tenants", inheriting("a", "") + "---\n" + defaultsHeader + "spec:\n  podSecurity: strict\n",
			[]string{`in.yaml:12: spec.podSecurity: Unsupported value: "strict"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			tenants, err := Parse("in.yaml", []byte(tc.src))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				if err := Validate(tenants); err != nil {
					t.Errorf("loaded tenants do not validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			errs := problems(t, err)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("problem %d = %q\nwant prefix %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestTwoDefaultsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", defaultsHeader+"spec: {podSecurity: restricted}\n")
	write(t, dir, "b.yaml", inheriting("bob", "")+"---\n# the second one\n"+defaultsHeader)
	_, err := Load([]string{dir}, nil)
	errs := problems(t, err)
	want := dir + `/b.yaml:9: metadata.name: Duplicate value: "lab": a TenantDefaults of that name is already defined at ` + dir + "/a.yaml:1"
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestValidateInput(t *testing.T) {
	in := &Input{
		Tenants: []Tenant{tenant("a", v1alpha1.TenantSpec{Defaults: "lab", Guardrails: v1alpha1.Guardrails{
			Network: &v1alpha1.Network{AllowFrom: []v1alpha1.NetworkPeer{{Namespace: "x"}}},
		}}, Source{File: "cluster"})},
		Defaults: []Defaults{{TenantDefaults: v1alpha1.TenantDefaults{ObjectMeta: metav1.ObjectMeta{Name: "lab"}, Spec: v1alpha1.Guardrails{
			PodSecurity: "strict",
			Network:     &v1alpha1.Network{Mode: v1alpha1.NetworkOpen},
		}}, Source: Source{File: "defaults.yaml", Line: 3}}},
	}
	err := ValidateInput(in)
	errs := problems(t, err)
	want := []string{
		`defaults.yaml:3: spec.podSecurity: Unsupported value: "strict"`,
		"cluster: spec.network.allowFrom: Forbidden: the network mode is open (set by the TenantDefaults at defaults.yaml:3)",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d = %q\nwant prefix %q", i, errs[i].Error(), w)
		}
	}
	// Validate knows no TenantDefaults: the same tenant is fine on its own.
	if err := Validate(in.Tenants); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8760 * time.Hour:             "8760h",
		10 * time.Minute:             "10m",
		90 * time.Minute:             "1h30m",
		time.Hour + time.Second:      "1h0m1s",
		90 * time.Second:             "1m30s",
		-5 * time.Minute:             "-5m",
		0:                            "0s",
		DefaultMaxTokenTTL:           "168h",
		1500 * time.Millisecond:      "1.5s",
		100000 * time.Hour:           "100000h",
		100000*time.Hour + time.Hour: "100001h",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("FormatDuration(%s) does not parse back: %v, %v", d, back, err)
		}
	}
}
