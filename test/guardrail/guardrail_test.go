package guardrail

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

const (
	ns    = "team"
	admin = "lead@example.com"
)

const teamSpec = `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: team
spec:
  members:
  - {name: lead@example.com, kind: User, role: admin}
`

// A second admin joins the team once the policy exists.
const teamSpecTwoAdmins = teamSpec + "  - {name: deputy@example.com, kind: User, role: admin}\n"

// foreign are another tenant's identities, which the team's admin must
// never be able to bind.
var foreign = []rbacv1.Subject{
	{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccount:other:other-user"},
	{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts:other"},
}

// TestFirstApplyHoldsAdminUntilPolicyEnforced applies a team with an admin
// through the reconcile core on a cluster that has never seen bulkhead,
// while the admin tries to bind another tenant's identities from the moment
// the namespace exists.
func TestFirstApplyHoldsAdminUntilPolicyEnforced(t *testing.T) {
	c := freshCluster(t)
	ctx := t.Context()
	var reqs requests
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	cfg.Wrap(reqs.wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	a := startAttack(t, c)
	sets := reconcile(ctx, t, client, teamSpec)
	a.stop(t)
	for _, cs := range sets {
		if cs.Err != nil {
			t.Fatalf("apply %q: %v", cs.Tenant, cs.Err)
		}
	}
	a.check(ctx, t, client)
	if n := reqs.count(http.MethodPost, "/selfsubjectreviews"); n != 1 {
		t.Errorf("the first apply asked who it is %d times, want 1 (one probe)", n)
	}
	reqs.probedBeforeAdmin(t, admin)
	t.Logf("%d dry-run probes before the policy was enforced", reqs.count(http.MethodPost, "/rolebindings?dryRun=All"))
	// The probe's own grant is gone.
	if _, err := client.RbacV1().Roles(ns).Get(ctx, "bulkhead-guardrail-probe", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("role bulkhead-guardrail-probe after the apply: %v, want not found", err)
	}
	if _, err := client.RbacV1().RoleBindings(ns).Get(ctx, "bulkhead-guardrail-probe", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("rolebinding bulkhead-guardrail-probe after the apply: %v, want not found", err)
	}

	// A run that finds nothing to do writes nothing and probes nothing.
	reqs.reset()
	reconcile(ctx, t, client, teamSpec)
	if n := reqs.writes(); n != 0 {
		t.Errorf("a no-op apply sent %d writes, want 0: %v", n, reqs.all())
	}
	// A new admin under a policy that exists and is unchanged: no probe.
	reqs.reset()
	for _, cs := range reconcile(ctx, t, client, teamSpecTwoAdmins) {
		if cs.Err != nil {
			t.Fatalf("apply %q with a second admin: %v", cs.Tenant, cs.Err)
		}
	}
	if n := reqs.count(http.MethodPost, "/selfsubjectreviews"); n != 0 {
		t.Errorf("adding an admin under an unchanged policy probed it (%d self reviews): %v", n, reqs.all())
	}
	deputy := v1alpha1.BindingName(v1alpha1.Member{Kind: v1alpha1.UserMember, Name: "deputy@example.com", Role: v1alpha1.AdminRole})
	if _, err := client.RbacV1().RoleBindings(ns).Get(ctx, deputy, metav1.GetOptions{}); err != nil {
		names := bindingNames(ctx, t, client)
		t.Errorf("the second admin's binding: %v (bindings in %s: %v)", err, ns, names)
	}
}

// TestControllerHoldsAdminUntilPolicyEnforced goes the controller's way:
// ReconcileShared writes the policy, then one tenant is reconciled by
// another Reconciler sharing the Enforcement (the controller's Live and
// Adopting), as the controller's ServiceAccount with its ClusterRole, whom
// the policy is not exempting: the probe goes as bulkhead itself.
func TestControllerHoldsAdminUntilPolicyEnforced(t *testing.T) {
	c := freshCluster(t)
	ctx := t.Context()
	admin, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	bindControllerRole(ctx, t, admin)
	var reqs requests
	cfg := c.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: controllerUser}
	cfg.Wrap(reqs.wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitAllowed(ctx, t, client)
	ts, err := spec.Parse("team.yaml", []byte(teamSpec))
	if err != nil {
		t.Fatal(err)
	}
	enf := &apply.Enforcement{}
	live := apply.New(client, apply.Options{Enforcement: enf})
	adopting := apply.New(client, apply.Options{Adopt: true, Enforcement: enf})

	reqs.reset()
	a := startAttack(t, c)
	shared := live.ReconcileShared(ctx)
	cs := adopting.Reconcile(ctx, ts[0].Tenant, apply.Scope{TenantSet: v1alpha1.ControllerTenantSet})
	a.stop(t)
	if shared.Err != nil || cs.Err != nil {
		t.Fatalf("reconcile: shared %v, tenant %v", shared.Err, cs.Err)
	}
	a.check(ctx, t, admin)
	reqs.probedBeforeAdmin(t, "lead@example.com")
	if n := reqs.count(http.MethodPatch, "/roles/bulkhead-guardrail-probe"); n != 0 {
		t.Errorf("the controller's identity is not exempt from the policy, yet the probe granted itself a role (%d writes)", n)
	}
}

// TestBulkheadApplyHoldsAdminUntilPolicyEnforced is the same race against
// the real binary.
func TestBulkheadApplyHoldsAdminUntilPolicyEnforced(t *testing.T) {
	c := freshCluster(t)
	ctx := t.Context()
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := startAttack(t, c)
	cmd := exec.CommandContext(ctx, bulkheadBin, "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(teamSpec)
	out, err := cmd.CombinedOutput()
	a.stop(t)
	if err != nil {
		t.Fatalf("bulkhead apply: %v\n%s", err, out)
	}
	lead := v1alpha1.BindingName(v1alpha1.Member{Kind: v1alpha1.UserMember, Name: admin, Role: v1alpha1.AdminRole})
	if want := "rolebinding.rbac.authorization.k8s.io/" + lead + " in team created"; !strings.Contains(string(out), want) {
		t.Errorf("bulkhead apply does not say %q:\n%s", want, out)
	}
	a.check(ctx, t, client)
}

// reconcile applies a spec with the shared objects, as one CLI run does.
func reconcile(ctx context.Context, t *testing.T, client kubernetes.Interface, doc string) []apply.ChangeSet {
	t.Helper()
	ts, err := spec.Parse("team.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tenants := make([]v1alpha1.Tenant, len(ts))
	for i, x := range ts {
		tenants[i] = x.Tenant
	}
	r := apply.New(client, apply.Options{})
	p, err := r.Plan(ctx, tenants, true, apply.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Execute(ctx, p)
}

// attack is the team's admin binding foreign identities, from several
// goroutines, as fast as the API server answers.
type attack struct {
	client   kubernetes.Interface
	cancel   context.CancelFunc
	done     atomic.Bool // the apply returned
	wg       sync.WaitGroup
	mu       sync.Mutex
	admitted []string // bindings the server created
	failures []string // attackers that never saw the policy refuse
	attempts atomic.Int64
	refused  atomic.Int64 // refusals by the admission policy
}

func startAttack(t *testing.T, c *localcluster.Cluster) *attack {
	t.Helper()
	cfg := c.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: admin}
	cfg.QPS, cfg.Burst = 1000, 2000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded so that a policy that never comes fails the test rather than
	// hanging it.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	a := &attack{client: client, cancel: cancel}
	for w := range 4 {
		a.wg.Add(1)
		go a.run(ctx, w)
	}
	return a
}

// run tries to bind foreign identities until the apply returned and the
// policy has refused this attacker once since.
func (a *attack) run(ctx context.Context, w int) {
	defer a.wg.Done()
	for i := w; ; i++ {
		after := a.done.Load()
		s := foreign[i%len(foreign)]
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "stolen-", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: v1alpha1.RoleObjectName(v1alpha1.ViewRole)},
			Subjects:   []rbacv1.Subject{s},
		}
		got, err := a.client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
		a.attempts.Add(1)
		switch {
		case err == nil:
			a.mu.Lock()
			a.admitted = append(a.admitted, got.Name+" binding "+s.Kind+" "+s.Name)
			a.mu.Unlock()
		case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+v1alpha1.RoleBindingPolicyName+"'"):
			a.refused.Add(1)
			if after {
				return
			}
		case ctx.Err() != nil:
			a.mu.Lock()
			a.failures = append(a.failures, "attacker stopped before the policy refused it after the apply: "+err.Error())
			a.mu.Unlock()
			return
		}
		// Anything else (the namespace or the admin's rights not there
		// yet) is tried again.
	}
}

// stop lets the attackers finish: each one stops once the policy refused it
// after the apply returned.
func (a *attack) stop(t *testing.T) {
	t.Helper()
	a.done.Store(true)
	a.wg.Wait()
	a.cancel()
	t.Logf("%d attempts to bind foreign identities, %d refused by the admission policy", a.attempts.Load(), a.refused.Load())
}

// check fails the test for every foreign binding: created during the
// race, or found in the namespace afterwards.
func (a *attack) check(ctx context.Context, t *testing.T, client kubernetes.Interface) {
	t.Helper()
	for _, f := range a.failures {
		t.Error(f)
	}
	for _, b := range a.admitted {
		t.Errorf("the team's admin created rolebinding %s", b)
	}
	list, err := client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	adminBound := false
	for _, rb := range list.Items {
		for _, s := range rb.Subjects {
			for _, f := range foreign {
				if s.Kind == f.Kind && s.Name == f.Name {
					t.Errorf("rolebinding %s in %s binds %s %s", rb.Name, ns, s.Kind, s.Name)
				}
			}
			if s.Kind == rbacv1.UserKind && s.Name == admin && rb.RoleRef.Name == v1alpha1.RoleObjectName(v1alpha1.AdminRole) {
				adminBound = true
			}
		}
	}
	if !adminBound {
		t.Errorf("no rolebinding in %s makes %s the team's admin: the race was not run", ns, admin)
	}
}

func bindingNames(ctx context.Context, t *testing.T, client kubernetes.Interface) []string {
	list, err := client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rb := range list.Items {
		out = append(out, rb.Name)
	}
	return out
}

// requests records the method and path of every request through a client.
type requests struct {
	mu   sync.Mutex
	seen []string
}

func (r *requests) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		r.mu.Lock()
		line := req.Method + " " + req.URL.Path
		if q := req.URL.Query().Get("dryRun"); q != "" {
			line += "?dryRun=" + q
		}
		r.seen = append(r.seen, line)
		r.mu.Unlock()
		return next.RoundTrip(req)
	})
}

func (r *requests) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = nil
}

func (r *requests) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// count returns how many requests had method and a path ending in suffix.
func (r *requests) count(method, suffix string) int {
	n := 0
	for _, s := range r.all() {
		if strings.HasPrefix(s, method+" ") && strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}

// probedBeforeAdmin fails the test unless the admin's RoleBinding was
// written only after the last dry-run probe: the one the policy refused.
func (r *requests) probedBeforeAdmin(t *testing.T, user string) {
	t.Helper()
	binding := "/rolebindings/" + v1alpha1.BindingName(v1alpha1.Member{Kind: v1alpha1.UserMember, Name: user, Role: v1alpha1.AdminRole})
	lastProbe, firstAdmin := -1, -1
	seen := r.all()
	for i, s := range seen {
		if strings.HasPrefix(s, http.MethodPost+" ") && strings.HasSuffix(s, "/rolebindings?dryRun=All") {
			lastProbe = i
		}
		if firstAdmin < 0 && strings.HasSuffix(s, binding) && !strings.HasPrefix(s, http.MethodGet+" ") {
			firstAdmin = i
		}
	}
	if lastProbe < 0 || firstAdmin < 0 || firstAdmin < lastProbe {
		t.Errorf("want the admin's binding written after the last probe; last probe at %d, first write of %s at %d in %v",
			lastProbe, binding, firstAdmin, seen)
	}
}

// writes counts the requests that are not reads.
func (r *requests) writes() int {
	n := 0
	for _, s := range r.all() {
		if !strings.HasPrefix(s, http.MethodGet+" ") && !strings.HasPrefix(s, http.MethodHead+" ") {
			n++
		}
	}
	return n
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
