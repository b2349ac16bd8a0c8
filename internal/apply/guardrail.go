package apply

// The admission policy limits what tenant admins may bind, but the API
// server learns a new or changed policy through an informer: for about a
// second after the write it still admits what the policy refuses. A tenant
// admin created in that second could bind another tenant's identities. So
// admin RoleBindings are written in a stage of their own, and when this
// Reconciler (or one sharing its Enforcement) wrote the policy, that stage
// first waits until the server refuses, in a dry run, a binding the policy
// forbids.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/transport"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// DefaultPolicyTimeout is how long a run waits for the API server to
// enforce an admission policy it just wrote.
const DefaultPolicyTimeout = 30 * time.Second

const (
	// probeName names, when bulkhead's own identity is exempt from the
	// policy, the short-lived Role and RoleBinding that let probeUser send
	// the probe; checkName names the probe's dry-run RoleBinding.
	probeName = "bulkhead-guardrail-probe"
	checkName = "bulkhead-guardrail-check"
	// probeUser is an identity nobody holds: reachable only by
	// impersonation, which takes cluster-admin rights.
	probeUser = "bulkhead:guardrail-probe"
)

// Enforcement remembers whether the admission policy that a Reconciler
// wrote is known to be enforced yet. Reconcilers writing to one cluster
// share one (Options.Enforcement), so that a policy written by one holds
// back the admin RoleBindings of the others. The zero value is ready.
type Enforcement struct {
	mu sync.Mutex
	// unconfirmed: the policy was written and no probe has seen it refuse
	// a request since.
	unconfirmed bool
}

func (e *Enforcement) written() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unconfirmed = true
}

// NotEnforcedError is an admission policy that the API server did not
// enforce within Options.PolicyTimeout of being written: the admin
// RoleBindings it guards were not written.
type NotEnforcedError struct {
	Policy  string
	Timeout time.Duration
	// Last is what the last probe saw.
	Last error
}

func (e *NotEnforcedError) Error() string {
	return fmt.Sprintf("the API server does not enforce ValidatingAdmissionPolicy %s after %s; is the ValidatingAdmissionPolicy "+
		"feature and admission plugin enabled? (last probe: %v)", e.Policy, e.Timeout, e.Last)
}

func (e *NotEnforcedError) Unwrap() error { return e.Last }

// isAdminBinding reports a RoleBinding to the tenant admin Role: the only
// binding that lets its subjects bind others, which the policy limits.
func isAdminBinding(o any) bool {
	rb, ok := o.(*rbacv1ac.RoleBindingApplyConfiguration)
	return ok && rb.RoleRef != nil && deref(rb.RoleRef.Kind) == "Role" &&
		deref(rb.RoleRef.Name) == v1alpha1.RoleObjectName(v1alpha1.AdminRole)
}

// isPolicy reports the admission policy and its binding.
func isPolicy(ref Ref) bool {
	return ref.Kind == "ValidatingAdmissionPolicy" || ref.Kind == "ValidatingAdmissionPolicyBinding"
}

// notePolicyWrites looks at the policy's changes of the cluster stage once
// they are made: a policy written marks the Enforcement unconfirmed; a
// policy that could not be written comes back as the reason to hold back
// admin bindings.
func (r *Reconciler) notePolicyWrites(changes []*Change) error {
	if r.opts.DryRun || len(changes) == 0 {
		return nil
	}
	r.enf.written() // a failed write may have reached the server too
	var failed []error
	for _, c := range changes {
		if c.Err != nil {
			failed = append(failed, c.Err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the admission policy that limits tenant admins was not written: %w", errors.Join(failed...))
	}
	return nil
}

// holdAdmins runs before the admin RoleBindings of a run are written: it
// waits for the policy (probing in the namespace of the first binding that
// can still be written) and fails every binding when the policy was not
// written or is not enforced.
func (r *Reconciler) holdAdmins(ctx context.Context, p *Plan, jobs []job, policyErr error) {
	var pending []*Change
	for _, j := range jobs {
		if c := &p.Sets[j.set].Changes[j.change]; c.Err == nil {
			pending = append(pending, c)
		}
	}
	if len(pending) == 0 {
		return
	}
	err := policyErr
	if err == nil {
		err = r.guard(ctx, pending[0].Object.Namespace)
	}
	if err == nil {
		return
	}
	for _, c := range pending {
		c.Action, c.Err = Failed, fmt.Errorf("%s not written: %w", c.Object, err)
	}
}

// guard returns once admin RoleBindings may be written in namespace ns (a
// bulkhead namespace that exists): at once when no policy write of this
// Enforcement awaits confirmation, after a probe otherwise. Reconcilers
// sharing the Enforcement wait for one another's probe.
func (r *Reconciler) guard(ctx context.Context, ns string) error {
	if r.opts.DryRun {
		return nil
	}
	r.enf.mu.Lock()
	defer r.enf.mu.Unlock()
	if !r.enf.unconfirmed {
		return nil
	}
	if err := r.awaitEnforced(ctx, ns); err != nil {
		return err
	}
	r.enf.unconfirmed = false
	return nil
}

// awaitEnforced polls, with backoff, until a dry run of a RoleBinding in ns
// that the policy forbids is refused by the policy. The request is sent as
// bulkhead itself when the policy applies to bulkhead's identity (the
// controller's ServiceAccount, a cluster-admin bound by RBAC); a
// system:masters caller, whom the policy exempts, impersonates probeUser,
// given for the probe's duration just the right to send that request.
func (r *Reconciler) awaitEnforced(parent context.Context, ns string) error {
	timeout := r.opts.PolicyTimeout
	if timeout <= 0 {
		timeout = DefaultPolicyTimeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	fail := func(last error) error {
		if parent.Err() != nil {
			return fmt.Errorf("wait for admission policy %s: %w", v1alpha1.RoleBindingPolicyName, parent.Err())
		}
		return &NotEnforcedError{Policy: v1alpha1.RoleBindingPolicyName, Timeout: timeout, Last: last}
	}
	var review *authenticationv1.SelfSubjectReview
	err := r.do(ctx, func(ctx context.Context) (err error) {
		review, err = r.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("ask the API server who bulkhead is, to probe admission policy %s: %w", v1alpha1.RoleBindingPolicyName, err)
	}
	as := ""
	if u := review.Status.UserInfo; render.ExemptFromRoleBindingPolicy(u.Username, u.Groups) {
		as = probeUser
		if err := r.grantProbe(ctx, ns); err != nil {
			return fmt.Errorf("let %s probe admission policy %s in namespace %s: %w", probeUser, v1alpha1.RoleBindingPolicyName, ns, err)
		}
		defer r.revokeProbe(context.WithoutCancel(parent), ns)
	}
	backoff := wait.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Cap: time.Second, Steps: 1 << 30}
	var last error
	for {
		err := r.probe(ctx, ns, as)
		switch {
		case err == nil:
			last = fmt.Errorf("a dry run of rolebinding %s in %s binding another namespace's ServiceAccount was admitted", checkName, ns)
		case refusedByPolicy(err):
			return nil
		case apierrors.IsForbidden(err), apierrors.IsNotFound(err), isTransient(err):
			// Forbidden by RBAC: the probe's grant is not in the
			// authorizer's cache yet.
			last = err
		default:
			return fmt.Errorf("probe admission policy %s in namespace %s: %w", v1alpha1.RoleBindingPolicyName, ns, err)
		}
		select {
		case <-ctx.Done():
			return fail(last)
		case <-time.After(backoff.Step()):
		}
	}
}

// probe sends, as a dry run, a RoleBinding in ns that binds a ServiceAccount
// of another namespace: the policy refuses it for everyone it applies to.
// A non-empty as impersonates that user.
func (r *Reconciler) probe(ctx context.Context, ns, as string) error {
	other := "kube-system"
	if ns == other {
		other = "default"
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: checkName, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: v1alpha1.RoleObjectName(v1alpha1.ViewRole)},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: other, Name: probeName}},
	}
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: v1alpha1.FieldManager}
	if as == "" {
		_, err := r.client.RbacV1().RoleBindings(ns).Create(ctx, rb, opts)
		return err
	}
	return r.client.RbacV1().RESTClient().Post().
		Namespace(ns).Resource("rolebindings").
		VersionedParams(&opts, scheme.ParameterCodec).
		SetHeader(transport.ImpersonateUserHeader, as).
		Body(rb).Do(ctx).Error()
}

// refusedByPolicy reports the policy's own denial, as opposed to RBAC's.
func refusedByPolicy(err error) bool {
	return apierrors.IsForbidden(err) &&
		strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+v1alpha1.RoleBindingPolicyName+"'")
}

// grantProbe lets probeUser create RoleBindings of the view Role in ns and
// nothing else; bound by a system:masters caller, whom the policy exempts.
func (r *Reconciler) grantProbe(ctx context.Context, ns string) error {
	labels := map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}
	role := rbacv1ac.Role(probeName, ns).WithLabels(labels).WithRules(
		rbacv1ac.PolicyRule().WithAPIGroups(rbacv1.GroupName).WithResources("rolebindings").WithVerbs("create"),
		rbacv1ac.PolicyRule().WithAPIGroups(rbacv1.GroupName).WithResources("roles").WithVerbs("bind").
			WithResourceNames(v1alpha1.RoleObjectName(v1alpha1.ViewRole)))
	binding := rbacv1ac.RoleBinding(probeName, ns).WithLabels(labels).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(probeName)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.UserKind).WithAPIGroup(rbacv1.GroupName).WithName(probeUser))
	opts := metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true}
	rbac := r.client.RbacV1()
	if err := r.do(ctx, func(ctx context.Context) error { _, err := rbac.Roles(ns).Apply(ctx, role, opts); return err }); err != nil {
		return err
	}
	return r.do(ctx, func(ctx context.Context) error { _, err := rbac.RoleBindings(ns).Apply(ctx, binding, opts); return err })
}

// revokeProbe deletes what grantProbe made, also when the run was
// cancelled; an object already gone is fine. What a crash leaves behind
// lets only an identity nobody holds bind the view Role in one namespace,
// to the subjects the policy allows there.
func (r *Reconciler) revokeProbe(ctx context.Context, ns string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rbac := r.client.RbacV1()
	_ = r.do(ctx, func(ctx context.Context) error {
		err := rbac.RoleBindings(ns).Delete(ctx, probeName, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	_ = r.do(ctx, func(ctx context.Context) error {
		err := rbac.Roles(ns).Delete(ctx, probeName, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
