package audit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestListsCoverSnapshot: every object slice of a Snapshot comes from one
// of Lists, and Each names every list, so a kind added to one is not
// forgotten by ReadCluster or by a cache reader.
func TestListsCoverSnapshot(t *testing.T) {
	var l Lists
	each := l.Each()
	lt := reflect.TypeOf(l)
	if len(each) != lt.NumField() {
		t.Errorf("Each returns %d lists; Lists has %d fields", len(each), lt.NumField())
	}
	seen := map[any]bool{}
	for _, e := range each {
		if seen[e.Object] {
			t.Errorf("Each names %s twice", e.Resource)
		}
		seen[e.Object] = true
		if !meta.IsListType(e.Object) {
			t.Errorf("%s: %T is not a list", e.Resource, e.Object)
		}
	}
	for i := range lt.NumField() {
		if !seen[reflect.ValueOf(&l).Elem().Field(i).Addr().Interface()] {
			t.Errorf("Each leaves out Lists.%s", lt.Field(i).Name)
		}
	}

	// Fill every list with one item; every slice of the snapshot must
	// hold it.
	for _, e := range each {
		items := reflect.ValueOf(e.Object).Elem().FieldByName("Items")
		item := reflect.New(items.Type().Elem()).Elem()
		if s, ok := item.Addr().Interface().(*corev1.Secret); ok {
			s.Type = corev1.SecretTypeServiceAccountToken
		}
		items.Set(reflect.Append(items, item))
	}
	snap := l.Snapshot("test", nil)
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch {
			case v.Type().Field(i).Anonymous:
				check(f, name+".")
			case f.Kind() == reflect.Slice && name != "Snapshot.Resources" && f.Len() != 1:
				t.Errorf("%s has %d items from Lists, want 1: Lists lacks the kind", name, f.Len())
			}
		}
	}
	check(reflect.ValueOf(snap).Elem(), "")
	if !snap.Complete || snap.Source != "test" {
		t.Errorf("snapshot Complete=%v Source=%q; want a complete cluster snapshot", snap.Complete, snap.Source)
	}
}

// TestListsSnapshotTokens: whatever a reader put in the Secrets list, the
// snapshot keeps token Secrets only, without their data.
func TestListsSnapshotTokens(t *testing.T) {
	var l Lists
	l.Secrets.Items = []corev1.Secret{
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "tok", Annotations: map[string]string{
				corev1.ServiceAccountNameKey:       "runner",
				corev1.LastAppliedConfigAnnotation: `{"data":{"token":"c2VjcmV0"}}`,
			}},
			Type: corev1.SecretTypeServiceAccountToken,
			Data: map[string][]byte{"token": []byte("secret")},
		},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pw"}, Type: corev1.SecretTypeOpaque, StringData: map[string]string{"pw": "x"}},
	}
	snap := l.Snapshot("test", nil)
	if len(snap.Secrets) != 1 || snap.Secrets[0].Name != "tok" {
		t.Fatalf("secrets = %+v; want the token Secret only", snap.Secrets)
	}
	s := snap.Secrets[0]
	if s.Data != nil || len(s.Annotations) != 1 || s.Annotations[corev1.ServiceAccountNameKey] != "runner" {
		t.Errorf("token Secret kept %+v; want its ServiceAccount annotation and no data", s)
	}
}

// TestFindingsOnly: skipping the matrix and drill-down changes no finding,
// over the synthetic cluster (every mistake it makes) and every rule case.
func TestFindingsOnly(t *testing.T) {
	snaps := map[string]*Snapshot{"synthetic": SyntheticCluster(300, 0.5, 7)}
	dirs, err := os.ReadDir(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), "read-") {
			continue
		}
		snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, d.Name())}, nil)
		if err != nil {
			continue // the invalid fixtures of the reader's own tests
		}
		snaps[d.Name()] = snap
	}
	if len(snaps) < 20 {
		t.Fatalf("only %d snapshots read; the rule fixtures moved?", len(snaps))
	}
	for name, snap := range snaps {
		tenants, err := Tenants(snap, TenantOptions{})
		if err != nil {
			t.Fatal(err)
		}
		full, err := Run(snap, tenants)
		if err != nil {
			t.Fatal(err)
		}
		lean, err := RunWith(snap, tenants, RunOptions{FindingsOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Findings) == 0 && name == "synthetic" {
			t.Fatal("the synthetic cluster has no findings: the comparison proves nothing")
		}
		if !reflect.DeepEqual(full.Findings, lean.Findings) {
			t.Errorf("%s: findings differ with FindingsOnly: %d findings, %d with", name, len(full.Findings), len(lean.Findings))
		}
		if !reflect.DeepEqual(full.Tenants, lean.Tenants) {
			t.Errorf("%s: tenant summaries differ with FindingsOnly", name)
		}
		if len(lean.Access) != 0 || len(lean.Subjects) != 0 || len(lean.RuleLists) != 0 {
			t.Errorf("%s: FindingsOnly still built %d cells, %d subjects", name, len(lean.Access), len(lean.Subjects))
		}
		if name == "synthetic" && (len(full.Access) == 0 || len(full.Subjects) == 0) {
			t.Errorf("the full run built no matrix")
		}
	}
}

// TestRunLeavesSnapshot: Run only reads its snapshot, so a snapshot may
// share its objects with an informer cache.
func TestRunLeavesSnapshot(t *testing.T) {
	snap := SyntheticCluster(200, 0.5, 3)
	snap.Secrets = append(snap.Secrets, corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-00001", Name: "t",
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "runner"}}, Type: corev1.SecretTypeServiceAccountToken})
	snap.RoleBindings = append(snap.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-00002", Name: "defaulted"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "runner"}}}) // namespace defaulted by the engine
	before := deepCopySnapshot(snap)
	tenants, err := Tenants(snap, TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []RunOptions{{}, {FindingsOnly: true}} {
		if _, err := RunWith(snap, tenants, opts); err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(before, snap) {
			t.Fatalf("RunWith(%+v) changed its snapshot", opts)
		}
	}
}

func deepCopySnapshot(s *Snapshot) *Snapshot {
	out := *s
	out.Namespaces = deepCopyAll(s.Namespaces, (*corev1.Namespace).DeepCopy)
	out.ServiceAccounts = deepCopyAll(s.ServiceAccounts, (*corev1.ServiceAccount).DeepCopy)
	out.Roles = deepCopyAll(s.Roles, (*rbacv1.Role).DeepCopy)
	out.ClusterRoles = deepCopyAll(s.ClusterRoles, (*rbacv1.ClusterRole).DeepCopy)
	out.RoleBindings = deepCopyAll(s.RoleBindings, (*rbacv1.RoleBinding).DeepCopy)
	out.ClusterRoleBindings = deepCopyAll(s.ClusterRoleBindings, (*rbacv1.ClusterRoleBinding).DeepCopy)
	out.Secrets = deepCopyAll(s.Secrets, (*corev1.Secret).DeepCopy)
	out.NetworkPolicies = deepCopyAll(s.NetworkPolicies, (*networkingv1.NetworkPolicy).DeepCopy)
	out.ResourceQuotas = deepCopyAll(s.ResourceQuotas, (*corev1.ResourceQuota).DeepCopy)
	out.AdmissionPolicies = deepCopyAll(s.AdmissionPolicies, (*admissionregistrationv1.ValidatingAdmissionPolicy).DeepCopy)
	out.AdmissionPolicyBindings = deepCopyAll(s.AdmissionPolicyBindings, (*admissionregistrationv1.ValidatingAdmissionPolicyBinding).DeepCopy)
	return &out
}

func deepCopyAll[T any](in []T, copyOf func(*T) *T) []T {
	out := make([]T, len(in))
	for i := range in {
		out[i] = *copyOf(&in[i])
	}
	return out
}
