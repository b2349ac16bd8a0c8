package crd_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	validDir    = "../../internal/spec/testdata/valid"
	examplesDir = "../../examples"
	invalidDir  = "../../internal/spec/testdata/invalid"
)

// Where a problem of an invalid fixture is caught.
const (
	// byServer: the API server refuses a document, with want in its message.
	byServer = "server"
	// byController: every document is accepted; the problem needs other
	// objects (or inherited values), so the controller reports it as
	// Ready=False, reason Invalid.
	byController = "controller"
	// byCLI: every document is accepted and nothing is wrong once stored:
	// the problem exists only in a file the CLI reads (the server drops or
	// overwrites the field, or a name can only be stored once).
	byCLI = "cli"
	// neverSent: the file does not decode or map to a resource, so no
	// client sends it (kubectl fails before any request).
	neverSent = "client"
)

type expectation struct {
	by string
	// want: byServer, parts of the server's message; byController, parts
	// of the Ready condition's message on tenant.
	want   []string
	tenant string
	why    string // all but byServer: why the schema cannot refuse it
}

func refused(want ...string) expectation { return expectation{by: byServer, want: want} }

// controllerOnly: the controller reports Ready=False, reason Invalid, on
// tenant, with want in the message.
func controllerOnly(tenant, why string, want ...string) expectation {
	return expectation{by: byController, tenant: tenant, why: why, want: want}
}
func cliOnly(why string) expectation { return expectation{by: byCLI, why: why} }
func notSent(why string) expectation { return expectation{by: neverSent, why: why} }

// invalidFixtures classifies every file of internal/spec/testdata/invalid.
// A new fixture must be added here: the test fails on one it does not know.
var invalidFixtures = map[string]expectation{
	"allowfrom-mode-open.yaml": refused("spec.network.allowFrom: Forbidden: the network mode is open", "remove allowFrom, or set mode: isolated"),
	"bad-cidr.yaml":            refused("spec.network.egressCIDRs[1]", `"10.20.0.0/33" must be a CIDR`, "fix the address or the prefix length"),
	"bad-extended-resource.yaml": refused("spec.quota.extendedResources", "names in the kubernetes.io domain are Kubernetes' own resources",
		"cap cpu, memory, pods and storage with their own quota fields"),
	"bad-gpu-resource.yaml": refused("spec.quota.gpuResource", "with a domain prefix", "such as nvidia.com/gpu or amd.com/gpu"),
	"bad-label.yaml":        refused("metadata.labels: Invalid value", "payments & billing"),
	"bad-limits-key.yaml":   refused("spec.limits.max", "keys must be cpu, memory, ephemeral-storage or an extended resource name"),
	"bad-name.yaml":         refused(`metadata.name "Bob": a lowercase RFC 1123 label`, "rename the tenant"),
	"bad-namespace.yaml":    refused("spec.namespace", `"team_bob": a lowercase RFC 1123 label`, "choose a valid namespace name"),
	"bad-peer-namespace.yaml": refused("spec.network.allowFrom[0].namespace", `"Ingress_Nginx": a lowercase RFC 1123 label`,
		"fix the namespace name"),
	"bad-quantity.yaml": refused(`spec.quota.memory: Invalid value: "lots"`, "should match"),
	"bad-selector-operator.yaml": controllerOnly("bob", "metav1.LabelSelector bounds none of its lists, so a CEL rule over matchExpressions "+
		"costs more than the API server allows a CRD; the controller validates selectors",
		`spec.network.allowFrom[0].podSelector.matchExpressions[0].operator: Invalid value: "Equals"`, "use In, NotIn, Exists or DoesNotExist"),
	"bad-serviceaccount-name.yaml": refused("spec.members[0].name", `"Bob_User": a lowercase RFC 1123 subdomain`, "rename the ServiceAccount"),
	"binding-name-too-long.yaml":   refused("spec.members[0].name", "bulkhead-edit-sa-<name>", "no more than 253", "236 characters or less"),
	"cidr-without-restricted-egress.yaml": refused("spec.network.egressCIDRs: Forbidden: egressCIDRs only apply to restricted egress, and egress is open",
		"set egress: restricted"),
	"control-character.yaml": refused("spec.members[0].name", "must not contain control characters", "fix the user name"),
	"default-above-defaults-max.yaml": controllerOnly("bob", "the max comes from the TenantDefaults: comparing needs the other object "+
		"(and comparing quantities in maps costs more than a CRD rule may)",
		`spec.limits.default[memory]: Invalid value: "32Gi": must not be more than the max, 16Gi`, "lower it to 16Gi or less"),
	"defaultrequest-above-max.yaml": controllerOnly("bob", "comparing quantities of two LimitRange maps costs more than the API server allows a CRD rule",
		`spec.limits.defaultRequest[cpu]: Invalid value: "2": must not be more than the max, 1`),
	"defaults-missing.yaml": controllerOnly("bob", "spec.defaults names a TenantDefaults that does not exist: needs the other object",
		`spec.defaults: TenantDefaults "gpulab" not found; create it or correct the name`),
	"defaults-old-form.yaml": cliOnly("a TenantDefaults no tenant names is fine in a cluster; only a file read by the CLI " +
		"suggests that its tenants meant to name it"),
	"defaults-unknown-field.yaml": refused(`unknown field "spec.quota.gpu"`),
	"duplicate-key.yaml":          notSent("a key written twice: strict YAML decoding fails (kubectl keeps the last value silently)"),
	"duplicate-member.yaml":       refused("spec.members", "Duplicate value: a member is listed more than once", "remove one of them"),
	"duplicate-tenant.yaml":       cliOnly("a cluster stores one Tenant per name: the second document updates the first"),
	"empty-member-name.yaml":      refused("spec.members[0].name: Required value"),
	"max-token-ttl-days.yaml":     refused("spec.credentials.maxTokenTTL", `not "30d"`, "durations have no unit for days (30 days is 720h)"),
	"max-token-ttl-not-a-duration.yaml": refused("spec.credentials.maxTokenTTL", `must be a duration such as 720h or 90m, not "forever"`,
		"h (hours), m (minutes) or s (seconds)"),
	"max-token-ttl-too-long.yaml":  refused(`TenantDefaults.bulkhead.dev "lab" is invalid`, "spec.credentials.maxTokenTTL", "must be at most 8760h (a year)", "lower it to 8760h or less"),
	"max-token-ttl-too-short.yaml": refused("spec.credentials.maxTokenTTL", "must be at least 10m", "raise it to 10m or more"),
	"merge-key.yaml":               cliOnly("YAML merge keys are resolved before anything is sent; the decoded object is valid"),
	"metadata-namespace.yaml":      cliOnly("the API server drops metadata.namespace of a cluster-scoped object"),
	"missing-apiversion.yaml":      notSent("without apiVersion no resource is mapped (kubectl: apiVersion not set)"),
	"missing-name.yaml":            refused("metadata.name: Required value"),
	"negative-gpus.yaml":           refused("spec.quota.gpus", "must not be negative", "use 0 to allow none"),
	"no-tenants.yaml":              notSent("no documents: nothing to send"),
	"not-a-mapping.yaml":           notSent("a list is no object"),
	"peer-namespace-and-selector.yaml": refused("spec.network.allowFrom[0].namespaceSelector: Forbidden: may not be set together with namespace",
		"keep one of them"),
	"reserved-default-namespace.yaml": refused("Forbidden", `namespace "default" is reserved`, "rename the tenant or set spec.namespace"),
	"reserved-namespace.yaml":         refused("spec.namespace: Forbidden", `namespace "kube-system" is reserved`, "choose another namespace"),
	"server-field.yaml":               cliOnly("the API server sets metadata.uid itself on create, whatever the file says"),
	"shared-identity.yaml":            refused("spec.members[0].name: Forbidden", `Group "system:authenticated" is an identity Kubernetes shares`, "open this namespace"),
	"shared-namespace.yaml": controllerOnly("bob", "two Tenants claim one namespace: needs the other object",
		`spec.namespace: namespace "shared" is already claimed by Tenant "alice"; give this tenant another namespace`),
	"two-defaults.yaml":            cliOnly("a cluster stores one TenantDefaults per name: the second document updates the first"),
	"unknown-deletion-policy.yaml": refused(`spec.deletionPolicy: Unsupported value: "Orphan"`, `supported values: "Retain", "Delete"`),
	"unknown-field.yaml":           refused(`unknown field "spec.members[0].rol"`),
	"unknown-kind.yaml":            refused(`spec.members[0].kind: Unsupported value: "Robot"`, `"ServiceAccount", "User", "Group"`),
	"unknown-network-mode.yaml":    refused(`spec.network.mode: Unsupported value: "closed"`, `"isolated", "open"`),
	"unknown-pod-security.yaml":    refused(`spec.podSecurity: Unsupported value: "strict"`, `"baseline", "restricted", "privileged"`),
	"unknown-role.yaml":            refused(`spec.members[0].role: Unsupported value: "owner"`, `"admin", "edit", "view"`),
	"wrong-apiversion.yaml":        notSent("bulkhead.dev/v1 is not served: no resource is mapped"),
	"wrong-kind.yaml":              notSent("bulkhead.dev serves no Namespace kind: no resource is mapped"),
	"wrong-type.yaml":              refused("spec.members", "must be of type array"),
	"yaml-syntax.yaml":             notSent("the YAML does not parse"),

	// The bad-input corpus (internal/spec/testdata/bad-input.golden).
	"alias-bomb.yaml":        notSent("the YAML decoder kubectl uses refuses excessive aliasing"),
	"alias-loop.yaml":        notSent("an alias inside the value it names does not decode"),
	"deep-nesting.yaml":      refused("spec.members[0].kind", "must be of type string"),
	"defaults-bad-name.yaml": refused("spec.defaults", `"GPU_Lab": a lowercase RFC 1123 subdomain`, "name a TenantDefaults by its metadata.name"),
	"defaults-none-defined.yaml": controllerOnly("bob", "spec.defaults names a TenantDefaults that does not exist: needs the other object",
		`spec.defaults: TenantDefaults "gpu-lab" not found; create it or correct the name`),
	"duplicate-member-default-kind.yaml": refused("spec.members", "Duplicate value: a member is listed more than once", "remove one of them"),
	"duplicate-member-roles.yaml":        refused("spec.members", "Duplicate value: a member is listed more than once", "remove one of them"),
	"extended-resource-absurd.yaml": controllerOnly("bob", "one more CEL rule over the values of extendedResources costs more than the API server allows a CRD",
		"spec.quota.extendedResources[nvidia.com/mig-1g.10gb]", "must be at most 100000", "remove the entry for no cap"),
	"extended-resource-negative.yaml":        refused("spec.quota.extendedResources", "values must not be negative"),
	"extended-resource-requests-prefix.yaml": refused("spec.quota.gpuResource", `without the "requests." prefix`),
	"extended-resource-two-slashes.yaml":     refused("spec.quota.extendedResources", "keys must be a qualified name"),
	"extended-resource-uppercase.yaml":       refused("spec.quota.extendedResources", "keys must be a qualified name"),
	"gpus-above-max.yaml":                    refused("spec.quota.gpus", "must be at most 10000", "set unlimitedGPUs: true for no GPU cap"),
	// 10^23 and 0.5 are JSON numbers but no integers: the int-or-string
	// schema refuses them before any rule (TestRulesRefuse sends them quoted).
	"gpus-absurd.yaml":                 refused("spec.quota.gpus", "must be of type integer"),
	"gpus-fraction.yaml":               refused("spec.quota.gpus", "must be of type integer"),
	"gpus-unlimited-and-count.yaml":    refused("spec.quota.unlimitedGPUs: Forbidden: may not be set together with gpus", "keep one of them"),
	"gpus-unlimited-string.yaml":       refused(`spec.quota.gpus: Invalid value: "unlimited"`),
	"huge-document.yaml":               refused("metadata.annotations: Too long"),
	"max-token-ttl-just-too-long.yaml": refused("spec.credentials.maxTokenTTL", "must be at most 8760h (a year)"),
	"max-token-ttl-negative.yaml":      refused("spec.credentials.maxTokenTTL", "must be at least 10m"),
	"max-token-ttl-number.yaml":        refused("spec.credentials.maxTokenTTL", "must be of type string"),
	"max-token-ttl-zero.yaml":          refused("spec.credentials.maxTokenTTL", "must be at least 10m"),
	"namespace-of-other-tenant.yaml": controllerOnly("bob", "bob claims the namespace alice has by default: needs the other object",
		`spec.namespace: namespace "alice" is already claimed by Tenant "alice"; give this tenant another namespace`),
	"negative-memory.yaml":                  refused("spec.quota.memory", "must not be negative"),
	"system-namespace-by-name.yaml":         refused(`namespace "kube-system" is reserved`, "rename the tenant or set spec.namespace"),
	"system-namespace-default.yaml":         refused("spec.namespace: Forbidden", `namespace "default" is reserved`, "choose another namespace"),
	"system-namespace-kube-node-lease.yaml": refused("spec.namespace: Forbidden", `namespace "kube-node-lease" is reserved`),
	"system-namespace-kube-public.yaml":     refused("spec.namespace: Forbidden", `namespace "kube-public" is reserved`),
	"too-many-members.yaml":                 refused("spec.members: Too many: 101: must have at most 100 items"),
	"unicode-cyrillic-name.yaml":            refused("metadata.name \"bob-d\u0435v\": a lowercase RFC 1123 label"),
	"unicode-cyrillic-namespace.yaml":       refused("spec.namespace", "a lowercase RFC 1123 label", "choose a valid namespace name"),
	"unicode-serviceaccount-name.yaml":      refused("spec.members[0].name", "a lowercase RFC 1123 subdomain", "rename the ServiceAccount"),
	"unicode-zero-width-user.yaml":          refused("spec.members[0].name", "must not contain invisible formatting characters", "fix the user name"),
	"unknown-field-network.yaml":            refused(`unknown field "spec.network.ingress"`),
	"unknown-field-quota.yaml":              refused(`unknown field "spec.quota.memroy"`),
	"unknown-field-status.yaml":             cliOnly("status is the controller's: the API server ignores it on create (the status subresource)"),
	"unknown-field-top-level.yaml":          refused(`unknown field "specs"`),
	"wrong-type-gpus-bool.yaml":             refused("spec.quota.gpus"),
	"wrong-type-labels.yaml":                refused("cannot unmarshal array into Go struct field ObjectMeta.labels"),
	"wrong-type-member-item.yaml":           refused("spec.members[0]", "must be of type object"),
	"wrong-type-namespace-number.yaml":      refused("spec.namespace", "must be of type string"),
	"wrong-type-quota.yaml":                 refused("spec.quota", "must be of type object"),
	"yaml-bad-indent.yaml":                  notSent("the YAML does not parse"),
	"yaml-broken-after-valid.yaml":          notSent("the second document does not parse (this test's client still sends the first; bulkhead applies neither)"),
	"yaml-tab-indent.yaml":                  notSent("the YAML does not parse"),
	"yaml-unclosed-quote.yaml":              notSent("the YAML does not parse"),
	"zero-limit-max.yaml": controllerOnly("bob", "a max of 0 for cpu, memory or ephemeral storage: checking quantities in a map costs more than a CRD rule may",
		`spec.limits.max[cpu]: Invalid value: "0": must be more than 0`, "remove it for no maximum"),
}

func TestValidFixturesAreAccepted(t *testing.T) {
	e := needCluster(t)
	var files []string
	for _, dir := range []string{validDir, examplesDir} {
		files = append(files, yamlFiles(t, dir)...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d valid fixtures: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			docs, err := e.sendFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) == 0 {
				t.Fatal("no documents")
			}
			for i, d := range docs {
				if d.client != nil || d.refused != nil {
					t.Errorf("document %d not accepted: %v %v", i+1, d.client, d.refused)
				}
			}
		})
	}
}

func TestInvalidFixtures(t *testing.T) {
	e := needCluster(t)
	files, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The controller reports what only it can check; it runs while the
	// fixtures are sent (the others are dry-runs it never sees).
	ctx := t.Context()
	e.startController(t, ctx)
	counts := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			exp, ok := invalidFixtures[name]
			if !ok {
				t.Fatalf("%s is not classified: add it to invalidFixtures (refused by the server, or why the schema cannot see it) "+
					"and to docs/crd-validation.md", name)
			}
			counts[exp.by]++
			docs, err := e.sendFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			switch exp.by {
			case byServer:
				for _, d := range docs {
					if d.client != nil {
						t.Fatalf("did not reach the server: %v", d.client)
					}
				}
				msg := refusals(t, docs)
				if msg == "" {
					t.Fatalf("the server accepted all %d documents", len(docs))
				}
				for _, w := range exp.want {
					if !strings.Contains(msg, w) {
						t.Errorf("the server's message lacks %q:\n%s", w, msg)
					}
				}
			case byController, byCLI:
				if len(docs) == 0 {
					t.Fatal("no documents")
				}
				for i, d := range docs {
					if d.client != nil || d.refused != nil {
						t.Fatalf("document %d not accepted, so it is not %s-only (%s): %v %v", i+1, exp.by, exp.why, d.client, d.refused)
					}
				}
				if exp.by == byController {
					e.checkController(t, ctx, f, exp)
				}
			case neverSent:
				if len(docs) > 0 && !slices.ContainsFunc(docs, func(d sent) bool { return d.client != nil }) {
					t.Errorf("every document reached the server (%s)", exp.why)
				}
			}
		})
	}
	for name := range invalidFixtures {
		if _, err := os.Stat(filepath.Join(invalidDir, name)); err != nil {
			t.Errorf("invalidFixtures lists %s, which does not exist", name)
		}
	}
	t.Logf("invalid fixtures: %d refused by the API server, %d the controller's, %d the CLI's only, %d never sent",
		counts[byServer], counts[byController], counts[byCLI], counts[neverSent])
}

// yamlFiles lists the YAML files under dir the way the CLI reads a
// directory: recursively, hidden files and directories skipped.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
