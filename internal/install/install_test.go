package install

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

const (
	controllerNamespace = "bulkhead-system"
	controllerSA        = "system:serviceaccount:" + controllerNamespace + ":bulkhead-controller"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestInstall walks one cluster through an installation's life: a dry run
// on a fresh cluster, the install, a second run, drift, another image, and
// then what the controller's ServiceAccount may and may not do.
func TestInstall(t *testing.T) {
	cfg := needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m, err := Render(Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewApplier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	names := func(rs []Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Object)
		}
		return out
	}
	wantAll := func(t *testing.T, rs []Result, action Action) {
		t.Helper()
		if len(rs) != len(m.Objects) {
			t.Fatalf("%d results for %d objects: %v", len(rs), len(m.Objects), names(rs))
		}
		for _, r := range rs {
			if r.Action != action {
				t.Errorf("%s: %s, want %s", r.Object, r.Action, action)
			}
		}
	}

	t.Run("a server dry run on a fresh cluster writes nothing", func(t *testing.T) {
		rs, err := a.Apply(ctx, m.Objects, ApplyOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		wantAll(t, rs, Created)
		for _, r := range rs {
			inNamespace := !strings.HasPrefix(r.Object, "namespace/") && !strings.Contains(r.Object, "cluster") &&
				!strings.HasPrefix(r.Object, "customresourcedefinition")
			if got := r.Unchecked != ""; got != inNamespace {
				t.Errorf("%s: unchecked %q; want it unchecked only in the namespace the install creates", r.Object, r.Unchecked)
			}
		}
		if _, err := dyn.Resource(crdGVR).Get(ctx, "tenants.bulkhead.dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after a dry run, get the Tenant CRD: %v, want NotFound", err)
		}
		if _, err := admin.CoreV1().Namespaces().Get(ctx, controllerNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after a dry run, get namespace %s: %v, want NotFound", controllerNamespace, err)
		}
	})

	t.Run("install creates every object, CRDs first and Established", func(t *testing.T) {
		rs, err := a.Apply(ctx, m.Objects, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantAll(t, rs, Created)
		if got := names(rs)[:2]; !slices.Equal(got, []string{
			"customresourcedefinition.apiextensions.k8s.io/tenantdefaults.bulkhead.dev",
			"customresourcedefinition.apiextensions.k8s.io/tenants.bulkhead.dev",
		}) {
			t.Errorf("first applied: %v, want the two CRDs", got)
		}
		// Established means served: a Tenant list answers.
		tenants := schema.GroupVersionResource{Group: "bulkhead.dev", Version: "v1alpha1", Resource: "tenants"}
		if _, err := dyn.Resource(tenants).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list tenants right after install: %v", err)
		}
		if _, err := admin.RbacV1().ClusterRoles().Get(ctx, "bulkhead-controller", metav1.GetOptions{}); err != nil {
			t.Errorf("get the controller's ClusterRole: %v", err)
		}
	})

	t.Run("a second install changes nothing", func(t *testing.T) {
		rs, err := a.Apply(ctx, m.Objects, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantAll(t, rs, Unchanged)
		rs, err = a.Apply(ctx, m.Objects, ApplyOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		wantAll(t, rs, Unchanged)
	})

	t.Run("kubectl's server-side dry run accepts the printed manifests", func(t *testing.T) {
		out := string(kubectl(t, m.YAML, "--kubeconfig", testCluster.KubeconfigPath(),
			"apply", "--server-side", "--field-manager", v1alpha1.FieldManager, "--dry-run=server", "-f", "-"))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(m.Objects) {
			t.Fatalf("kubectl applied %d objects, want %d:\n%s", len(lines), len(m.Objects), out)
		}
		for _, l := range lines {
			if !strings.HasSuffix(l, "serverside-applied (server dry run)") {
				t.Errorf("kubectl: %q", l)
			}
		}
	})

	t.Run("drift is configured back", func(t *testing.T) {
		deployments := admin.AppsV1().Deployments(controllerNamespace)
		_, err := deployments.UpdateScale(ctx, "bulkhead-controller", &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "bulkhead-controller", Namespace: controllerNamespace},
			Spec:       autoscalingv1.ScaleSpec{Replicas: 1},
		}, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := a.Apply(ctx, m.Objects, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			want := Unchanged
			if r.Object == "deployment.apps/bulkhead-controller" {
				want = Configured
			}
			if r.Action != want {
				t.Errorf("%s: %s, want %s", r.Object, r.Action, want)
			}
		}
		d, err := deployments.Get(ctx, "bulkhead-controller", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 2 {
			t.Errorf("replicas after install: %d, want 2", *d.Spec.Replicas)
		}
	})

	t.Run("another image changes only the Deployment", func(t *testing.T) {
		const image = "registry.example.com/bulkhead:v9.9.9"
		other, err := Render(Options{Image: image})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := a.Apply(ctx, other.Objects, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if want := map[bool]Action{true: Configured, false: Unchanged}[r.Object == "deployment.apps/bulkhead-controller"]; r.Action != want {
				t.Errorf("%s: %s, want %s", r.Object, r.Action, want)
			}
		}
		d, err := admin.AppsV1().Deployments(controllerNamespace).Get(ctx, "bulkhead-controller", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
			t.Errorf("image %q, want %q", got, image)
		}
	})

	controller := asController(t, cfg)

	t.Run("the controller's ServiceAccount reconciles, revokes and offboards a tenant", func(t *testing.T) {
		tn := v1alpha1.Tenant{}
		tn.Name = "lab"
		tn.Spec.Members = []v1alpha1.Member{
			{Kind: v1alpha1.ServiceAccountMember, Name: "ana", Role: v1alpha1.AdminRole},
			{Kind: v1alpha1.UserMember, Name: "carl@example.com", Role: v1alpha1.EditRole},
		}
		spec.Default(&tn)
		r := apply.New(controller, apply.Options{})
		if cs := r.ReconcileShared(ctx); cs.Err != nil {
			t.Fatalf("reconcile the shared admission policy as %s: %v", controllerSA, cs.Err)
		}
		cs := r.Reconcile(ctx, tn, apply.Scope{TenantSet: v1alpha1.ControllerTenantSet})
		if cs.Err != nil {
			t.Fatalf("reconcile tenant lab as %s: %v", controllerSA, cs.Err)
		}
		if n := cs.Count(apply.Created); n == 0 {
			t.Fatalf("reconcile created nothing: %+v", cs.Changes)
		}
		// The Role grants what the controller does not hold itself.
		role, err := admin.RbacV1().Roles(tn.Spec.Namespace).Get(ctx, "bulkhead-admin", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(role.Rules, func(r rbacRule) bool { return slices.Contains(r.Resources, "pods/exec") }) {
			t.Errorf("Role %s/bulkhead-admin has no pods/exec rule: %+v", tn.Spec.Namespace, role.Rules)
		}
		if cs := r.Reconcile(ctx, tn, apply.Scope{TenantSet: v1alpha1.ControllerTenantSet}); cs.Err != nil || cs.Pending() {
			t.Errorf("second reconcile: err %v, pending %v", cs.Err, cs.Pending())
		}
		if _, err := credentials.Revoke(ctx, controller.CoreV1(), tn.Spec.Namespace, "ana", v1alpha1.OwnershipLabels(tn.Name), true); err != nil {
			t.Errorf("revoke ana as %s: %v", controllerSA, err)
		}
		if cs := r.Offboard(ctx, tn.Name, apply.Scope{}); cs.Err != nil {
			t.Fatalf("offboard lab as %s: %v", controllerSA, cs.Err)
		}
		ns, err := admin.CoreV1().Namespaces().Get(ctx, tn.Spec.Namespace, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Labels[v1alpha1.StateLabel] != v1alpha1.StateCordoned {
			t.Errorf("namespace %s after offboard: labels %v, want it cordoned", ns.Name, ns.Labels)
		}
	})

	t.Run("escalate and bind hold for bulkhead's Role names only", func(t *testing.T) {
		escalationChecks(ctx, t, admin, controller)
	})
}

// asController is a client that acts as the controller's ServiceAccount,
// with the groups the API server gives every ServiceAccount.
func asController(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: controllerSA,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + controllerNamespace, "system:authenticated"}}
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return client
}
