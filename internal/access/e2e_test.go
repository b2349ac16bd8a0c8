package access

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// requireBinaries fails (or, only outside CI and when asked, skips) when the
// control-plane binaries are missing: a silently skipped differential test
// would look exactly like a passing one.
func requireBinaries(t *testing.T) {
	t.Helper()
	mayskip, err := localcluster.TestBinaries()
	switch {
	case err == nil:
	case mayskip:
		t.Skipf("BULKHEAD_SKIP_E2E=1: %v", err)
	default:
		t.Fatalf("%v (outside CI, BULKHEAD_SKIP_E2E=1 skips this test)", err)
	}
}

// TestAgainstAPIServer is the proof that the engine decides like the API
// server: a random RBAC world is created on a real kube-apiserver (with the
// aggregation controller running), read back, and every answer of the
// engine is compared with the server's SubjectAccessReview and
// SelfSubjectRulesReview.
func TestAgainstAPIServer(t *testing.T) {
	requireBinaries(t)
	if testing.Short() {
		t.Skip("-short: needs a local control plane")
	}
	ctx := t.Context()
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	world := newRandomWorld(20240611, 6)
	rejected := createWorld(ctx, t, cs, world)
	t.Logf("created the world; the API server rejected %d invalid objects", rejected)
	createScopeWorld(ctx, t, cs, world.namespaces)

	t.Run("aggregation", func(t *testing.T) { checkAggregation(ctx, t, cs, world) })
	if t.Failed() {
		t.FailNow()
	}
	waitForAuthorizer(ctx, t, cs, world.namespaces[0])
	snap := listSnapshot(ctx, t, cs)
	eng := New(snap)
	t.Logf("snapshot: %d ClusterRoles, %d ClusterRoleBindings, %d Roles, %d RoleBindings; %+v; %d warnings",
		len(snap.ClusterRoles), len(snap.ClusterRoleBindings), len(snap.Roles), len(snap.RoleBindings), eng.Stats(), len(eng.Warnings()))

	sar := sarClient{cs: cs}
	t.Run("discovery", func(t *testing.T) { checkDiscovery(t, cs) })
	t.Run("allowed", func(t *testing.T) { checkAllowed(ctx, t, sar, eng, snap, world) })
	t.Run("whocan", func(t *testing.T) { checkWhoCan(ctx, t, sar, eng, snap, world) })
	t.Run("rules", func(t *testing.T) { checkRules(ctx, t, cfg, eng, world) })
	t.Run("scope", func(t *testing.T) { checkScope(ctx, t, sar, eng, snap) })
}

// createWorld creates w's objects in dependency order and returns how many
// the API server rejected as invalid; w keeps only the accepted ones.
func createWorld(ctx context.Context, t *testing.T, cs kubernetes.Interface, w *randomWorld) int {
	t.Helper()
	rejected := 0
	create := func(what string, err error) bool {
		var status interface{ Status() metav1.Status }
		if errors.As(err, &status) && status.Status().Reason == metav1.StatusReasonInvalid {
			rejected++
			t.Logf("rejected as intended: %s: %s", what, status.Status().Message)
			return false
		}
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
		return true
	}
	for _, ns := range w.namespaces {
		nsObj := namespaceObject(ns)
		_, err := cs.CoreV1().Namespaces().Create(ctx, &nsObj, metav1.CreateOptions{})
		create("namespace "+ns, err)
	}
	for i := range w.serviceAccounts {
		sa := &w.serviceAccounts[i]
		_, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
		create("serviceaccount "+sa.Name, err)
	}
	w.roles = keep(w.roles, func(r *rbacv1.Role) bool {
		_, err := cs.RbacV1().Roles(r.Namespace).Create(ctx, r, metav1.CreateOptions{})
		return create("role "+r.Name, err)
	})
	w.clusterRoles = keep(w.clusterRoles, func(r *rbacv1.ClusterRole) bool {
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{})
		return create("clusterrole "+r.Name, err)
	})
	w.roleBindings = keep(w.roleBindings, func(b *rbacv1.RoleBinding) bool {
		_, err := cs.RbacV1().RoleBindings(b.Namespace).Create(ctx, b, metav1.CreateOptions{})
		return create("rolebinding "+b.Name, err)
	})
	w.clusterRoleBindings = keep(w.clusterRoleBindings, func(b *rbacv1.ClusterRoleBinding) bool {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		return create("clusterrolebinding "+b.Name, err)
	})
	return rejected
}

func keep[T any](items []T, ok func(*T) bool) []T {
	out := items[:0]
	for i := range items {
		if ok(&items[i]) {
			out = append(out, items[i])
		}
	}
	return out
}

// checkAggregation waits for the aggregation controller to settle and
// compares its result with AggregateClusterRoles run on the roles as they
// were created (ours with their initial rules, bootstrap's admin/edit/view
// empty). It also checks that resolving a settled snapshot changes nothing.
func checkAggregation(ctx context.Context, t *testing.T, cs kubernetes.Interface, w *randomWorld) {
	created := map[string][]rbacv1.PolicyRule{}
	for _, cr := range w.clusterRoles {
		created[cr.Name] = cr.Rules
	}
	var server, ours []rbacv1.ClusterRole
	var diff string
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		server = list.Items
		asCreated := make([]rbacv1.ClusterRole, len(server))
		for i, cr := range server {
			asCreated[i] = cr
			if cr.AggregationRule != nil {
				asCreated[i].Rules = created[cr.Name] // nil for bootstrap roles
			}
		}
		var errs []error
		ours, errs = AggregateClusterRoles(asCreated)
		if len(errs) > 0 {
			t.Fatalf("aggregation errors: %v", errs)
		}
		if diff = aggregationDiff(server, ours); diff == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("aggregation differs from the controller's (after 60s):\n%s", diff)
		}
		time.Sleep(250 * time.Millisecond)
	}
	aggregated := 0
	for _, cr := range server {
		if cr.AggregationRule != nil {
			aggregated++
		}
	}
	for _, cr := range server {
		// The quirk AggregateClusterRoles keeps: nothing selected, so the
		// rules it was created with survive the controller.
		if cr.Name == "diff-agg-empty" && (len(cr.Rules) == 0 || !sameRules(cr.Rules, created[cr.Name])) {
			t.Errorf("diff-agg-empty: server has %v, created with %v", cr.Rules, created[cr.Name])
		}
	}
	again, _ := AggregateClusterRoles(server)
	if d := aggregationDiff(server, again); d != "" {
		t.Errorf("resolving the settled roles again changed them:\n%s", d)
	}
	t.Logf("%d aggregated ClusterRoles (bootstrap and ours, chains included) match the controller", aggregated)
}

func aggregationDiff(server, ours []rbacv1.ClusterRole) string {
	var b strings.Builder
	for i := range server {
		if server[i].AggregationRule == nil {
			continue
		}
		if !sameRules(server[i].Rules, ours[i].Rules) {
			fmt.Fprintf(&b, "%s:\n  server: %v\n  ours:   %v\n", server[i].Name, server[i].Rules, ours[i].Rules)
		}
	}
	return b.String()
}

// waitForAuthorizer creates sentinel grants after everything else and waits
// until SubjectAccessReview sees them: the authorizer reads informers, and
// each informer delivers in order, so by then it has every earlier object.
func waitForAuthorizer(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	rule := res("get", "", "sentinels")
	r := role(ns, "zz-sentinel", rule)
	cr := clusterRole("diff-zz-sentinel", rule)
	rb := roleBinding(ns, "zz-sentinel", "Role", r.Name, userSubject("sentinel-ns"))
	crb := clusterRoleBinding("diff-zz-sentinel", cr.Name, userSubject("sentinel-cluster"))
	must := func(_ any, err error) {
		if err != nil {
			t.Fatalf("create sentinel: %v", err)
		}
	}
	must(cs.RbacV1().Roles(ns).Create(ctx, &r, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoles().Create(ctx, &cr, metav1.CreateOptions{}))
	must(cs.RbacV1().RoleBindings(ns).Create(ctx, &rb, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoleBindings().Create(ctx, &crb, metav1.CreateOptions{}))
	sar := sarClient{cs: cs}
	probes := []struct {
		user UserInfo
		a    Attributes
	}{
		{UserInfo{Name: "sentinel-ns"}, ask("get", "", "sentinels", "", ns)},
		{UserInfo{Name: "sentinel-cluster"}, ask("get", "", "sentinels", "", "")},
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range probes {
		for {
			ok, err := sar.allowed(ctx, p.user, p.a)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the authorizer never saw the sentinel grant to %s", p.user.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// listSnapshot reads the Snapshot the engine is built from.
func listSnapshot(ctx context.Context, t *testing.T, cs kubernetes.Interface) *Snapshot {
	t.Helper()
	var snap Snapshot
	must := func(err error) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	must(err)
	sas, err := cs.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
	must(err)
	roles, err := cs.RbacV1().Roles("").List(ctx, metav1.ListOptions{})
	must(err)
	crs, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	must(err)
	rbs, err := cs.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
	must(err)
	crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	must(err)
	snap.Namespaces, snap.ServiceAccounts = nss.Items, sas.Items
	snap.Roles, snap.ClusterRoles = roles.Items, crs.Items
	snap.RoleBindings, snap.ClusterRoleBindings = rbs.Items, crbs.Items
	return &snap
}

// sarClient asks the API server what RBAC decides.
type sarClient struct{ cs kubernetes.Interface }

func (c sarClient) allowed(ctx context.Context, u UserInfo, a Attributes) (bool, error) {
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: u.Name, Groups: u.Groups}}
	if a.IsResourceRequest() {
		review.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
			Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name,
		}
	} else {
		review.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.NonResourceURL, Verb: a.Verb}
	}
	out, err := c.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subjectaccessreview for %+v %s: %w", u, a, err)
	}
	return out.Status.Allowed, nil
}

// checkDiscovery keeps StandardResources equal to what kube-apiserver 1.34
// serves, once the authorization-only additions are set aside.
func checkDiscovery(t *testing.T, cs kubernetes.Interface) {
	_, lists, err := cs.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string][]string{}
	for _, r := range ResourcesFromDiscovery(lists) {
		if !r.Virtual {
			served[r.Group+"/"+r.Name()] = sortedCopy(r.Verbs)
		}
	}
	table := map[string][]string{}
	for _, r := range StandardResources() {
		if !r.Virtual {
			table[r.Group+"/"+r.Name()] = sortedCopy(r.Verbs)
		}
	}
	if !reflect.DeepEqual(served, table) {
		for k, v := range served {
			if !reflect.DeepEqual(table[k], v) {
				t.Errorf("%s: server %v, table %v", k, v, table[k])
			}
		}
		for k, v := range table {
			if _, ok := served[k]; !ok {
				t.Errorf("%s: in the table (%v) but not served", k, v)
			}
		}
	}
	t.Logf("%d served resources match the built-in table", len(served))
}
