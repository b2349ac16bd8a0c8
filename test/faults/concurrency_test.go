package faults

import (
	"maps"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Two applies of the same spec at once both succeed, and the cluster holds
// what it renders, once.
func TestSameSpecTwiceAtOnce(t *testing.T) {
	need(t)
	tenants := names("twice", 1, 60)
	var b strings.Builder
	for _, name := range tenants {
		b.WriteString(tenantDoc(name, member{"lead", "admin"}, member{"worker", "edit"}))
	}
	file := writeFile(t, "twice.yaml", b.String())
	want := rendered(t, file)
	for round := range 2 { // creating, then changing nothing
		a, b := bulkhead(t, "apply", "-f", file), bulkhead(t, "apply", "-f", file)
		ra, rb := a.wait(), b.wait()
		if ra.code != 0 || rb.code != 0 {
			t.Fatalf("round %d: two applies of one spec at once: want both to exit 0, got\nfirst: %s\nsecond: %s", round, ra, rb)
		}
		sameAsRender(t, want, tenants)
	}
}

// Two applies of different specs of one tenant at once (one adds a member,
// the other removes another): the tenant ends up as exactly one of them
// renders it, never a mixture, and a run whose change did not stand says
// so.
func TestDifferentSpecsOfOneTenantAtOnce(t *testing.T) {
	need(t)
	const name = "race-team"
	base := writeFile(t, "base.yaml", tenantDoc(name, member{"lead", "admin"}, member{"ana", "edit"}, member{"bo", "edit"}))
	adds := writeFile(t, "adds.yaml", tenantDoc(name, member{"lead", "admin"}, member{"ana", "edit"}, member{"bo", "edit"}, member{"cy", "edit"}))
	removes := writeFile(t, "removes.yaml", tenantDoc(name, member{"lead", "admin"}, member{"ana", "edit"}))
	wantAdds, wantRemoves := rendered(t, adds), rendered(t, removes)
	tenants := []string{name}
	lost := 0
	for round := range 6 {
		must(t, bulkhead(t, "apply", "-f", base).wait(), 0)
		files := [2]string{adds, removes}
		if round%2 == 1 {
			files[0], files[1] = files[1], files[0]
		}
		a, b := bulkhead(t, "apply", "-f", files[0]), bulkhead(t, "apply", "-f", files[1])
		results := map[string]result{files[0]: a.wait(), files[1]: b.wait()}
		diffAdds, err := differences(t.Context(), wantAdds, tenants)
		if err != nil {
			t.Fatal(err)
		}
		diffRemoves, err := differences(t.Context(), wantRemoves, tenants)
		if err != nil {
			t.Fatal(err)
		}
		var winner, loser string
		switch {
		case len(diffAdds) == 0:
			winner, loser = adds, removes
		case len(diffRemoves) == 0:
			winner, loser = removes, adds
		default:
			t.Fatalf("round %d: the tenant is a mixture of the two specs:\nagainst the one adding a member:\n  %s\nagainst the one removing a member:\n  %s\nruns:\n%s\n%s",
				round, strings.Join(diffAdds, "\n  "), strings.Join(diffRemoves, "\n  "), results[adds], results[removes])
		}
		if r := results[winner]; r.code != 0 {
			t.Errorf("round %d: the run whose spec stands exited %d:\n%s", round, r.code, r)
		}
		if r := results[loser]; r.code != 0 {
			if lost++; lost == 1 {
				t.Logf("round %d: the run that lost says:\n%s", round, r.stderr)
			}
			msg := strings.ToLower(r.stderr)
			if !strings.Contains(msg, "another run") || !strings.Contains(msg, name) || !strings.Contains(msg, "again") {
				t.Errorf("round %d: the run that lost does not say that another run changed tenant %s and what to do:\n%s", round, name, r)
			}
		} else {
			// Both succeeded: then the loser must have finished before the
			// winner read the tenant (its output says it changed the tenant,
			// and the winner's undid that).
			t.Logf("round %d: both runs exited 0; the later one's spec stands", round)
		}
	}
	t.Logf("%d of 6 rounds had a run refused", lost)
}

// apply while the controller runs: the CLI refuses a tenant the controller
// reconciles, and the controller leaves the CLI's tenant alone, even when a
// Tenant object of the same name appears.
func TestApplyWhileTheControllerRuns(t *testing.T) {
	need(t)
	startController(t, "controller")
	const ctl, cli = "ctl-owned", "cli-owned"
	ctlSpec := writeFile(t, "ctl.yaml", tenantDoc(ctl, member{"lead", "admin"}))
	cliSpec := writeFile(t, "cli.yaml", tenantDoc(cli, member{"lead", "admin"}, member{"worker", "edit"}))
	must(t, kubectl(t, "apply", "-f", ctlSpec), 0)
	waitReady(t, []string{ctl}, 2*time.Minute)
	ctlBefore := versions(t, ctl)

	// The CLI refuses, writing nothing.
	other := writeFile(t, "ctl-cli.yaml", tenantDoc(ctl, member{"lead", "admin"}, member{"intruder", "admin"}))
	r := bulkhead(t, "apply", "-f", other).wait()
	if r.code == 0 || !strings.Contains(r.stderr, "controller") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("apply of a controller's tenant: want a refusal naming the controller, got %s", r)
	}
	if after := versions(t, ctl); !maps.Equal(ctlBefore, after) {
		t.Errorf("the refused apply changed the controller's tenant:\nbefore %v\nafter  %v", ctlBefore, after)
	}

	// The controller leaves the CLI's tenant alone.
	must(t, bulkhead(t, "apply", "-f", cliSpec).wait(), 0)
	cliBefore := versions(t, cli)
	must(t, kubectl(t, "apply", "-f", writeFile(t, "cli-object.yaml", tenantDoc(cli, member{"lead", "view"}))), 0)
	eventually(t, time.Minute, "the Tenant object says Conflict", func() (bool, string) {
		var tn v1alpha1.Tenant
		if err := e2e.tenants.Get(t.Context(), keyOf(cli), &tn); err != nil {
			return false, err.Error()
		}
		for _, c := range tn.Status.Conditions {
			if c.Type == v1alpha1.ConditionReady {
				return c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.ReasonConflict, c.Reason + ": " + c.Message
			}
		}
		return false, "no Ready condition"
	})
	if after := versions(t, cli); !maps.Equal(cliBefore, after) {
		t.Errorf("the controller changed the CLI's tenant:\nbefore %v\nafter  %v", cliBefore, after)
	}
	sameAsRender(t, rendered(t, cliSpec), []string{cli})
	must(t, kubectl(t, "delete", "tenant", cli, "--wait=false"), 0)
}

// versions are the resourceVersions of a namespace and of the RoleBindings
// and ServiceAccounts bulkhead manages in it (the "default" ServiceAccount is
// kube-controller-manager's, made whenever it gets to the namespace).
func versions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	n, err := e2e.client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["namespace"] = n.ResourceVersion
	managed := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector}
	rbs, err := e2e.client.RbacV1().RoleBindings(ns).List(t.Context(), managed)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rbs.Items {
		out["rolebinding/"+o.Name] = o.ResourceVersion
	}
	sas, err := e2e.client.CoreV1().ServiceAccounts(ns).List(t.Context(), managed)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sas.Items {
		out["serviceaccount/"+o.Name] = o.ResourceVersion
	}
	if len(out) < 3 {
		t.Fatalf("namespace %s holds too little to compare: %v", ns, out)
	}
	return out
}

func keyOf(name string) client.ObjectKey { return client.ObjectKey{Name: name} }
