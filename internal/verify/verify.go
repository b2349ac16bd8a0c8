package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
)

// Scope groups checks the way the report shows them.
type Scope string

const (
	Own       Scope = "own"       // the member's own namespace (a leftover's: the tenant's)
	Other     Scope = "other"     // another tenant's namespace
	Cluster   Scope = "cluster"   // cluster-scoped resources
	Guardrail Scope = "guardrail" // the tenant's own limits, which it must not lift
)

// Outcome is what the API server answered.
type Outcome string

const (
	Allowed   Outcome = "allowed"
	Forbidden Outcome = "forbidden" // refused by authorization
	Rejected  Outcome = "rejected"  // authorized, then refused by admission
	Error     Outcome = "error"     // no answer about access (network, token, server error)
)

// Check is one request by one member and its verdict.
type Check struct {
	Tenant    string  `json:"tenant"`
	Member    string  `json:"member"` // Kind/name
	Role      string  `json:"role"`   // "none" for a leftover binding's subject that is no member
	Scope     Scope   `json:"scope"`
	Namespace string  `json:"namespace,omitempty"`
	Action    string  `json:"action"`
	Expect    Outcome `json:"expect"`
	Got       Outcome `json:"got"`
	Detail    string  `json:"detail,omitempty"`
	OK        bool    `json:"ok"`
}

// Report is every check, ordered by tenant, member, scope and namespace.
type Report struct {
	Checks []Check `json:"checks"`
}

// Passed reports whether every expectation held.
func (r *Report) Passed() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failures returns the checks whose expectation did not hold.
func (r *Report) Failures() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Options tune Run and Review.
type Options struct {
	// Workers bounds concurrent requests; 0 means 16.
	Workers int
	// Others bounds how many other tenants' namespaces each member probes;
	// 0 means all of them.
	Others int
	// Only, when set, names the tenants whose members are checked; the
	// others are still the namespaces they probe.
	Only []string
}

// checked reports whether tenant t's members are checked.
func (o Options) checked(t string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, t) }

func (o Options) complete() Options {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	return o
}

// task is one check and the client that answers it: the member's own,
// or, for a leftover, the admin's, which asks a SubjectAccessReview.
type task struct {
	item
	client kubernetes.Interface
}

// Run checks every member of every tenant, and that no one else holds what
// bulkhead's own RoleBindings left behind: each subject of such a binding
// that the namespace's members annotation does not give that role (a
// removed member, a member's old role) must be refused what the binding
// gives beyond its member role, which SubjectAccessReviews tell without
// its credentials. A tenant's member that only such a binding gives
// (apply.Discover reads members from bindings, leftovers included) is
// checked that way, not as a member. admin must be allowed to request tokens, to impersonate and to
// create SubjectAccessReviews; it is never used for the member probes.
func Run(ctx context.Context, admin *rest.Config, tenants []v1alpha1.Tenant, opts Options) (*Report, error) {
	opts = opts.complete()
	adminClient, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	var tasks []task
	for i, t := range tenants {
		if !opts.checked(t.Name) {
			continue
		}
		others := neighbours(tenants, i, opts.Others)
		ns, err := readNamespace(ctx, adminClient.CoreV1(), t.Spec.Namespace)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		left, err := leftoversIn(ctx, adminClient.RbacV1(), ns)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		clients := map[*v1alpha1.Member]kubernetes.Interface{}
		for _, it := range checks(t, namespaces(others), otherSA(t, others), left) {
			tk := task{item: it, client: adminClient}
			if it.member != nil {
				if clients[it.member] == nil {
					if clients[it.member], err = memberClient(ctx, admin, adminClient, t, *it.member); err != nil {
						return nil, err
					}
				}
				tk.client = clients[it.member]
			}
			tasks = append(tasks, tk)
		}
	}
	out := make([]Check, len(tasks))
	parallel(opts.Workers, len(tasks), func(i int) { out[i] = run(ctx, tasks[i]) })
	return &Report{Checks: out}, nil
}

// parallel calls fn(0) … fn(n-1), at most workers at a time.
func parallel(workers, n int, fn func(i int)) {
	var g errgroup.Group
	g.SetLimit(workers)
	for i := range n {
		g.Go(func() error { fn(i); return nil })
	}
	_ = g.Wait() // fn returns nothing to wait for but itself
}

// run makes one request and classifies the answer; a leftover's is a
// SubjectAccessReview.
func run(ctx context.Context, t task) Check {
	c := t.check
	if t.member == nil {
		r, err := subjectAccessReview(ctx, t.client, t.as, t.probe.attributes(c.Namespace))
		c.Got, c.Detail = reviewed(r, err, t.why)
	} else {
		c.Got, c.Detail = classify(ctx, t, t.probe.do(ctx, t.client, c.Namespace))
	}
	c.OK = c.Got == c.Expect
	if c.OK {
		c.Detail = ""
	}
	return c
}

func classify(ctx context.Context, t task, err error) (Outcome, string) {
	switch {
	case err == nil, apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err), apierrors.IsConflict(err), apierrors.IsInvalid(err):
		// The server looked at the object, so authorization let the request through.
		return Allowed, errDetail(err)
	case apierrors.IsForbidden(err):
		// Authorization and admission both answer 403; ask the authorizer which it was.
		r, sarErr := t.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: t.probe.attributes(t.check.Namespace)}},
			metav1.CreateOptions{})
		if sarErr == nil && r.Status.Allowed {
			return Rejected, err.Error()
		}
		return Forbidden, err.Error()
	default:
		return Error, err.Error()
	}
}

// subjectAccessReview asks the authorizer whether user may make the request a.
func subjectAccessReview(ctx context.Context, c kubernetes.Interface, user access.UserInfo, a *authorizationv1.ResourceAttributes) (*authorizationv1.SubjectAccessReview, error) {
	return c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user.Name, Groups: user.Groups, ResourceAttributes: a},
	}, metav1.CreateOptions{})
}

// reviewed is a SubjectAccessReview's outcome; why, for a leftover, starts
// the detail of an allowed one.
func reviewed(r *authorizationv1.SubjectAccessReview, err error, why string) (Outcome, string) {
	switch {
	case err != nil:
		return Error, fmt.Sprintf("SubjectAccessReview: %v", err)
	case r.Status.Allowed:
		detail := cmp.Or(r.Status.Reason, "allowed")
		if why != "" {
			detail = why + "; " + detail
		}
		return Allowed, detail
	}
	return Forbidden, cmp.Or(r.Status.Reason, r.Status.EvaluationError)
}

func errDetail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// memberClient is a client with the member's own credentials. ServiceAccounts
// get a fresh short-lived token; users and groups are impersonated as
// memberIdentity, which is exactly how the API server evaluates their requests.
func memberClient(ctx context.Context, admin *rest.Config, c kubernetes.Interface, t v1alpha1.Tenant, m v1alpha1.Member) (kubernetes.Interface, error) {
	var cfg *rest.Config
	switch m.Kind {
	case v1alpha1.ServiceAccountMember:
		tok, err := credentials.Request(ctx, c.CoreV1(), t.Spec.Namespace, m.Name, credentials.MinTTL)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		cfg = rest.AnonymousClientConfig(admin)
		cfg.BearerToken = tok.Value
	case v1alpha1.UserMember, v1alpha1.GroupMember:
		id := memberIdentity(t.Spec.Namespace, m)
		cfg = rest.CopyConfig(admin)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: id.Name, Groups: id.Groups}
	default:
		return nil, fmt.Errorf("tenant %s: member %s has unknown kind %q", t.Name, m.Name, m.Kind)
	}
	return kubernetes.NewForConfig(cfg)
}
