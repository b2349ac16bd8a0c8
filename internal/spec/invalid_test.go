package spec

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// invalidCases maps every file in testdata/invalid to its one problem: where
// it must be reported and distinctive parts of the message, including what
// the user should do.
var invalidCases = map[string]struct {
	line int
	want []string
}{
	"unknown-field.yaml":              {9, []string{"spec.members[0].rol: Unknown field", `rename it to "role"`, "name, kind, role"}},
	"wrong-type.yaml":                 {7, []string{"spec.members: Invalid value: must be a list", `not the string "bob"`}},
	"yaml-syntax.yaml":                {7, []string{"invalid YAML: did not find expected node content", "fix the syntax"}},
	"duplicate-key.yaml":              {6, []string{"metadata.name: Duplicate value", "first at line 5", "keep only one"}},
	"missing-apiversion.yaml":         {2, []string{"apiVersion: Required value", "add apiVersion: bulkhead.dev/v1alpha1"}},
	"wrong-apiversion.yaml":           {2, []string{`apiVersion: Unsupported value: "bulkhead.dev/v1"`, `supported values: "bulkhead.dev/v1alpha1"`}},
	"wrong-kind.yaml":                 {3, []string{`kind: Unsupported value: "Namespace"`, `supported values: "Tenant", "TenantDefaults"`}},
	"no-tenants.yaml":                 {0, []string{"no Tenant documents found", "add one"}},
	"not-a-mapping.yaml":              {2, []string{"must be a mapping", "not a list"}},
	"bad-name.yaml":                   {5, []string{`metadata.name: Invalid value: "Bob": a lowercase RFC 1123 label`, "rename the tenant"}},
	"missing-name.yaml":               {4, []string{"metadata.name: Required value", "set metadata.name"}},
	"metadata-namespace.yaml":         {6, []string{"metadata.namespace: Forbidden", "cluster-scoped", "remove metadata.namespace"}},
	"bad-namespace.yaml":              {7, []string{`spec.namespace: Invalid value: "team_bob"`, "choose a valid namespace name"}},
	"reserved-namespace.yaml":         {7, []string{"spec.namespace: Forbidden", `"kube-system" is reserved`, "choose another namespace"}},
	"reserved-default-namespace.yaml": {5, []string{"metadata.name: Forbidden", `"default" is reserved`, "set spec.namespace"}},
	"duplicate-tenant.yaml":           {12, []string{`metadata.name: Duplicate value: "bob"`, "already defined at testdata/invalid/duplicate-tenant.yaml:5"}},
	"shared-namespace.yaml":           {14, []string{`spec.namespace: Duplicate value: "shared"`, `tenants "alice" (testdata/invalid/shared-namespace.yaml:5) and "bob"`}},
	"duplicate-member.yaml":           {10, []string{`spec.members[1].name: Duplicate value: "dana@example.com"`, "already listed as spec.members[0]"}},
	"unknown-role.yaml":               {9, []string{`spec.members[0].role: Unsupported value: "owner"`, `supported values: "admin", "edit", "view"`}},
	"unknown-kind.yaml":               {9, []string{`spec.members[0].kind: Unsupported value: "Robot"`, `"ServiceAccount", "User", "Group"`}},
	"bad-serviceaccount-name.yaml":    {8, []string{`spec.members[0].name: Invalid value: "Bob_User"`, "RFC 1123 subdomain", "rename the ServiceAccount"}},
	"empty-member-name.yaml":          {8, []string{"spec.members[0].name: Required value", "set the member's name"}},
	"control-character.yaml":          {8, []string{"spec.members[0].name", "must not contain control characters"}},
	"shared-identity.yaml":            {7, []string{"spec.members[0].name", "Forbidden", "system:authenticated", "open this namespace"}},
	"binding-name-too-long.yaml":      {8, []string{"spec.members[0].name", "bulkhead-edit-sa-<name>", "no more than 253", "236 characters or less"}},
	"server-field.yaml":               {6, []string{"metadata.uid: Unknown field", "remove it"}},
	"bad-label.yaml":                  {7, []string{"metadata.labels[team]: Invalid value", "fix the label"}},
	"merge-key.yaml":                  {9, []string{"merge keys (<<) are not supported"}},
	"unknown-deletion-policy.yaml": {7, []string{`spec.deletionPolicy: Unsupported value: "Orphan"`, `supported values: "Retain", "Delete"`,
		"set deletionPolicy to one of them"}},

	// Guardrails and TenantDefaults.
	"defaults-missing.yaml":  {13, []string{`spec.defaults: Not found: "gpulab"`, "the input defines these TenantDefaults: gpu-lab"}},
	"defaults-old-form.yaml": {14, []string{`spec.defaults: Required value: this file holds TenantDefaults "researchers"`, "add `defaults: researchers` to this tenant's spec"}},
	"two-defaults.yaml": {15, []string{`metadata.name: Duplicate value: "lab": a TenantDefaults of that name is already defined at testdata/invalid/two-defaults.yaml:2`,
		"rename one of them or merge the two"}},
	"defaults-unknown-field.yaml": {8, []string{"spec.quota.gpu: Unknown field", `rename it to "gpus"`, "spec.quota takes: gpus, unlimitedGPUs, gpuResource"}},
	"negative-gpus.yaml":          {8, []string{`spec.quota.gpus: Invalid value: "-1": must not be negative`, "use 0 to allow none"}},
	"bad-quantity.yaml":           {9, []string{"spec.quota.memory: Invalid value: must be a quantity", `not the string "lots"`, "write a number"}},
	"bad-gpu-resource.yaml":       {9, []string{`spec.quota.gpuResource: Invalid value: "gpu"`, "with a domain prefix", "such as nvidia.com/gpu"}},
	"bad-extended-resource.yaml": {9, []string{`spec.quota.extendedResources[kubernetes.io/gpu]: Invalid value`,
		"kubernetes.io domain are Kubernetes' own", "cap cpu, memory, pods and storage with their own quota fields"}},
	"bad-limits-key.yaml": {9, []string{`spec.limits.max[cpus]: Invalid value: "cpus"`, "must be cpu, memory, ephemeral-storage or an extended resource name",
		`rename it to "cpu"`}},
	"defaultrequest-above-max.yaml": {9, []string{`spec.limits.defaultRequest[cpu]: Invalid value: "2": must not be more than the max, 1 (spec.limits.max[cpu])`,
		"lower it to 1 or less"}},
	"default-above-defaults-max.yaml": {18, []string{`spec.limits.default[memory]: Invalid value: "32Gi": must not be more than the max, 16Gi`,
		"set by the TenantDefaults at testdata/invalid/default-above-defaults-max.yaml:8", "lower it to 16Gi or less"}},
	"unknown-pod-security.yaml": {7, []string{`spec.podSecurity: Unsupported value: "strict"`, `"baseline", "restricted", "privileged"`}},
	"unknown-network-mode.yaml": {8, []string{`spec.network.mode: Unsupported value: "closed"`, `"isolated", "open"`, "set mode to one of them"}},
	"bad-cidr.yaml":             {11, []string{`spec.network.egressCIDRs[1]: Invalid value: "10.20.0.0/33"`, "prefix length out of range"}},
	"cidr-without-restricted-egress.yaml": {9, []string{"spec.network.egressCIDRs: Forbidden: egressCIDRs only apply to restricted egress, and egress is open",
		"set egress: restricted"}},
	"peer-namespace-and-selector.yaml": {10, []string{"spec.network.allowFrom[0].namespaceSelector: Forbidden: may not be set together with namespace",
		"keep one of them"}},
	"bad-peer-namespace.yaml": {9, []string{`spec.network.allowFrom[0].namespace: Invalid value: "Ingress_Nginx"`, "fix the namespace name"}},
	"bad-selector-operator.yaml": {13, []string{`spec.network.allowFrom[0].podSelector.matchExpressions[0].operator: Invalid value: "Equals"`,
		"use In, NotIn, Exists or DoesNotExist"}},
	"allowfrom-mode-open.yaml": {9, []string{"spec.network.allowFrom: Forbidden: the network mode is open", "remove allowFrom, or set mode: isolated"}},
	"max-token-ttl-too-short.yaml": {9, []string{`spec.credentials.maxTokenTTL: Invalid value: "5m": must be at least 10m`,
		"the shortest lifetime the TokenRequest API issues", "raise it to 10m or more"}},
	"max-token-ttl-too-long.yaml": {8, []string{`spec.credentials.maxTokenTTL: Invalid value: "87600h": must be at most 8760h (a year)`,
		"most likely a typo", "lower it to 8760h or less"}},
	"max-token-ttl-not-a-duration.yaml": {8, []string{"spec.credentials.maxTokenTTL: Invalid value: must be a duration such as 720h",
		`not the string "forever"`, "write a number with a unit: h (hours), m (minutes) or s (seconds)"}},
	"max-token-ttl-days.yaml": {8, []string{`spec.credentials.maxTokenTTL: Invalid value: must be a duration such as 720h or 90m, not the string "30d"`,
		"durations have no unit for days; write 720h"}},
}

func TestInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := readBadInputs(t)
	if len(files) != len(invalidCases)+len(bad) {
		t.Errorf("testdata/invalid has %d files, the table %d cases and %s %d; keep them in step",
			len(files), len(invalidCases), badInputGolden, len(bad))
	}
	for _, file := range files {
		name := filepath.Base(file)
		if _, ok := bad[name]; ok {
			continue // TestBadInputs
		}
		t.Run(name, func(t *testing.T) {
			tc, ok := invalidCases[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it to invalidCases or to %s", file, badInputGolden)
			}
			tenants, err := Load([]string{file}, nil)
			if tenants != nil {
				t.Errorf("got %d tenants, want none", len(tenants))
			}
			errs := problems(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want exactly one:\n%v", len(errs), err)
			}
			got := errs[0]
			if got.File != file || got.Line != tc.line {
				t.Errorf("reported at %s:%d, want %s:%d", got.File, got.Line, file, tc.line)
			}
			msg := got.Error()
			loc := file
			if tc.line > 0 {
				loc += ":" + strconv.Itoa(tc.line)
			}
			for _, want := range append([]string{loc + ": "}, tc.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

// TestInvalidDirectory loads all invalid files at once: each must still
// report its problem, and nothing else.
func TestInvalidDirectory(t *testing.T) {
	tenants, err := Load([]string{"testdata/invalid"}, nil)
	if tenants != nil {
		t.Errorf("got %d tenants, want none", len(tenants))
	}
	errs := problems(t, err)
	// Names and namespaces repeat across the files, so loading them together
	// adds conflicts between files; count only problems of single files.
	perFile := map[string]int{}
	for _, e := range errs {
		perFile[e.File]++
	}
	names := slices.Collect(maps.Keys(invalidCases))
	for name := range readBadInputs(t) {
		names = append(names, name)
	}
	for _, name := range names {
		if perFile[filepath.Join("testdata/invalid", name)] == 0 {
			t.Errorf("%s: no problem reported when loading the directory", name)
		}
	}
}

func TestAllProblemsOfAFileAreReported(t *testing.T) {
	const file = "testdata/three-problems.yaml"
	_, err := Load([]string{file}, nil)
	errs := problems(t, err)
	want := []struct {
		line int
		text string
	}{
		{7, "spec.namespace: Forbidden"},
		{10, `spec.members[0].role: Unsupported value: "owner"`},
		{17, "invalid YAML"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].File != file || errs[i].Line != w.line || !strings.Contains(errs[i].Error(), w.text) {
			t.Errorf("problem %d = %q, want %s:%d with %q", i, errs[i].Error(), file, w.line, w.text)
		}
	}
	if !strings.HasPrefix(err.Error(), "3 problems in the tenant spec:\n") {
		t.Errorf("error does not start with the count:\n%v", err)
	}
}

// TestTypeErrorsDoNotHideOtherProblems checks that a value of the wrong type
// is skipped rather than ending the decoding: later type errors, unknown
// fields and validation problems of the same document still show.
func TestTypeErrorsDoNotHideOtherProblems(t *testing.T) {
	src := `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: 42
  colour: blue
spec:
  namespace: [a, b]
  members:
  - name: true
    kind: User
  - name: x
    role: owner
`
	_, err := Parse("mixed.yaml", []byte(src))
	errs := problems(t, err)
	want := []string{
		"mixed.yaml:4: metadata.name: Invalid value: must be a string, not the number 42",
		"mixed.yaml:5: metadata.colour: Unknown field",
		"mixed.yaml:7: spec.namespace: Invalid value: must be a string, not a list",
		"mixed.yaml:9: spec.members[0].name: Invalid value: must be a string, not the boolean true",
		`mixed.yaml:12: spec.members[1].role: Unsupported value: "owner"`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, errs[i].Error(), w)
		}
	}
}

// problems unpacks the *Errors that Load and Parse promise.
func problems(t *testing.T, err error) Errors {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not *Errors", err, err)
	}
	if len(*errs) == 0 {
		t.Fatal("*Errors is empty")
	}
	return *errs
}
