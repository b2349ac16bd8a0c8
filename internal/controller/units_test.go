package controller

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// The cache indexes no fields: the lister must apply the core's field
// selectors itself, and its label selectors through the cache.
func TestCacheListerSelectors(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	managed := map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}
	tenantLabels := func(tenant string, managed bool) map[string]string {
		l := map[string]string{v1alpha1.TenantLabel: tenant}
		if managed {
			l[v1alpha1.ManagedByLabel] = v1alpha1.ManagedByValue
		}
		return l
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	for field, fn := range namespaceIndexes {
		b = b.WithIndex(&corev1.Namespace{}, field, fn)
	}
	c := b.WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tok", Namespace: "a", Labels: managed}, Type: corev1.SecretTypeServiceAccountToken},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "a", Labels: managed}, Type: corev1.SecretTypeOpaque},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled", Namespace: "a"}, Type: corev1.SecretTypeServiceAccountToken},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "b", Labels: managed}, Type: corev1.SecretTypeServiceAccountToken},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ana-ws", Labels: tenantLabels("ana", true)}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bo-ws", Labels: tenantLabels("bo", true)}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cy-ws", Labels: tenantLabels("cy", true)}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ana-fake", Labels: tenantLabels("ana", false)}},
	).Build()
	list := cacheLister(c)
	names := func(l []string) string { slices.Sort(l); return strings.Join(l, ",") }

	var secrets corev1.SecretList
	opts := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector, FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)}
	if err := list(context.Background(), &secrets, "a", opts); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range secrets.Items {
		got = append(got, s.Name)
	}
	if names(got) != "tok" {
		t.Errorf("token Secrets in a = %v, want [tok]", got)
	}

	var nss corev1.NamespaceList
	if err := list(context.Background(), &nss, "", metav1.ListOptions{FieldSelector: "metadata.name=b"}); err != nil {
		t.Fatal(err)
	}
	if len(nss.Items) != 1 || nss.Items[0].Name != "b" {
		t.Errorf("namespaces named b = %v", nss.Items)
	}
	nsNames := func(opts metav1.ListOptions) string {
		t.Helper()
		var nss corev1.NamespaceList
		if err := list(context.Background(), &nss, "", opts); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nss.Items {
			got = append(got, n.Name)
		}
		return names(got)
	}
	for _, tc := range []struct {
		opts metav1.ListOptions
		want string
	}{
		{metav1.ListOptions{FieldSelector: "metadata.name=nowhere"}, ""},
		{metav1.ListOptions{FieldSelector: "metadata.name=ana-ws", LabelSelector: v1alpha1.ManagedSelector}, "ana-ws"},
		{metav1.ListOptions{FieldSelector: "metadata.name=ana-fake", LabelSelector: v1alpha1.ManagedSelector}, ""},
		{metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector + "," + v1alpha1.TenantLabel + " in (ana,cy,dee)"}, "ana-ws,cy-ws"},
		{metav1.ListOptions{LabelSelector: v1alpha1.TenantLabel + "=ana"}, "ana-fake,ana-ws"},
		{metav1.ListOptions{LabelSelector: v1alpha1.TenantLabel + " notin (ana)"}, "a,b,bo-ws,cy-ws"}, // no label is not ana
		{metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector}, "ana-ws,bo-ws,cy-ws"},
		{metav1.ListOptions{}, "a,ana-fake,ana-ws,b,bo-ws,cy-ws"},
	} {
		if got := nsNames(tc.opts); got != tc.want {
			t.Errorf("namespaces with %+v = [%s], want [%s]", tc.opts, got, tc.want)
		}
	}
	if err := list(context.Background(), &nss, "", metav1.ListOptions{LabelSelector: "a in ("}); err == nil {
		t.Error("a broken label selector was accepted")
	}
}

func TestSubjectNamespaces(t *testing.T) {
	got := subjectNamespaces([]rbacv1.Subject{
		{Kind: rbacv1.ServiceAccountKind, Name: "x", Namespace: "team-a"},
		{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:team-b"},
		{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts"}, // every namespace: not one tenant's
		{Kind: rbacv1.UserKind, Name: "system:serviceaccount:team-c:y"},
	})
	if strings.Join(got, ",") != "team-a,team-b" {
		t.Errorf("subjectNamespaces = %v, want [team-a team-b]", got)
	}
}

func TestDegradedReasons(t *testing.T) {
	r := &TenantReconciler{}
	cases := []struct {
		name   string
		st     v1alpha1.TenantStatus
		apply  string
		status metav1.ConditionStatus
		reason string
	}{
		{"healthy", v1alpha1.TenantStatus{Verification: &v1alpha1.VerificationStatus{Passed: 3}, Audit: &v1alpha1.AuditStatus{Medium: 2}},
			"", metav1.ConditionFalse, v1alpha1.ReasonAsExpected},
		{"apply failed", v1alpha1.TenantStatus{}, "boom", metav1.ConditionTrue, v1alpha1.ReasonApplyFailed},
		{"check failed", v1alpha1.TenantStatus{Verification: &v1alpha1.VerificationStatus{Passed: 3, Failed: 1,
			Failures: []v1alpha1.VerificationFailure{{Member: "ServiceAccount/x", Action: "list pods", Namespace: "b", Expected: "forbidden", Got: "allowed"}}}},
			"", metav1.ConditionTrue, v1alpha1.ReasonVerificationFailed},
		{"critical finding", v1alpha1.TenantStatus{Audit: &v1alpha1.AuditStatus{Critical: 1, Top: []v1alpha1.AuditFinding{{Rule: "cross-tenant", Message: "m"}}}},
			"", metav1.ConditionTrue, v1alpha1.ReasonFindings},
	}
	for _, c := range cases {
		st := c.st
		r.degraded(&st, c.apply)
		got := readyish(st.Conditions, v1alpha1.ConditionDegraded)
		if got == nil || got.Status != c.status || got.Reason != c.reason {
			t.Errorf("%s: Degraded = %+v, want %s/%s", c.name, got, c.status, c.reason)
		}
	}
}

func readyish(cs []metav1.Condition, typ string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

// Hints name the command that resolves a conflict from the controller's side.
func TestConflictHints(t *testing.T) {
	c := &apply.ConflictError{Object: apply.Ref{Kind: "Namespace", APIVersion: "v1", Name: "lab"}, Tenant: "lab", Reason: apply.OtherTenantSet}
	if h := conflictHint(c); !strings.Contains(h, "kubectl label namespace lab "+v1alpha1.TenantSetLabel+"="+v1alpha1.ControllerTenantSet+" --overwrite") {
		t.Errorf("hint for a CLI tenant = %q", h)
	}
	msg := conflictMessage([]*apply.ConflictError{c})
	if !strings.Contains(msg, "managed by the bulkhead CLI") {
		t.Errorf("conflict message = %q", msg)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("x", 5000)
	if got := truncate(long); len(got) != 1024 || !strings.HasSuffix(got, "...") {
		t.Errorf("truncate kept %d bytes", len(got))
	}
	if truncate("short") != "short" {
		t.Error("truncate changed a short message")
	}
}
