package apply

import (
	"fmt"
	"maps"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
)

func secretRef(ns, name string) Ref {
	return Ref{Kind: "Secret", APIVersion: "v1", Namespace: ns, Name: name}
}

// expectToken waits until (the API server caches token reviews for seconds) the API server authenticates token (or refuses it).
func expectToken(t *testing.T, c kubernetes.Interface, what, token string, authenticated bool) {
	t.Helper()
	eventually(t, what, func() error {
		r, err := c.AuthenticationV1().TokenReviews().Create(t.Context(),
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if r.Status.Authenticated != authenticated {
			return fmt.Errorf("authenticated = %v, want %v", r.Status.Authenticated, authenticated)
		}
		return nil
	})
}

func TestRemovedMemberLosesLegacyToken(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})
	reconcile(t, r, tenant("tok", member("ana", edit), member("ben", edit)))
	tokens := map[string]string{}
	for _, sa := range []string{"ana", "ben"} {
		tok, err := credentials.Legacy(t.Context(), c.CoreV1(), "tok", "tok", sa, time.Minute)
		check(t, err)
		tokens[sa] = tok.Value
		expectToken(t, c, sa+"'s legacy token", tok.Value, true)
	}

	cs := reconcile(t, r, tenant("tok", member("ana", edit)))
	expectChanges(t, cs,
		outcome(nsRef("tok"), Configured),
		outcome(saRef("tok", "ana"), Unchanged),
		outcome(roleRef("tok", edit), Unchanged),
		outcome(bindingRef("tok", sa, "ana", edit), Unchanged),
		outcome(quotaRef("tok"), Unchanged),
		outcome(limitsRef("tok"), Unchanged),
		outcome(ingressRef("tok"), Unchanged),
		outcome(secretRef("tok", credentials.LegacySecretName("ben")), Removed),
		outcome(saRef("tok", "ben"), Revoked),
		outcome(bindingRef("tok", sa, "ben", edit), Removed))
	expectGone(t, c, secretRef("tok", "ben-token"), saRef("tok", "ben"))
	// A member who stays keeps the legacy token.
	expectExist(t, c, secretRef("tok", "ana-token"))
	expectToken(t, c, "ben's revoked token", tokens["ben"], false)
	expectToken(t, c, "ana's token", tokens["ana"], true)
}

func TestDryRunOfNewTenantAndOffboard(t *testing.T) {
	c := needCluster(t)
	dry := New(c, Options{DryRun: true})
	objs := defaultObjects("dry-new", "dry-new-user", edit)
	sets := execute(t, dry, plan(t, dry, false, Scope{}, tenant("dry-new")))
	expectChanges(t, sets[0], all(Created, objs...)...)
	expectGone(t, c, objs...)

	reconcile(t, New(c, Options{}), tenant("dry-off"))
	before := versions(t, c, "dry-off")
	cs, _ := offboard(t, dry, "dry-off", Scope{})
	if cs.Err != nil {
		t.Fatalf("dry-run offboard: %v", cs.Err)
	}
	expectChanges(t, cs, offboardChanges("dry-off", "dry-off-user", Cordoned)...)
	if after := versions(t, c, "dry-off"); !maps.Equal(before, after) {
		t.Errorf("dry-run offboard changed the tenant's objects:\nbefore %v\nafter  %v", before, after)
	}
	if l := get(t, c, nsRef("dry-off")).GetLabels(); l[v1alpha1.StateLabel] != "" {
		t.Errorf("dry-run offboard cordoned the namespace: labels %v", l)
	}
}
