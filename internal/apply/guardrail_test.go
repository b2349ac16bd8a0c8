package apply

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Unit tests: no cluster.

func TestOnlyTheAdminBindingWaitsForThePolicy(t *testing.T) {
	tn := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: "lab", Members: []v1alpha1.Member{
		{Kind: v1alpha1.UserMember, Name: "lead@example.com", Role: v1alpha1.AdminRole},
		{Kind: v1alpha1.UserMember, Name: "ana@example.com", Role: v1alpha1.EditRole},
		{Kind: v1alpha1.ServiceAccountMember, Name: "ci", Role: v1alpha1.ViewRole},
	}}}
	tn.Name = "lab"
	var admins []string
	for _, o := range render.Tenant(tn) {
		if isAdminBinding(o) {
			admins = append(admins, deref(o.GetName()))
		}
	}
	want := v1alpha1.BindingName(tn.Spec.Members[0])
	if len(admins) != 1 || admins[0] != want {
		t.Errorf("admin bindings = %q, want [%s]", admins, want)
	}
}

func TestNotEnforcedErrorSaysWhatToCheck(t *testing.T) {
	last := errors.New("admitted")
	err := fmt.Errorf("rolebinding x not written: %w", &NotEnforcedError{Policy: v1alpha1.RoleBindingPolicyName, Timeout: 30 * time.Second, Last: last})
	var ne *NotEnforcedError
	if !errors.As(err, &ne) || !errors.Is(err, last) {
		t.Fatalf("%v: not a *NotEnforcedError wrapping the last probe", err)
	}
	for _, want := range []string{"does not enforce ValidatingAdmissionPolicy bulkhead-tenant-rolebindings after 30s", "admission plugin enabled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}
