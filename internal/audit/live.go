package audit

import (
	"context"
	"fmt"
	"math/rand/v2"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// liveRequests are what --live asks about: the rights the findings turn on.
var liveRequests = []access.Attributes{
	{Verb: "get", Resource: "pods"}, {Verb: "create", Resource: "pods"}, {Verb: "create", Resource: "pods", Subresource: "exec"},
	{Verb: "list", Resource: "secrets"}, {Verb: "delete", Resource: "resourcequotas"}, {Verb: "update", Resource: "limitranges"},
	{Verb: "create", Group: "networking.k8s.io", Resource: "networkpolicies"}, {Verb: "create", Group: rbacGroup, Resource: "rolebindings"},
	{Verb: "create", Group: "apps", Resource: "deployments"}, {Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
	{Verb: "update", Resource: "pods", Subresource: "status"}, {Verb: "impersonate", Resource: "serviceaccounts"},
}

// Live asks the cluster n SubjectAccessReviews, each the same question the
// engine answered offline for a random tenant subject, in its own or
// another tenant's namespace, and compares. The cluster allowing more is
// not a disagreement of the engine but access from outside RBAC objects
// (ISOLATION.md item 17); the engine allowing more is a disagreement.
func Live(ctx context.Context, sar authorizationv1client.SubjectAccessReviewsGetter, snap *Snapshot, tenants []Tenant, n int, seed uint64) (*LiveCheck, error) {
	a := newAuditor(snap, tenants, &baseline{})
	var subjects []access.Subject
	for _, ms := range a.members {
		subjects = append(subjects, ms...)
	}
	lc := &LiveCheck{}
	if len(subjects) == 0 || len(tenants) == 0 {
		return lc, nil
	}
	rng := rand.New(rand.NewPCG(seed, 17))
	for range n {
		s := subjects[rng.IntN(len(subjects))]
		attrs := liveRequests[rng.IntN(len(liveRequests))]
		attrs.Namespace = tenants[rng.IntN(len(tenants))].Namespace
		user := s.RequestUser()
		want := a.eng.Allowed(user, attrs)
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Name, Groups: user.Groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: attrs.Namespace, Verb: attrs.Verb, Group: attrs.Group, Resource: attrs.Resource, Subresource: attrs.Subresource,
			},
		}}
		got, err := sar.SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("live check: SubjectAccessReview for %s: %w (needs create on subjectaccessreviews)", s, err)
		}
		lc.Checks++
		switch {
		case got.Status.Allowed == want:
			lc.Agreements++
		case got.Status.Allowed:
			lc.Wider++
			if len(lc.WiderCases) < maxLiveCases {
				lc.WiderCases = append(lc.WiderCases, fmt.Sprintf("%s %s (%s)", s, attrs, got.Status.Reason))
			}
		default:
			lc.Disagreements = append(lc.Disagreements, fmt.Sprintf("%s %s: engine allows, cluster denies (%s)", s, attrs, got.Status.Reason))
		}
	}
	return lc, nil
}

// maxLiveCases bounds the wider cases kept in a report.
const maxLiveCases = 20
