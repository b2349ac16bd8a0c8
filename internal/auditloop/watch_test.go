package auditloop

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// TestObjectsAreTheAuditsKinds: the cache holds, and Watch watches, every
// kind of audit.Lists, and the Tenant; Secrets only as stripped tokens.
func TestObjectsAreTheAuditsKinds(t *testing.T) {
	var lists audit.Lists
	objs := Objects()
	if len(objs) != len(lists.Each())+1 {
		t.Fatalf("Objects() has %d kinds; audit.Lists has %d, plus the Tenant", len(objs), len(lists.Each()))
	}
	for i, e := range lists.Each() {
		item := reflect.ValueOf(e.Object).Elem().FieldByName("Items").Type().Elem()
		if reflect.TypeOf(objs[i]).Elem() != item {
			t.Errorf("Objects()[%d] is %T; %s holds %v", i, objs[i], e.Resource, item)
		}
	}
	if _, ok := objs[len(objs)-1].(*v1alpha1.Tenant); !ok {
		t.Errorf("the last object is %T, want the Tenant", objs[len(objs)-1])
	}
	by := CacheByObject()
	if len(by) != len(objs) {
		t.Errorf("CacheByObject has %d kinds, want %d", len(by), len(objs))
	}
	var secrets int
	for o, b := range by {
		if _, ok := o.(*corev1.Secret); !ok {
			if b.Field != nil || b.Label != nil || b.Transform != nil {
				t.Errorf("%T is narrowed in the cache; the audit needs all of it", o)
			}
			continue
		}
		secrets++
		if b.Field == nil || b.Field.String() != "type=kubernetes.io/service-account-token" || b.Transform == nil {
			t.Errorf("Secrets cached with field %v, transform %v; want token Secrets only, stripped", b.Field, b.Transform != nil)
		}
	}
	if secrets != 1 {
		t.Errorf("%d Secret entries in CacheByObject, want 1", secrets)
	}
}

// TestStripToken: what the cache keeps of a token Secret holds no token.
func TestStripToken(t *testing.T) {
	in := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "tok", UID: "u1", ResourceVersion: "7", Labels: map[string]string{"l": "v"},
			Annotations: map[string]string{
				corev1.ServiceAccountNameKey:       "runner",
				corev1.LastAppliedConfigAnnotation: `{"data":{"token":"c2VjcmV0"}}`,
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Type:       corev1.SecretTypeServiceAccountToken,
		Data:       map[string][]byte{"token": []byte("secret")},
		StringData: map[string]string{"x": "y"},
	}
	out, err := StripToken(in)
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*corev1.Secret)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "tok", UID: "u1", ResourceVersion: "7", Labels: map[string]string{"l": "v"},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "runner"}},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("StripToken = %+v\nwant %+v", s, want)
	}
	if in.Data == nil {
		t.Errorf("StripToken changed its input")
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	if got, _ := StripToken(role); got != role {
		t.Errorf("StripToken changed a %T", role)
	}
}

func TestRelevantUpdate(t *testing.T) {
	rb := func(rv string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x", ResourceVersion: rv}}
	}
	tn := func(rv, spec, status string) *v1alpha1.Tenant {
		return &v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "t", ResourceVersion: rv},
			Spec: v1alpha1.TenantSpec{Namespace: spec}, Status: v1alpha1.TenantStatus{Namespace: status}}
	}
	withAudit := tn("3", "a", "a")
	withAudit.Status.Audit = &v1alpha1.AuditStatus{Critical: 1}
	for _, c := range []struct {
		name     string
		old, cur any
		want     bool
	}{
		{"resync", rb("1"), rb("1"), false},
		{"binding changed", rb("1"), rb("2"), true},
		{"tenant status written", tn("2", "a", "a"), withAudit, false},
		{"tenant namespace set in status", tn("1", "a", ""), tn("2", "a", "a"), true},
		{"tenant namespace changed", tn("1", "a", "a"), tn("2", "b", "a"), true},
		{"not an object", "x", "y", true},
	} {
		if got := relevantUpdate(c.old, c.cur); got != c.want {
			t.Errorf("%s: relevantUpdate = %v, want %v", c.name, got, c.want)
		}
	}
}
