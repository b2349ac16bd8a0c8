package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// whoCanWorld (testdata/whocan.yaml, the example of the README's who-can and can sections): a
// RoleBinding in team-a lets its deployer bind the ClusterRole admin there
// (bind limited by resourceNames), CRDs define a cluster-scoped and a
// namespaced custom resource, and a rule names an undefined one.
func whoCanWorld(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/whocan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWhoCanKeepsTheNamespaceForClusterScopedResources(t *testing.T) {
	out, errOut, code := run(t, whoCanWorld(t), "who-can", "bind", "clusterroles", "admin", "-n", "team-a", "-f", "-")
	if code != ExitOK || !regexp.MustCompile(`(?m)^system:serviceaccount:team-a:deployer\s+RoleBinding team-a/deployer-binds-admin`).MatchString(out) {
		t.Errorf("bind clusterroles admin -n team-a: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(errOut, "note:") {
		t.Errorf("bind is what carries a namespace for clusterroles; no note expected:\n%s", errOut)
	}
	// Near misses: another ClusterRole, the cluster scope, another namespace.
	for _, argv := range [][]string{
		{"who-can", "bind", "clusterroles", "edit", "-n", "team-a", "-f", "-"},
		{"who-can", "bind", "clusterroles", "admin", "--cluster-scope", "-f", "-"},
		{"who-can", "bind", "clusterroles", "admin", "-f", "-"},
		{"who-can", "bind", "clusterroles", "admin", "-n", "team-b", "-f", "-"},
	} {
		out, errOut, code := run(t, whoCanWorld(t), argv...)
		if code != ExitOK || strings.Contains(out, "deployer") {
			t.Errorf("%v: exit %d, the deployer must not be listed\n%s%s", argv, code, out, errOut)
		}
	}
	// -A is "in any namespace" and finds the RoleBinding's holder.
	out, errOut, code = run(t, whoCanWorld(t), "who-can", "bind", "clusterroles", "admin", "-A", "-f", "-", "-o", "json")
	if code != ExitOK || !strings.Contains(out, `"subject": "system:serviceaccount:team-a:deployer"`) ||
		!strings.Contains(out, `in any namespace"`) || strings.Contains(out, "cluster-wide") {
		t.Errorf("-A: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = run(t, whoCanWorld(t), "who-can", "bind", "clusterroles", "admin", "--cluster-scope", "-f", "-", "-o", "json")
	if !strings.Contains(out, `at cluster scope"`) {
		t.Errorf("--cluster-scope: request not labelled at cluster scope:\n%s", out)
	}
	// A namespace on a cluster-scoped resource for a plain request is
	// answered as asked, with a note.
	_, errOut, code = run(t, whoCanWorld(t), "who-can", "get", "nodes", "-n", "team-a", "-f", "-")
	if code != ExitOK || !strings.Contains(errOut, "note: nodes is cluster-scoped") {
		t.Errorf("get nodes -n team-a: exit %d, want a note\n%s", code, errOut)
	}
}

func TestWhoCanScopeFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "*"}, "-n '*' is not a namespace"},
		{[]string{"-n", ""}, "give --cluster-scope"},
		{[]string{"-n", "Team_A"}, `-n "Team_A" is not a namespace name`},
		{[]string{"-n", "a", "-A"}, "give one of -n NAMESPACE, -A"},
		{[]string{"-A", "--cluster-scope"}, "give one of"},
	}
	for _, c := range cases {
		argv := append([]string{"who-can", "get", "secrets", "-f", "-"}, c.args...)
		_, errOut, code := run(t, whoCanWorld(t), argv...)
		if code != ExitInvalid || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr lacks %q:\n%s", c.args, code, c.want, errOut)
		}
	}
	_, errOut, code := run(t, "", "can", "user:a", "-n", "*", "-f", "-")
	if code != ExitInvalid || !strings.Contains(errOut, "-n '*' is not a namespace") {
		t.Errorf("can -n '*': exit %d\n%s", code, errOut)
	}
}

// Whether a resource is namespaced is a fact only when known: the CRDs in
// the input decide, else the user must say.
func TestWhoCanResourceScopeFromCRDs(t *testing.T) {
	// widgets: cluster-scoped by its CRD, so no namespace is needed.
	out, errOut, code := run(t, whoCanWorld(t), "who-can", "get", "widgets.example.com", "-f", "-")
	if code != ExitOK || !strings.Contains(out, "group:metrics:readers") {
		t.Errorf("get widgets (cluster-scoped CRD): exit %d\n%s%s", code, out, errOut)
	}
	// gizmos: namespaced by its CRD (inside a List): a namespace is needed.
	_, errOut, code = run(t, whoCanWorld(t), "who-can", "get", "gizmos.example.com", "-f", "-")
	if code != ExitInvalid || !strings.Contains(errOut, "gizmos.example.com is namespaced") {
		t.Errorf("get gizmos (namespaced CRD): exit %d\n%s", code, errOut)
	}
	// sprockets: no CRD: not declared either way.
	_, errOut, code = run(t, whoCanWorld(t), "who-can", "get", "sprockets.example.com", "-f", "-")
	if code != ExitInvalid || !strings.Contains(errOut, "whether it is namespaced is not known") || strings.Contains(errOut, "sprockets.example.com is namespaced") {
		t.Errorf("get sprockets (no CRD): exit %d\n%s", code, errOut)
	}
	out, errOut, code = run(t, whoCanWorld(t), "who-can", "get", "sprockets.example.com", "--cluster-scope", "-f", "-")
	if code != ExitOK || !strings.Contains(out, "group:metrics:readers") {
		t.Errorf("get sprockets --cluster-scope: exit %d\n%s%s", code, out, errOut)
	}
}

func TestWhoCanHideBootstrap(t *testing.T) {
	out, _, code := run(t, whoCanWorld(t), "who-can", "create", "pods", "-n", "team-a", "-f", "-")
	if code != ExitOK || !strings.Contains(out, "system:serviceaccount:kube-system:replicaset-controller") {
		t.Fatalf("create pods: exit %d, want the bootstrap controllers listed\n%s", code, out)
	}
	out, errOut, code := run(t, whoCanWorld(t), "who-can", "create", "pods", "-n", "team-a", "-f", "-", "--hide-bootstrap")
	if code != ExitOK || strings.Contains(out, "kube-system") || strings.Contains(out, "system:masters") ||
		!regexp.MustCompile(`\d+ subjects held only through the untouched bootstrap policy not shown`).MatchString(errOut) {
		t.Errorf("--hide-bootstrap: exit %d\n%s%s", code, out, errOut)
	}
	// Near miss: a changed bootstrap binding is not hidden.
	changed := whoCanWorld(t) + `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: Group, name: "system:masters"}
- {kind: User, name: mallory}
`
	out, errOut, code = run(t, changed, "who-can", "create", "pods", "-n", "team-a", "-f", "-", "--hide-bootstrap")
	if code != ExitOK || !strings.Contains(out, "user:mallory") || !strings.Contains(out, "group:system:masters") {
		t.Errorf("--hide-bootstrap with a changed cluster-admin binding: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCanMatrixExtras(t *testing.T) {
	out, errOut, code := run(t, whoCanWorld(t), "can", "system:serviceaccount:team-a:deployer", "-n", "team-a", "-f", "-")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^clusterroles\.rbac\.authorization\.k8s\.io \(bind/escalate checks in this namespace\)\s+bind\(admin\)$`),
		// near miss: the custom verb is asked only where its rule points
		regexp.MustCompile(`(?m)^rolebindings\.rbac\.authorization\.k8s\.io\s+no\s+no\s+no\s+yes\s+no\s+no\s+no\s+no\s*$`),
		regexp.MustCompile(`(?m)^gizmos\.example\.com\s+yes\s.*frobnicate$`),
		regexp.MustCompile(`(?m)^sprockets\.example\.com \(named in rules; assumed namespaced\)\s+yes\s.*frobnicate$`),
	} {
		if code != ExitOK || !want.MatchString(out) {
			t.Errorf("can -n team-a: exit %d, want %s\n%s%s", code, want, out, errOut)
		}
	}
	// widgets is cluster-scoped: not a row of a namespace's matrix.
	if strings.Contains(out, "widgets") || strings.Contains(out, "/metrics") {
		t.Errorf("can -n team-a: cluster-scoped widgets or /metrics from a RoleBinding:\n%s", out)
	}
	// Through the ClusterRoleBinding, /metrics is listed.
	out, errOut, code = run(t, whoCanWorld(t), "can", "group:metrics:readers", "-n", "team-a", "-f", "-")
	if code != ExitOK || !regexp.MustCompile(`(?m)^/metrics\s+get$`).MatchString(out) {
		t.Errorf("can group:metrics:readers -n team-a: exit %d\n%s%s", code, out, errOut)
	}
	// Subjects print as can takes them: paste who-can's into can.
	out, _, _ = run(t, whoCanWorld(t), "who-can", "bind", "clusterroles", "admin", "-A", "-f", "-")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		subject := strings.Fields(line)[0]
		if _, errOut, code := run(t, whoCanWorld(t), "can", subject, "-f", "-"); code != ExitOK {
			t.Errorf("can %s (pasted from who-can): exit %d\n%s", subject, code, errOut)
		}
	}
	out, _, _ = run(t, whoCanWorld(t), "can", "system:serviceaccount:team-a:deployer", "-f", "-")
	if !strings.Contains(out, "group:system:authenticated") || strings.Contains(out, "Group ") {
		t.Errorf("can: AS column not in the syntax can takes:\n%s", out)
	}
}
