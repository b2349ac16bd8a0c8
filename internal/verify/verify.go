// Package verify proves a tenant's isolation on a live cluster the way an
// attacker would test it: each member makes real requests with its own
// credentials (a short-lived token for ServiceAccounts, impersonation for
// users and groups), and every answer is compared with what isolation requires.
// Subjects that only a RoleBinding bulkhead left behind lets in (a removed
// member, a member's old role) are asked about with SubjectAccessReviews.
package verify

import (
	"cmp"
	"context"
	"fmt"
	"sync"

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

// Options tune Run.
type Options struct {
	// Workers bounds concurrent requests; 0 means 16.
	Workers int
	// Others bounds how many other tenants' namespaces each member probes;
	// 0 means all of them.
	Others int
}

// task is one probe by one member against one namespace.
type task struct {
	check  Check
	probe  probe
	client kubernetes.Interface
	// reviewAs, when set, asks the authorizer about this identity with a
	// SubjectAccessReview (client is then the admin's) instead of making
	// the request: a leftover binding's subject may have no credentials
	// verify can get, and what RBAC allows it is the question.
	reviewAs *access.UserInfo
	why      string // the detail a failed review starts with
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
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	adminClient, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	var tasks []task
	for i, t := range tenants {
		others := neighbours(tenants, i, opts.Others)
		left, err := readLeftovers(ctx, adminClient, t.Spec.Namespace)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		for _, m := range t.Spec.Members {
			if isLeftover(m, t.Spec.Namespace, left) {
				continue
			}
			cfg, err := memberConfig(ctx, admin, adminClient, t, m)
			if err != nil {
				return nil, err
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return nil, err
			}
			base := Check{Tenant: t.Name, Member: string(m.Kind) + "/" + m.Name, Role: string(m.Role)}
			add := func(scope Scope, ns string, expect Outcome, ps ...probe) { // one check per probe
				for _, p := range ps {
					c := base
					c.Scope, c.Namespace, c.Action, c.Expect = scope, ns, p.action, expect
					tasks = append(tasks, task{check: c, probe: p, client: client})
				}
			}
			plan(t, m, others, add)
		}
		for _, l := range left {
			base := Check{Tenant: t.Name, Member: l.member(t.Spec.Namespace), Role: cmp.Or(string(l.role), "none")}
			user, why := l.subject.RequestUser(), l.reason(t.Spec.Namespace)
			planLeftover(l, t.Spec.Namespace, func(scope Scope, ns string, expect Outcome, ps ...probe) {
				for _, p := range ps {
					c := base
					c.Scope, c.Namespace, c.Action, c.Expect = scope, ns, p.action, expect
					tasks = append(tasks, task{check: c, probe: p, client: adminClient, reviewAs: &user, why: why})
				}
			})
		}
	}

	checks := make([]Check, len(tasks))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Workers, len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				checks[i] = run(ctx, tasks[i])
			}
		}()
	}
	for i := range tasks {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return &Report{Checks: checks}, nil
}

// run makes one request and classifies the answer.
func run(ctx context.Context, t task) Check {
	c := t.check
	if t.reviewAs != nil {
		c.Got, c.Detail = review(ctx, t)
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
		a := t.probe.attrs
		a.Namespace = t.check.Namespace
		r, sarErr := t.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}},
			metav1.CreateOptions{})
		if sarErr == nil && r.Status.Allowed {
			return Rejected, err.Error()
		}
		return Forbidden, err.Error()
	default:
		return Error, err.Error()
	}
}

// review asks whether t.reviewAs may make t's request.
func review(ctx context.Context, t task) (Outcome, string) {
	a := t.probe.attrs
	a.Namespace = t.check.Namespace
	r, err := t.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: t.reviewAs.Name, Groups: t.reviewAs.Groups, ResourceAttributes: &a},
	}, metav1.CreateOptions{})
	switch {
	case err != nil:
		return Error, fmt.Sprintf("SubjectAccessReview: %v", err)
	case r.Status.Allowed:
		return Allowed, t.why + "; " + cmp.Or(r.Status.Reason, "allowed")
	}
	return Forbidden, r.Status.Reason
}

func errDetail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// memberConfig returns the member's own client configuration. ServiceAccounts
// get a fresh short-lived token; users and groups are impersonated, which is
// exactly how the API server evaluates their requests.
func memberConfig(ctx context.Context, admin *rest.Config, c kubernetes.Interface, t v1alpha1.Tenant, m v1alpha1.Member) (*rest.Config, error) {
	switch m.Kind {
	case v1alpha1.ServiceAccountMember:
		tok, err := credentials.Request(ctx, c.CoreV1(), t.Spec.Namespace, m.Name, credentials.MinTTL)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		cfg := rest.AnonymousClientConfig(admin)
		cfg.BearerToken = tok.Value
		return cfg, nil
	case v1alpha1.UserMember:
		cfg := rest.CopyConfig(admin)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: m.Name}
		return cfg, nil
	case v1alpha1.GroupMember:
		cfg := rest.CopyConfig(admin)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "bulkhead-verify:" + m.Name, Groups: []string{m.Name, "system:authenticated"}}
		return cfg, nil
	}
	return nil, fmt.Errorf("tenant %s: member %s has unknown kind %q", t.Name, m.Name, m.Kind)
}
