package audit

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// auditYAML audits manifests given inline.
func auditYAML(t *testing.T, docs ...string) *Report {
	t.Helper()
	snap, _, err := ParseFiles([]spec.File{{Name: "inline.yaml", Data: []byte(strings.Join(docs, "\n---\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	return mustAudit(t, snap, TenantOptions{})
}

func managedNS(name, users string) string {
	return `apiVersion: v1
kind: Namespace
metadata:
  name: ` + name + `
  labels: {app.kubernetes.io/managed-by: bulkhead, bulkhead.dev/tenant: ` + name + `, pod-security.kubernetes.io/enforce: baseline}
  annotations: {bulkhead.dev/users: "` + users + `"}`
}

const secretsReader = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: bob}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, list]}`

// A user of one bulkhead tenant bound by hand in another's namespace is
// cross-tenant access, not a second membership.
func TestHandBindingInManagedTenantIsCrossTenant(t *testing.T) {
	r := auditYAML(t, managedNS("alice", "alice"), managedNS("bob", "bob"), secretsReader, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: oops, namespace: bob}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: reader, apiGroup: rbac.authorization.k8s.io}`)
	expect("cross-tenant-access").sev(Critical).of("alice", "User alice").in("bob").via("RoleBinding bob/oops").find(t, r)
	expect("foreign-binding").sev(Medium).in("bob").via("RoleBinding bob/oops").find(t, r)
	expect("shared-member").absent(t, r)
}

// Rights a tenant subject holds in a namespace no tenant owns are judged.
func TestRightsOutsideTenants(t *testing.T) {
	r := auditYAML(t, managedNS("alice", ""), `apiVersion: v1
kind: ServiceAccount
metadata: {name: alice-user, namespace: alice}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: admin, namespace: kube-system}
rules:
- {apiGroups: [""], resources: [secrets, pods], verbs: ["*"]}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-admin, namespace: kube-system}
subjects: [{kind: ServiceAccount, name: alice-user, namespace: alice}]
roleRef: {kind: Role, name: admin, apiGroup: rbac.authorization.k8s.io}`)
	expect("outside-tenant").sev(Critical).of("alice", "ServiceAccount alice/alice-user").in("kube-system").
		via("RoleBinding kube-system/alice-admin").find(t, r)
}

// A ClusterRoleBinding on a resource audit does not know (a CRD, offline)
// is taken as namespaced: it reaches every tenant.
func TestUnknownResourcesAreNamespaced(t *testing.T) {
	r := auditYAML(t, managedNS("alice", ""), `apiVersion: v1
kind: ServiceAccount
metadata: {name: alice-user, namespace: alice}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: notebooks}
rules:
- {apiGroups: [kubeflow.org], resources: [notebooks], verbs: [get, list, create, delete]}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-notebooks}
subjects: [{kind: ServiceAccount, name: alice-user, namespace: alice}]
roleRef: {kind: ClusterRole, name: notebooks, apiGroup: rbac.authorization.k8s.io}`)
	expect("cluster-binding").sev(Critical).of("alice", "ServiceAccount alice/alice-user").via("ClusterRoleBinding alice-notebooks").find(t, r)
}

// A ClusterRole naming another tenant's Namespace lets its holder strip
// that namespace's pod security.
func TestNamespaceWriteOnAnotherTenant(t *testing.T) {
	r := auditYAML(t, managedNS("alice", ""), managedNS("bob", ""), `apiVersion: v1
kind: ServiceAccount
metadata: {name: alice-user, namespace: alice}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: label-bob}
rules:
- {apiGroups: [""], resources: [namespaces], resourceNames: [bob], verbs: [patch]}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-labels-bob}
subjects: [{kind: ServiceAccount, name: alice-user, namespace: alice}]
roleRef: {kind: ClusterRole, name: label-bob, apiGroup: rbac.authorization.k8s.io}`)
	expect("namespace-write").sev(Critical).of("alice", "ServiceAccount alice/alice-user").in("bob").
		via("ClusterRoleBinding alice-labels-bob").find(t, r)
}

// bulkhead's admission policy contains a tenant admin only while it is the
// policy bulkhead renders, failing closed, bound with Deny.
func TestAdmissionPolicyMustBeBulkheads(t *testing.T) {
	const team = `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata: {name: vision}
spec:
  members:
  - {name: lead, kind: User, role: admin}`
	audit := func(change func(*Snapshot)) *Report {
		snap, _, err := ParseFiles([]spec.File{{Name: "team.yaml", Data: []byte(team)}})
		if err != nil {
			t.Fatal(err)
		}
		change(snap)
		return mustAudit(t, snap, TenantOptions{})
	}
	expect("rolebinding-write").sev(Low).of("vision", "User lead").find(t, audit(func(*Snapshot) {}))
	expect("rolebinding-write").sev(High).of("vision", "User lead").find(t, audit(func(s *Snapshot) {
		s.AdmissionPolicies[0].Spec.Validations[0].Expression = "true"
	}))
	expect("rolebinding-write").sev(High).of("vision", "User lead").find(t, audit(func(s *Snapshot) {
		s.AdmissionPolicies = nil
	}))
}

// The report does not depend on how many workers ran the rules (only the
// count of questions asked does).
func TestReportIndependentOfCores(t *testing.T) {
	snap := SyntheticCluster(300, 0.2, 3)
	tenants, err := Tenants(snap, TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, procs := range []int{1, 3} {
		prev := runtime.GOMAXPROCS(procs)
		r, err := Run(snap, tenants)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		r.Summary.Questions = 0
		var b bytes.Buffer
		if err := WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
	}
	if outs[0] != outs[1] {
		t.Errorf("reports with 1 and 3 workers differ")
	}
}
