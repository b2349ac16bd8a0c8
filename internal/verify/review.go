package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// Review answers the checks Run makes for tenant t, each with a SubjectAccessReview for the member's identity
// instead of a request with its credentials; others are namespaces of other tenants to probe.
//
// Checks that Run answers through admission are state checks (see the
// package doc). client must be allowed to create SubjectAccessReviews and
// to read the tenant's namespace, its RoleBindings and ResourceQuotas, and
// ValidatingAdmissionPolicies and their bindings; Review writes nothing
// else.
func Review(ctx context.Context, client kubernetes.Interface, t v1alpha1.Tenant, others []string, opts Options) (*Report, error) {
	opts = opts.complete()
	others = slices.DeleteFunc(slices.Clone(others), func(ns string) bool { return ns == t.Spec.Namespace })
	if opts.Others > 0 && len(others) > opts.Others {
		others = others[:opts.Others]
	}
	ns, err := readNamespace(ctx, client.CoreV1(), t.Spec.Namespace)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
	}
	left, err := leftoversIn(ctx, client.RbacV1(), ns)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
	}
	items := checks(t, others, intruderIn(t, others), left)

	questions, asks := distinctQuestions(items)
	answers := make([]answer, len(questions))
	parallel(opts.Workers, len(questions), func(i int) {
		q := questions[i]
		answers[i].review, answers[i].err = subjectAccessReview(ctx, client, q.user, q.attrs)
	})

	st := &state{client: client, name: t.Spec.Namespace, namespace: ns}
	out := make([]Check, len(items))
	for i, it := range items {
		c := it.check
		a := answers[asks[i]]
		c.Got, c.Detail = reviewed(a.review, a.err, it.why)
		stateCheck := it.probe.enforced != nil && c.Got == Allowed
		if stateCheck {
			c.Got, c.Detail = admitted(ctx, st, it.probe.enforced)
		}
		c.OK = c.Got == c.Expect
		if c.OK && !stateCheck {
			c.Detail = ""
		}
		out[i] = c
	}
	return &Report{Checks: out}, nil
}

// ReviewAll reviews every tenant, each against the other tenants'
// namespaces from the next one round the ring (opts.Others of them, or
// all), the namespaces Run probes, and returns one report.
func ReviewAll(ctx context.Context, client kubernetes.Interface, tenants []v1alpha1.Tenant, opts Options) (*Report, error) {
	all := &Report{}
	for i, t := range tenants {
		if !opts.checked(t.Name) {
			continue
		}
		r, err := Review(ctx, client, t, namespaces(neighbours(tenants, i, opts.Others)), opts)
		if err != nil {
			return nil, err
		}
		all.Checks = append(all.Checks, r.Checks...)
	}
	return all, nil
}

// question is one SubjectAccessReview: an identity and a request.
type question struct {
	user  access.UserInfo
	attrs *authorizationv1.ResourceAttributes
}

type answer struct {
	review *authorizationv1.SubjectAccessReview
	err    error
}

// distinctQuestions returns the SubjectAccessReviews items take, each once,
// and for each item the index of its question.
func distinctQuestions(items []item) ([]question, []int) {
	type key struct {
		user, groups string
		attrs        authorizationv1.ResourceAttributes
	}
	seen := map[key]int{}
	var qs []question
	asks := make([]int, len(items))
	for i, it := range items {
		a := it.probe.attributes(it.check.Namespace)
		k := key{it.as.Name, strings.Join(it.as.Groups, "\n"), *a}
		j, ok := seen[k]
		if !ok {
			j = len(qs)
			seen[k] = j
			qs = append(qs, question{user: it.as, attrs: a})
		}
		asks[i] = j
	}
	return qs, asks
}
