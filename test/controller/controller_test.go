package controller_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// An invalid Tenant never reaches the controller: the API server refuses
// it. A Tenant naming a TenantDefaults that does not exist yet waits,
// Invalid, and converges once it is created.
func TestInvalidTenantAndMissingDefaults(t *testing.T) {
	startController(t, "controller")

	bad := writeFile(t, "bad.yaml", tenantDoc("bad-role", []member{{name: "worker", role: "owner"}}, ""))
	r := kubectl(t, "apply", "-f", bad)
	if r.code == 0 {
		t.Fatalf("kubectl apply of a Tenant with role owner succeeded:\n%s", r)
	}
	for _, want := range []string{`spec.members[0].role`, `Unsupported value: "owner"`, `"admin", "edit", "view"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("kubectl's error lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := getTenant(t, "bad-role"); !apierrors.IsNotFound(err) {
		t.Errorf("Tenant bad-role exists after a refused apply (err %v)", err)
	}

	tenant := tenantDoc("late-defaults", nil, "  defaults: late-lab\n")
	spec := writeFile(t, "tenant.yaml", tenant)
	must(t, kubectl(t, "apply", "-f", spec), 0)
	tn := waitTenant(t, "late-defaults", time.Minute, "Ready=False reason Invalid", func(tn *v1alpha1.Tenant) bool {
		return current(tn, v1alpha1.ConditionReady, metav1.ConditionFalse) && condition(tn, v1alpha1.ConditionReady).Reason == v1alpha1.ReasonInvalid
	})
	if msg := condition(tn, v1alpha1.ConditionReady).Message; !strings.Contains(msg, `TenantDefaults "late-lab" not found`) {
		t.Errorf("Ready message does not name the missing TenantDefaults: %q", msg)
	}
	if _, err := e2e.client.CoreV1().Namespaces().Get(ctx(t), "late-defaults", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace late-defaults exists while its Tenant is invalid (err %v)", err)
	}

	defaults := "---\napiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata:\n  name: late-lab\nspec:\n  quota:\n    cpu: \"3\"\n"
	both := writeFile(t, "both.yaml", defaults+tenant)
	must(t, kubectl(t, "apply", "-f", both), 0)
	waitConverged(t, "late-defaults")
	want := rendered(t, both)
	if got := want["late-defaults"]["ResourceQuota late-defaults/bulkhead"].Hard["requests.cpu"]; got != "3" {
		t.Fatalf("render of the spec with its defaults gives requests.cpu %q, want 3 (test is wrong)", got)
	}
	sameAsRender(t, want, []string{"late-defaults"})

	// A change of the TenantDefaults reaches its tenants.
	raised := writeFile(t, "raised.yaml", strings.Replace(defaults, `cpu: "3"`, `cpu: "5"`, 1)+tenant)
	must(t, kubectl(t, "apply", "-f", raised), 0)
	eventually(t, time.Minute, "the quota follows the TenantDefaults", func() (bool, string) {
		rq, err := e2e.client.CoreV1().ResourceQuotas("late-defaults").Get(ctx(t), "bulkhead", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := rq.Spec.Hard.Name("requests.cpu", "").String()
		return got == "5", "requests.cpu " + got
	})
	waitConverged(t, "late-defaults")
	sameAsRender(t, rendered(t, raised), []string{"late-defaults"})
}

// A tenant the CLI applied is not the controller's: a Tenant object of the
// same name is left in Conflict with the hand-over command, and nothing in
// the namespace changes until that command is run.
func TestCLITenantIsLeftAlone(t *testing.T) {
	startController(t, "controller")
	const name = "cli-owned"
	spec := writeFile(t, "cli.yaml", tenantDoc(name, []member{{name: "worker"}, {name: "lead", role: "admin"}}, ""))
	must(t, bulkhead(t, "apply", "-f", spec), 0)
	before := versions(t, name)

	must(t, kubectl(t, "apply", "-f", spec), 0)
	tn := waitTenant(t, name, time.Minute, "Ready=False reason Conflict", func(tn *v1alpha1.Tenant) bool {
		return current(tn, v1alpha1.ConditionReady, metav1.ConditionFalse) && condition(tn, v1alpha1.ConditionReady).Reason == v1alpha1.ReasonConflict
	})
	hint := "kubectl label namespace " + name + " bulkhead.dev/tenant-set=bulkhead-controller --overwrite"
	if msg := condition(tn, v1alpha1.ConditionReady).Message; !strings.Contains(msg, hint) {
		t.Errorf("Conflict message lacks the hand-over command %q: %q", hint, msg)
	}
	waitEvent(t, name, v1alpha1.ReasonConflict)
	if after := versions(t, name); !mapsEqual(before, after) {
		t.Fatalf("the controller changed the CLI's tenant:\nbefore %v\nafter  %v", before, after)
	}

	// The hint does what it says.
	must(t, kubectl(t, strings.Fields(hint)[1:]...), 0)
	waitConverged(t, name)
	sameAsRender(t, rendered(t, spec), []string{name})

	// Deleting a Tenant object in Conflict leaves the CLI's tenant as it is.
	const other = "cli-kept"
	otherSpec := writeFile(t, "kept.yaml", tenantDoc(other, nil, ""))
	must(t, bulkhead(t, "apply", "-f", otherSpec), 0)
	before = versions(t, other)
	must(t, kubectl(t, "apply", "-f", otherSpec), 0)
	waitTenant(t, other, time.Minute, "Ready=False reason Conflict", func(tn *v1alpha1.Tenant) bool {
		return current(tn, v1alpha1.ConditionReady, metav1.ConditionFalse) && condition(tn, v1alpha1.ConditionReady).Reason == v1alpha1.ReasonConflict
	})
	must(t, kubectl(t, "delete", "tenant", other, "--wait=false"), 0)
	waitGone(t, other)
	if after := versions(t, other); !mapsEqual(before, after) {
		t.Fatalf("deleting the Tenant object changed the CLI's tenant:\nbefore %v\nafter  %v", before, after)
	}
}

// versions are the resourceVersions of a namespace and everything bulkhead
// could write in it.
func versions(t *testing.T, ns string) map[string]string {
	t.Helper()
	c, cs := ctx(t), e2e.client
	out := map[string]string{}
	n, err := cs.CoreV1().Namespaces().Get(c, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["Namespace "+ns] = n.ResourceVersion
	add := func(kind string, m metav1.ObjectMeta) { out[kind+" "+m.Name] = m.ResourceVersion }
	opts := metav1.ListOptions{}
	sas, err1 := cs.CoreV1().ServiceAccounts(ns).List(c, opts)
	roles, err2 := cs.RbacV1().Roles(ns).List(c, opts)
	rbs, err3 := cs.RbacV1().RoleBindings(ns).List(c, opts)
	rqs, err4 := cs.CoreV1().ResourceQuotas(ns).List(c, opts)
	lrs, err5 := cs.CoreV1().LimitRanges(ns).List(c, opts)
	nps, err6 := cs.NetworkingV1().NetworkPolicies(ns).List(c, opts)
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range sas.Items {
		add("ServiceAccount", o.ObjectMeta)
	}
	for _, o := range roles.Items {
		add("Role", o.ObjectMeta)
	}
	for _, o := range rbs.Items {
		add("RoleBinding", o.ObjectMeta)
	}
	for _, o := range rqs.Items {
		add("ResourceQuota", o.ObjectMeta)
	}
	for _, o := range lrs.Items {
		add("LimitRange", o.ObjectMeta)
	}
	for _, o := range nps.Items {
		add("NetworkPolicy", o.ObjectMeta)
	}
	return out
}

// Editing a Tenant converges, a demotion included: the demoted member can
// no longer create pods and can still list them.
func TestEditConverges(t *testing.T) {
	startController(t, "controller")
	const name = "edit-me"
	sa := name + ":worker"
	first := writeFile(t, "v1.yaml", tenantDoc(name, []member{{name: "lead", role: "admin"}, {name: "worker", role: "edit"}}, ""))
	must(t, kubectl(t, "apply", "-f", first), 0)
	waitConverged(t, name)
	sameAsRender(t, rendered(t, first), []string{name})
	if !canI(t, sa, "create", "pods", name) {
		t.Fatalf("editor %s cannot create pods before the demotion", sa)
	}

	second := writeFile(t, "v2.yaml", tenantDoc(name,
		[]member{{name: "lead", role: "admin"}, {name: "worker", role: "view"}, {name: "helper", role: "edit"}},
		"  quota:\n    cpu: \"3\"\n"))
	must(t, kubectl(t, "apply", "-f", second), 0)
	tn := waitConverged(t, name)
	if tn.Generation < 2 {
		t.Fatalf("the edit did not change the generation: %s", conditions(tn))
	}
	waitCanI(t, sa, "create", "pods", name, false)
	waitCanI(t, sa, "list", "pods", name, true)
	sameAsRender(t, rendered(t, second), []string{name})
	waitEvent(t, name, "Updated")
}

// What is changed by hand is put back: a deleted RoleBinding, an edited
// quota, a weakened Pod Security label; a DriftRepaired Event says so.
func TestDriftIsRepaired(t *testing.T) {
	startController(t, "controller")
	const name = "drift"
	spec := writeFile(t, "drift.yaml", tenantDoc(name, []member{{name: "worker"}, {name: "reader", role: "view"}}, ""))
	want := rendered(t, spec)
	wantPods := want[name]["ResourceQuota drift/bulkhead"].Hard["pods"]
	wantEnforce := want[name]["Namespace /drift"].Labels["pod-security.kubernetes.io/enforce"]
	if wantPods == "" || wantEnforce == "" || wantEnforce == "privileged" {
		t.Fatalf("render gives quota pods %q and enforce %q: the test needs both, not privileged", wantPods, wantEnforce)
	}
	must(t, kubectl(t, "apply", "-f", spec), 0)
	waitConverged(t, name)

	c := ctx(t)
	const binding = "bulkhead-edit-sa-worker"
	old, err := e2e.client.RbacV1().RoleBindings(name).Get(c, binding, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the rendered RoleBinding is missing: %v", err)
	}
	must(t, kubectl(t, "-n", name, "delete", "rolebinding", binding), 0)
	must(t, kubectl(t, "-n", name, "patch", "resourcequota", "bulkhead", "--type", "merge", "-p", `{"spec":{"hard":{"pods":"999"}}}`), 0)
	must(t, kubectl(t, "label", "namespace", name, "pod-security.kubernetes.io/enforce=privileged", "--overwrite"), 0)
	must(t, kubectl(t, "-n", name, "patch", "rolebinding", "bulkhead-view-sa-reader", "--type", "json", "-p",
		`[{"op":"add","path":"/subjects/-","value":{"kind":"ServiceAccount","name":"default","namespace":"`+name+`"}}]`), 0)
	must(t, kubectl(t, "-n", name, "patch", "role", "bulkhead-edit", "--type", "json", "-p",
		`[{"op":"add","path":"/rules/-","value":{"apiGroups":["rbac.authorization.k8s.io"],"resources":["rolebindings"],"verbs":["create"]}}]`), 0)

	eventually(t, time.Minute, "RoleBinding "+binding+" is recreated", func() (bool, string) {
		rb, err := e2e.client.RbacV1().RoleBindings(name).Get(c, binding, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return rb.UID != old.UID, "still the old object"
	})
	eventually(t, time.Minute, "ResourceQuota bulkhead is put back", func() (bool, string) {
		rq, err := e2e.client.CoreV1().ResourceQuotas(name).Get(c, "bulkhead", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := rq.Spec.Hard.Pods().String()
		return got == wantPods, "pods " + got
	})
	eventually(t, time.Minute, "the namespace's pod-security enforce label is put back", func() (bool, string) {
		ns, err := e2e.client.CoreV1().Namespaces().Get(c, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := ns.Labels["pod-security.kubernetes.io/enforce"]
		return got == wantEnforce, "enforce=" + got
	})
	wantSubjects := want[name]["RoleBinding drift/bulkhead-view-sa-reader"].Subjects
	eventually(t, time.Minute, "RoleBinding bulkhead-view-sa-reader's subjects are put back", func() (bool, string) {
		rb, err := e2e.client.RbacV1().RoleBindings(name).Get(c, "bulkhead-view-sa-reader", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		_, got := bindingOf(*rb)
		return slices.Equal(got, wantSubjects), fmt.Sprint(got)
	})
	wantRules := want[name]["Role drift/bulkhead-edit"].Rules
	eventually(t, time.Minute, "Role bulkhead-edit's rules are put back", func() (bool, string) {
		r, err := e2e.client.RbacV1().Roles(name).Get(c, "bulkhead-edit", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := rulesOf(r.Rules)
		return got == wantRules, got
	})
	waitEvent(t, name, "DriftRepaired")
	waitConverged(t, name)
	sameAsRender(t, want, []string{name})
	if !canI(t, name+":worker", "create", "pods", name) {
		t.Errorf("the recreated RoleBinding does not give %s:worker its access back", name)
	}
}

// An object of a tenant whose tenant label was removed by hand is still
// that tenant's (the controller maps it by its old labels): the label is
// put back and the tenant stays Ready.
func TestRelabelledObjectIsPutBack(t *testing.T) {
	startController(t, "controller")
	const name, binding = "relabel", "bulkhead-edit-sa-worker"
	spec := writeFile(t, "relabel.yaml", tenantDoc(name, []member{{name: "worker"}}, ""))
	must(t, kubectl(t, "apply", "-f", spec), 0)
	waitConverged(t, name)

	must(t, kubectl(t, "-n", name, "label", "rolebinding", binding, v1alpha1.TenantLabel+"-"), 0)
	eventually(t, 30*time.Second, "RoleBinding "+binding+" is labelled as the tenant's again", func() (bool, string) {
		rb, err := e2e.client.RbacV1().RoleBindings(name).Get(ctx(t), binding, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		tn, _ := getTenant(t, name)
		state := fmt.Sprintf("labels %v", rb.Labels)
		if tn != nil {
			state += "; " + conditions(tn)
		}
		return rb.Labels[v1alpha1.TenantLabel] == name, state
	})
	waitConverged(t, name)
	sameAsRender(t, rendered(t, spec), []string{name})
}

// A RoleBinding made by hand in tenant A's namespace that gives tenant B's
// ServiceAccount ClusterRole edit breaks B's isolation: B's status says so
// (Verified=False with the failure in A's namespace, Degraded=True) and so
// does the continuous audit; removing the binding clears it.
func TestCrossTenantGrantIsReported(t *testing.T) {
	p := startController(t, "controller")
	spec := writeFile(t, "grant.yaml", tenantDoc("grant-a", nil, "")+tenantDoc("grant-b", nil, ""))
	must(t, kubectl(t, "apply", "-f", spec), 0)
	waitAllConverged(t, []string{"grant-a", "grant-b"}, 2*time.Minute)

	must(t, kubectl(t, "-n", "grant-a", "create", "rolebinding", "backdoor", "--clusterrole", "edit",
		"--serviceaccount", "grant-b:grant-b-user"), 0)
	tn := waitTenant(t, "grant-b", time.Minute, "Verified=False with a failure in namespace grant-a, Degraded=True", func(tn *v1alpha1.Tenant) bool {
		v := tn.Status.Verification
		return current(tn, v1alpha1.ConditionVerified, metav1.ConditionFalse) &&
			condition(tn, v1alpha1.ConditionDegraded) != nil && condition(tn, v1alpha1.ConditionDegraded).Status == metav1.ConditionTrue &&
			v != nil && slices.ContainsFunc(v.Failures, func(f v1alpha1.VerificationFailure) bool { return f.Namespace == "grant-a" })
	})
	for _, f := range tn.Status.Verification.Failures {
		if f.Namespace == "grant-a" && (f.Expected != "forbidden" || f.Got != "allowed" || !strings.Contains(f.Member, "grant-b-user")) {
			t.Errorf("failure in grant-a does not say grant-b-user was allowed where it should be forbidden: %+v", f)
		}
	}
	waitEvent(t, "grant-b", "VerificationFailed")

	t.Run("continuous audit finds it", func(t *testing.T) {
		waitAuditRun(t, p)
		tn := waitTenant(t, "grant-b", time.Minute, "status.audit has a critical finding (is the continuous audit integrated?)", func(tn *v1alpha1.Tenant) bool {
			return tn.Status.Audit != nil && tn.Status.Audit.Critical > 0
		})
		if !slices.ContainsFunc(tn.Status.Audit.Top, func(f v1alpha1.AuditFinding) bool {
			return f.Severity == "critical" && (f.Namespace == "grant-a" || strings.Contains(f.Message, "grant-a"))
		}) {
			t.Errorf("no critical finding in status.audit.top names namespace grant-a: %+v", tn.Status.Audit.Top)
		}
		eventually(t, 30*time.Second, `bulkhead_audit_findings{severity="critical"} > 0`, func() (bool, string) {
			v, ok := metric(p.scrape(t), "bulkhead_audit_findings", map[string]string{"severity": "critical"})
			return ok && v > 0, fmt.Sprintf("present %v, sum %v", ok, v)
		})
	})

	must(t, kubectl(t, "-n", "grant-a", "delete", "rolebinding", "backdoor"), 0)
	waitTenant(t, "grant-b", time.Minute, "Verified=True, Degraded=False once the binding is gone", func(tn *v1alpha1.Tenant) bool {
		return readyAndVerified(tn) && current(tn, v1alpha1.ConditionDegraded, metav1.ConditionFalse)
	})
}

// Deleting a Tenant offboards it: access removed, namespace cordoned with
// its data kept, or deleted with deletionPolicy Delete. With the release
// annotation the tenant goes to the CLI with its access unchanged.
func TestDeletingOffboards(t *testing.T) {
	startController(t, "controller")
	keep, del, rel := "off-keep", "off-delete", "off-release"
	members := []member{{name: "worker"}, {name: "lead", role: "admin"}}
	relSpec := writeFile(t, "release.yaml", tenantDoc(rel, members, ""))
	spec := writeFile(t, "all.yaml", tenantDoc(keep, members, "")+tenantDoc(del, members, "  deletionPolicy: Delete\n")+tenantDoc(rel, members, ""))
	must(t, kubectl(t, "apply", "-f", spec), 0)
	waitAllConverged(t, []string{keep, del, rel}, 2*time.Minute)
	c, cs := ctx(t), e2e.client

	t.Run("Retain cordons and keeps data", func(t *testing.T) {
		must(t, kubectl(t, "-n", keep, "create", "configmap", "results", "--from-literal=accuracy=0.93"), 0)
		must(t, kubectl(t, "delete", "tenant", keep, "--wait=false"), 0)
		waitGone(t, keep)
		ns, err := cs.CoreV1().Namespaces().Get(c, keep, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace %s is gone: %v", keep, err)
		}
		if ns.DeletionTimestamp != nil || ns.Labels[v1alpha1.StateLabel] != v1alpha1.StateCordoned {
			t.Errorf("namespace %s: deletion %v, labels %v; want kept and %s=%s", keep, ns.DeletionTimestamp, ns.Labels, v1alpha1.StateLabel, v1alpha1.StateCordoned)
		}
		sas, err := cs.CoreV1().ServiceAccounts(keep).List(c, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sa := range sas.Items {
			if sa.Name != "default" {
				t.Errorf("ServiceAccount %s/%s is left after offboarding", keep, sa.Name)
			}
		}
		rbs, err := cs.RbacV1().RoleBindings(keep).List(c, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rb := range rbs.Items {
			t.Errorf("RoleBinding %s/%s is left after offboarding", keep, rb.Name)
		}
		cm, err := cs.CoreV1().ConfigMaps(keep).Get(c, "results", metav1.GetOptions{})
		if err != nil || cm.Data["accuracy"] != "0.93" {
			t.Errorf("the tenant's data is not kept: %v %v", err, cm)
		}
		waitEvent(t, keep, "Offboarded")
		if canI(t, keep+":worker", "list", "pods", keep) {
			t.Errorf("%s:worker can still list pods in its cordoned namespace", keep)
		}
	})

	t.Run("Delete deletes the namespace", func(t *testing.T) {
		must(t, kubectl(t, "delete", "tenant", del, "--wait=false"), 0)
		waitGone(t, del)
		eventually(t, 2*time.Minute, "namespace "+del+" is deleted", func() (bool, string) {
			ns, err := cs.CoreV1().Namespaces().Get(c, del, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, ""
			}
			if err != nil {
				return false, err.Error()
			}
			return false, fmt.Sprintf("phase %s, deletion %v", ns.Status.Phase, ns.DeletionTimestamp)
		})
	})

	t.Run("release hands the tenant to the CLI", func(t *testing.T) {
		r := bulkhead(t, "apply", "-f", relSpec)
		hint := "kubectl annotate tenant " + rel + " bulkhead.dev/release=true"
		if r.code == 0 || !strings.Contains(r.stderr, hint) {
			t.Fatalf("bulkhead apply of a controller tenant: want a non-zero exit with the hint %q, got %s", hint, r)
		}
		before := bindingUIDs(t, rel)
		if len(before) == 0 {
			t.Fatal("the tenant has no RoleBindings before the release")
		}
		must(t, kubectl(t, "annotate", "tenant", rel, "bulkhead.dev/release=true"), 0)
		must(t, kubectl(t, "delete", "tenant", rel, "--wait=false"), 0)
		waitGone(t, rel)
		waitEvent(t, rel, "Released")
		if after := bindingUIDs(t, rel); !mapsEqual(before, after) {
			t.Errorf("RoleBindings changed by the release:\nbefore %v\nafter  %v", before, after)
		}
		ns, err := cs.CoreV1().Namespaces().Get(c, rel, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Labels[v1alpha1.TenantSetLabel] == v1alpha1.ControllerTenantSet || ns.Labels[v1alpha1.StateLabel] == v1alpha1.StateCordoned {
			t.Errorf("released namespace still the controller's or cordoned: labels %v", ns.Labels)
		}
		must(t, bulkhead(t, "apply", "-f", relSpec), 0)
		if after := bindingUIDs(t, rel); !mapsEqual(before, after) {
			t.Errorf("RoleBindings recreated when the CLI took the tenant:\nbefore %v\nafter  %v", before, after)
		}
		if !canI(t, rel+":worker", "create", "pods", rel) {
			t.Errorf("%s:worker lost its access across the hand-over", rel)
		}
	})
}

func bindingUIDs(t *testing.T, ns string) map[string]string {
	t.Helper()
	rbs, err := e2e.client.RbacV1().RoleBindings(ns).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rb := range rbs.Items {
		out[rb.Name] = string(rb.UID)
	}
	return out
}

// A controller killed with SIGKILL in the middle of its work leaves
// nothing the next one cannot finish: all tenants converge to exactly the
// rendered objects.
func TestKilledMidReconcileConverges(t *testing.T) {
	const n = 50
	tenants := names("crash", n)
	var b strings.Builder
	for _, name := range tenants {
		b.WriteString(tenantDoc(name, []member{{name: "lead", role: "admin"}, {name: "worker"}, {name: "reader", role: "view"}}, ""))
	}
	spec := writeFile(t, "crash.yaml", b.String())
	want := rendered(t, spec)

	// One worker, so the kill lands between tenants and inside one.
	first := startController(t, "controller-1", "--concurrency", "1")
	must(t, kubectl(t, "apply", "-f", spec), 0)
	// Polled tightly (not with eventually's growing interval) so the kill
	// comes while most tenants are still to do.
	ready, deadline := 0, time.Now().Add(2*time.Minute)
	for ready == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no crash tenant became Ready within 2m")
		}
		time.Sleep(20 * time.Millisecond)
		var list v1alpha1.TenantList
		if err := e2e.tenants.List(ctx(t), &list); err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			tn := &list.Items[i]
			if strings.HasPrefix(tn.Name, "crash-") && current(tn, v1alpha1.ConditionReady, metav1.ConditionTrue) {
				ready++
			}
		}
	}
	if ready == n {
		t.Fatalf("all %d tenants became Ready before the test could kill the controller", n)
	}
	first.kill(t)
	t.Logf("killed the controller with %d of %d tenants Ready", ready, n)

	startController(t, "controller-2")
	waitAllConverged(t, tenants, 3*time.Minute)
	sameAsRender(t, want, tenants)
}

// Two replicas with --leader-elect: one holds the Lease and does all the
// work; the other writes nothing until the leader dies, then takes over.
func TestLeaderElection(t *testing.T) {
	const leaseNS = "bulkhead-le"
	must(t, kubectl(t, "create", "namespace", leaseNS), 0)
	args := []string{"--leader-elect", "--leader-election-namespace", leaseNS}
	replicas := []*proc{startController(t, "replica-1", args...), startController(t, "replica-2", args...)}

	isLeader := func(p *proc) (float64, bool) {
		return metric(p.scrape(t), "leader_election_master_status", map[string]string{"name": "bulkhead-controller"})
	}
	var leader, follower *proc
	eventually(t, time.Minute, "exactly one replica leads", func() (bool, string) {
		a, okA := isLeader(replicas[0])
		b, okB := isLeader(replicas[1])
		state := fmt.Sprintf("replica-1 %v (%v), replica-2 %v (%v)", a, okA, b, okB)
		switch {
		case okA && okB && a == 1 && b == 0:
			leader, follower = replicas[0], replicas[1]
		case okA && okB && a == 0 && b == 1:
			leader, follower = replicas[1], replicas[0]
		default:
			if okA && okB && a == 1 && b == 1 {
				t.Fatalf("both replicas lead: %s", state)
			}
			return false, state
		}
		return true, state
	})
	holder := leaseHolder(t, leaseNS)
	if holder == "" {
		t.Fatalf("Lease %s/bulkhead-controller has no holder while %s leads", leaseNS, leader.name)
	}

	first := writeFile(t, "first.yaml", tenantDoc("le-first", nil, ""))
	must(t, kubectl(t, "apply", "-f", first), 0)
	waitConverged(t, "le-first")
	reconciles := func(p *proc) (float64, bool) {
		return metric(p.scrape(t), "controller_runtime_reconcile_total", map[string]string{"controller": "tenant"})
	}
	if v, _ := reconciles(leader); v == 0 {
		t.Errorf("the leader %s counts no reconcile after le-first converged", leader.name)
	}
	if v, ok := reconciles(follower); v != 0 {
		t.Errorf("the follower %s reconciled (controller_runtime_reconcile_total present %v, %v)", follower.name, ok, v)
	}
	if strings.Contains(follower.logText(), "Starting workers") {
		t.Errorf("the follower %s started its workers while the other led", follower.name)
	}

	leader.kill(t)
	t.Logf("killed the leader %s (SIGKILL: the Lease is not released)", leader.name)
	eventually(t, 2*time.Minute, follower.name+" takes the lead", func() (bool, string) {
		if !follower.running() {
			t.Fatalf("%s exited", follower.name)
		}
		v, ok := isLeader(follower)
		return ok && v == 1, fmt.Sprintf("master_status %v (%v), lease holder %q", v, ok, leaseHolder(t, leaseNS))
	})
	if now := leaseHolder(t, leaseNS); now == holder || now == "" {
		t.Errorf("Lease holder %q after the takeover, was %q", now, holder)
	}
	second := writeFile(t, "second.yaml", tenantDoc("le-second", nil, ""))
	must(t, kubectl(t, "apply", "-f", second), 0)
	waitConverged(t, "le-second")
	if v, _ := reconciles(follower); v == 0 {
		t.Errorf("the new leader %s counts no reconcile", follower.name)
	}
	sameAsRender(t, rendered(t, first, second), []string{"le-first", "le-second"})
}

func leaseHolder(t *testing.T, ns string) string {
	t.Helper()
	l, err := e2e.client.CoordinationV1().Leases(ns).Get(ctx(t), "bulkhead-controller", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// A hundred Tenants applied with kubectl, and the examples, become exactly
// what `bulkhead render` prints for them; verification with real
// credentials agrees with status, and so does the CLI's audit.
func TestTenantsMatchRender(t *testing.T) {
	p := startController(t, "controller")

	t.Run("100 tenants", func(t *testing.T) {
		const n = 100
		tenants := names("fleet", n)
		var b strings.Builder
		for i, name := range tenants {
			members := []member{{name: "worker"}, {name: "oidc:" + name + "-readers", kind: "Group", role: "view"}}
			extra := ""
			if i%3 == 0 {
				members = append(members, member{name: "lead", role: "admin"}, member{name: name + "@example.com", kind: "User", role: "view"})
				extra = "  quota:\n    cpu: \"4\"\n"
			}
			b.WriteString(tenantDoc(name, members, extra))
		}
		spec := writeFile(t, "fleet.yaml", b.String())
		must(t, kubectl(t, "apply", "-f", spec), 0)
		waitAllConverged(t, tenants, 4*time.Minute)
		sameAsRender(t, rendered(t, spec), tenants)
		eventually(t, 30*time.Second, `bulkhead_tenants{condition="Ready",status="True"} counts the fleet`, func() (bool, string) {
			v, ok := metric(p.scrape(t), "bulkhead_tenants", map[string]string{"condition": "Ready", "status": "True"})
			return ok && v >= n, fmt.Sprintf("present %v, %v", ok, v)
		})
	})

	examples := []string{"vision", "carol", "sandbox", "bob", "alice"}
	t.Run("examples", func(t *testing.T) {
		must(t, kubectl(t, "apply", "-f", "examples/"), 0)
		waitAllConverged(t, examples, 2*time.Minute)
		sameAsRender(t, rendered(t, "examples/"), examples)
		r := must(t, bulkhead(t, "verify", "-f", "examples/"), 0)
		if !strings.Contains(r.stdout, "checks passed") {
			t.Errorf("bulkhead verify does not say its checks passed:\n%s", r)
		}
		for _, name := range examples {
			if tn, _ := getTenant(t, name); tn == nil || !readyAndVerified(tn) {
				t.Errorf("tenant %s no longer Verified after bulkhead verify passed", name)
			}
		}
	})

	t.Run("audit agrees with status.audit", func(t *testing.T) {
		waitAuditRun(t, p)
		for _, name := range examples {
			waitTenant(t, name, time.Minute, "status.audit is written (is the continuous audit integrated?)", func(tn *v1alpha1.Tenant) bool {
				return tn.Status.Audit != nil
			})
		}
		eventually(t, time.Minute, "status.audit counts equal bulkhead audit's for the examples", func() (bool, string) {
			r := bulkhead(t, "audit", "-o", "json")
			if r.code != 0 && r.code != 1 {
				t.Fatalf("bulkhead audit: %s", r)
			}
			var rep auditReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("bulkhead audit -o json: %v\n%s", err, r.stdout)
			}
			var diffs []string
			for _, name := range examples {
				tn, err := getTenant(t, name)
				if err != nil {
					return false, err.Error()
				}
				want := rep.counts(name, tn.Status.Namespace)
				a := tn.Status.Audit
				got := [4]int{a.Critical, a.High, a.Medium, a.Low}
				if got != want {
					diffs = append(diffs, fmt.Sprintf("%s: status.audit critical/high/medium/low %v, bulkhead audit %v", name, got, want))
				}
			}
			return len(diffs) == 0, strings.Join(diffs, "; ")
		})
	})
}

// waitAuditRun waits until the controller says it ran its continuous audit.
func waitAuditRun(t *testing.T, p *proc) {
	t.Helper()
	eventually(t, 30*time.Second, "the controller ran its continuous audit (bulkhead_audit_runs_total > 0; is the audit integrated?)", func() (bool, string) {
		v, ok := metric(p.scrape(t), "bulkhead_audit_runs_total", nil)
		return ok && v > 0, fmt.Sprintf("present %v, value %v", ok, v)
	})
}

// auditReport is what the test reads of `bulkhead audit -o json`.
type auditReport struct {
	Findings []struct {
		Severity  string `json:"severity"`
		Tenant    string `json:"tenant"`
		Namespace string `json:"namespace"`
	} `json:"findings"`
}

// counts are a tenant's findings by severity (critical, high, medium, low):
// those naming it and those in its namespace, as status.audit counts them.
func (r auditReport) counts(tenant, ns string) [4]int {
	var out [4]int
	for _, f := range r.Findings {
		if f.Tenant != tenant && (ns == "" || f.Namespace != ns) {
			continue
		}
		switch f.Severity {
		case "critical":
			out[0]++
		case "high":
			out[1]++
		case "medium":
			out[2]++
		case "low":
			out[3]++
		}
	}
	return out
}
