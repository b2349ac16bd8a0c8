package verify

import (
	"context"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// refusal reads whether the state that makes admission refuse a probe is
// in place, and says what it found.
type refusal func(ctx context.Context, s *state) (enforced bool, found string, err error)

// state is what Review reads of one tenant's namespace to answer the checks
// Run leaves to admission. Each object is read once, when a check first
// needs it, from one goroutine.
type state struct {
	client    kubernetes.Interface
	name      string            // the tenant's namespace
	namespace *corev1.Namespace // nil when it does not exist

	quotaRead bool
	quota     *corev1.ResourceQuota // nil when it does not exist
	quotaErr  error

	policyRead bool
	policy     *admissionregistrationv1.ValidatingAdmissionPolicy // nil when it does not exist
	binding    *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	policyErr  error
}

// admitted answers a check that admission must refuse, once the authorizer
// allowed it: Rejected when the state that refuses it is in place.
func admitted(ctx context.Context, s *state, enforced refusal) (Outcome, string) {
	const prefix = "state check, no request made: "
	ok, found, err := enforced(ctx, s)
	switch {
	case err != nil:
		return Error, prefix + err.Error()
	case ok:
		return Rejected, prefix + found
	}
	return Allowed, prefix + found + ", so admission would admit it"
}

// psaEnforceLabel is the namespace label Pod Security Admission enforces.
const psaEnforceLabel = "pod-security.kubernetes.io/enforce"

// podSecurityEnforced: both baseline and restricted refuse privileged and
// hostPath pods; without the label the cluster's default (privileged,
// unless configured otherwise) admits them.
func podSecurityEnforced(_ context.Context, s *state) (bool, string, error) {
	if s.namespace == nil {
		return false, "namespace " + s.name + " does not exist", nil
	}
	level, ok := s.namespace.Labels[psaEnforceLabel]
	if !ok {
		return false, fmt.Sprintf("namespace %s has no label %s", s.name, psaEnforceLabel), nil
	}
	switch v1alpha1.PodSecurityLevel(level) {
	case v1alpha1.PodSecurityBaseline, v1alpha1.PodSecurityRestricted:
		return true, fmt.Sprintf("namespace %s enforces Pod Security level %s", s.name, level), nil
	}
	return false, fmt.Sprintf("namespace %s enforces Pod Security level %q", s.name, level), nil
}

// quotaCaps: ResourceQuota bulkhead refuses a pod requesting n of resource
// when its hard limit on the requests is below n, whatever is in use.
func quotaCaps(resource string, n int64) refusal {
	name := corev1.ResourceName("requests." + resource)
	return func(ctx context.Context, s *state) (bool, string, error) {
		q, err := s.readQuota(ctx)
		if err != nil {
			return false, "", err
		}
		if q == nil {
			return false, fmt.Sprintf("ResourceQuota %s/%s does not exist", s.name, v1alpha1.GuardrailName), nil
		}
		hard, ok := q.Spec.Hard[name]
		if !ok {
			return false, fmt.Sprintf("ResourceQuota %s/%s does not cap %s", s.name, v1alpha1.GuardrailName, name), nil
		}
		return hard.CmpInt64(n) < 0, fmt.Sprintf("ResourceQuota %s/%s caps %s at %s", s.name, v1alpha1.GuardrailName, name, hard.String()), nil
	}
}

// bindingPolicyEnforced: the admission policy on tenant RoleBindings holds
// bulkhead's rules, its binding denies what they refuse, and both select
// the namespace.
func bindingPolicyEnforced(ctx context.Context, s *state) (bool, string, error) {
	if s.namespace == nil {
		return false, "namespace " + s.name + " does not exist", nil
	}
	p, b, err := s.readPolicy(ctx)
	if err != nil {
		return false, "", err
	}
	name := v1alpha1.RoleBindingPolicyName
	switch {
	case p == nil:
		return false, "ValidatingAdmissionPolicy " + name + " does not exist", nil
	case b == nil:
		return false, "ValidatingAdmissionPolicyBinding " + name + " does not exist", nil
	case b.Spec.PolicyName != name:
		return false, fmt.Sprintf("ValidatingAdmissionPolicyBinding %s binds policy %q", name, b.Spec.PolicyName), nil
	case !slices.Contains(b.Spec.ValidationActions, admissionregistrationv1.Deny):
		return false, fmt.Sprintf("ValidatingAdmissionPolicyBinding %s has validation actions %v, without Deny", name, b.Spec.ValidationActions), nil
	}
	for _, rule := range render.RoleBindingPolicyRules() {
		if !slices.ContainsFunc(p.Spec.Validations, func(v admissionregistrationv1.Validation) bool { return v.Expression == rule }) {
			return false, "ValidatingAdmissionPolicy " + name + " lacks bulkhead's rule " + rule, nil
		}
	}
	var selectors []*metav1.LabelSelector
	if m := p.Spec.MatchConstraints; m != nil {
		selectors = append(selectors, m.NamespaceSelector)
	}
	if m := b.Spec.MatchResources; m != nil {
		selectors = append(selectors, m.NamespaceSelector)
	}
	for _, sel := range selectors {
		if sel == nil {
			continue // no selector: every namespace
		}
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return false, "", fmt.Errorf("ValidatingAdmissionPolicy %s: namespace selector: %w", name, err)
		}
		if !ls.Matches(labels.Set(s.namespace.Labels)) {
			return false, fmt.Sprintf("ValidatingAdmissionPolicy %s does not select namespace %s (selector %s)", name, s.name, ls), nil
		}
	}
	return true, fmt.Sprintf("ValidatingAdmissionPolicy %s and its binding (Deny) hold bulkhead's rules and select namespace %s", name, s.name), nil
}

func (s *state) readQuota(ctx context.Context) (*corev1.ResourceQuota, error) {
	if !s.quotaRead {
		s.quotaRead = true
		s.quota, s.quotaErr = s.client.CoreV1().ResourceQuotas(s.name).Get(ctx, v1alpha1.GuardrailName, metav1.GetOptions{})
		if apierrors.IsNotFound(s.quotaErr) {
			s.quota, s.quotaErr = nil, nil
		} else if s.quotaErr != nil {
			s.quota, s.quotaErr = nil, fmt.Errorf("read ResourceQuota %s/%s: %w", s.name, v1alpha1.GuardrailName, s.quotaErr)
		}
	}
	return s.quota, s.quotaErr
}

func (s *state) readPolicy(ctx context.Context) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	if !s.policyRead {
		s.policyRead = true
		s.policy, s.binding, s.policyErr = readPolicy(ctx, s.client)
	}
	return s.policy, s.binding, s.policyErr
}

// readPolicy reads the admission policy on tenant RoleBindings and its
// binding; either is nil when it does not exist.
func readPolicy(ctx context.Context, c kubernetes.Interface) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	name := v1alpha1.RoleBindingPolicyName
	api := c.AdmissionregistrationV1()
	p, err := api.ValidatingAdmissionPolicies().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read ValidatingAdmissionPolicy %s: %w", name, err)
	}
	b, err := api.ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return p, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read ValidatingAdmissionPolicyBinding %s: %w", name, err)
	}
	return p, b, nil
}
