package apply

import (
	"fmt"
	"maps"
	"testing"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// concurrentIn reports whether a ChangeSet lost its tenant to another run.
func concurrentIn(cs ChangeSet) bool {
	for _, c := range Conflicts(cs.Err) {
		if c.Reason == Concurrent {
			return true
		}
	}
	return false
}

// Two runs plan one tenant from different specs before either writes: the
// first to execute wins, the other writes nothing of the tenant and says so.
func TestConcurrentRunLosesTheTenant(t *testing.T) {
	c := needCluster(t)
	const name = "claim-lost"
	reconcile(t, New(c, Options{}), tenant(name, member("ana", v1alpha1.EditRole), member("bo", v1alpha1.EditRole)))
	adds := tenant(name, member("ana", v1alpha1.EditRole), member("bo", v1alpha1.EditRole), member("cy", v1alpha1.EditRole))
	removes := tenant(name, member("ana", v1alpha1.EditRole))
	a, b := New(c, Options{}), New(c, Options{})
	pa, pb := plan(t, a, false, Scope{}, adds), plan(t, b, false, Scope{}, removes)

	execute(t, a, pa)
	before := versions(t, c, name)
	lost := b.Execute(t.Context(), pb)[0]
	if !concurrentIn(lost) {
		t.Fatalf("the second run's error is %v, want a Concurrent conflict", lost.Err)
	}
	for _, ch := range lost.Changes {
		if ch.Action != Unchanged && ch.Action != Failed {
			t.Errorf("the losing run %s", ch)
		}
	}
	if after := versions(t, c, name); !maps.Equal(before, after) {
		t.Errorf("the losing run wrote:\nbefore %v\nafter  %v", before, after)
	}
	expectExist(t, c, bindingRef(name, v1alpha1.ServiceAccountMember, "bo", v1alpha1.EditRole), bindingRef(name, v1alpha1.ServiceAccountMember, "cy", v1alpha1.EditRole))
	// Once the other run is done, running again applies the spec.
	reconcile(t, New(c, Options{}), removes)
	expectGone(t, c, bindingRef(name, v1alpha1.ServiceAccountMember, "bo", v1alpha1.EditRole), bindingRef(name, v1alpha1.ServiceAccountMember, "cy", v1alpha1.EditRole))
}

// Two runs of the same spec at once both succeed.
func TestConcurrentRunsOfOneSpec(t *testing.T) {
	c := needCluster(t)
	const name = "claim-same"
	reconcile(t, New(c, Options{}), tenant(name, member("ana", v1alpha1.EditRole)))
	both := tenant(name, member("ana", v1alpha1.ViewRole), member("bo", v1alpha1.EditRole))
	a, b := New(c, Options{}), New(c, Options{})
	pa, pb := plan(t, a, false, Scope{}, both), plan(t, b, false, Scope{}, both)
	execute(t, a, pa)
	execute(t, b, pb)
	if p := plan(t, a, false, Scope{}, both); p.Sets[0].Pending() {
		t.Errorf("after both runs the tenant still needs %q", outcomes(p.Sets[0]))
	}
}

// A run that reads the tenant after another run claimed it, and finishes
// first: the run it overtook finds out when it is done and says so, for
// that tenant only. Many locked tenants are read back with one LIST, few
// with a GET each: both ways.
func TestOvertakenRunSaysSo(t *testing.T) {
	c := needCluster(t)
	for _, n := range []int{1, listLocksOver + 4} {
		t.Run(fmt.Sprintf("%d tenants", n), func(t *testing.T) {
			var before, adds []v1alpha1.Tenant
			for i := range n {
				name := fmt.Sprintf("claim-overtaken-%d-%d", n, i)
				before = append(before, tenant(name, member("ana", v1alpha1.EditRole), member("bo", v1alpha1.EditRole)))
				adds = append(adds, tenant(name, member("ana", v1alpha1.EditRole), member("bo", v1alpha1.EditRole), member("cy", v1alpha1.EditRole)))
			}
			setup := New(c, Options{})
			execute(t, setup, plan(t, setup, false, Scope{}, before...))
			removes := tenant(before[0].Name, member("ana", v1alpha1.EditRole))
			var overtaker []ChangeSet
			first := New(c, Options{Workers: 1, Progress: func(ch Change) {
				if ch.Object.Kind == "Namespace" && overtaker == nil {
					// Between the first run's claim and the rest of its writes.
					b := New(c, Options{})
					overtaker = b.Execute(t.Context(), plan(t, b, false, Scope{}, removes))
				}
			}})
			sets := first.Execute(t.Context(), plan(t, first, false, Scope{}, adds...))
			if overtaker == nil || overtaker[0].Err != nil {
				t.Fatalf("the overtaking run: %+v", overtaker)
			}
			for _, cs := range sets {
				if got, want := concurrentIn(cs), cs.Tenant == removes.Name; got != want {
					t.Errorf("tenant %s: overtaken %v, want %v (error %v)", cs.Tenant, got, want, cs.Err)
				}
			}
		})
	}
}
