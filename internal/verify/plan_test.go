package verify

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

func tenantWith(name string, psa v1alpha1.PodSecurityLevel, gpus string, members ...v1alpha1.Member) v1alpha1.Tenant {
	t := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: name, Members: members}}
	t.Name = name
	t.Spec.PodSecurity = psa
	if gpus != "" {
		q := resource.MustParse(gpus)
		t.Spec.Quota = &v1alpha1.Quota{GPUs: &q, GPUResource: "nvidia.com/gpu"}
	}
	return t
}

// planned lists "scope ns action expect" for one member.
func planned(t v1alpha1.Tenant, m v1alpha1.Member, all ...v1alpha1.Tenant) []string {
	var out []string
	plan(t, m, namespaces(all), otherSA(t, all), func(scope Scope, ns string, expect Outcome, ps ...probe) {
		for _, p := range ps {
			out = append(out, strings.Join([]string{string(scope), ns, p.action, string(expect)}, " "))
		}
	})
	return out
}

func TestPlanEditMember(t *testing.T) {
	edit := v1alpha1.Member{Kind: v1alpha1.ServiceAccountMember, Name: "bob-user", Role: v1alpha1.EditRole}
	bob := tenantWith("bob", v1alpha1.PodSecurityBaseline, "2", edit)
	alice := tenantWith("alice", v1alpha1.PodSecurityBaseline, "")
	got := planned(bob, edit, bob, alice)
	for _, want := range []string{
		"own bob create pods allowed",
		"other alice get secrets forbidden",
		"cluster  create clusterrolebindings forbidden",
		"guardrail bob delete resourcequotas forbidden",
		"guardrail bob patch own namespace labels forbidden",
		"guardrail bob create privileged pods rejected",
		"guardrail bob create pods with 3 nvidia.com/gpu rejected",
		"guardrail bob create rolebindings forbidden",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("edit plan lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "other bob") }) {
		t.Errorf("own namespace checked as another tenant's")
	}
}

func TestPlanViewAndPrivileged(t *testing.T) {
	view := v1alpha1.Member{Kind: v1alpha1.GroupMember, Name: "readers", Role: v1alpha1.ViewRole}
	got := planned(tenantWith("t", v1alpha1.PodSecurityBaseline, "1", view), view)
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "rejected") }) {
		t.Errorf("a view member cannot create pods, so no admission checks apply:\n%s", strings.Join(got, "\n"))
	}
	edit := v1alpha1.Member{Kind: v1alpha1.UserMember, Name: "u", Role: v1alpha1.EditRole}
	got = planned(tenantWith("p", v1alpha1.PodSecurityPrivileged, "", edit), edit)
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "privileged pods") }) {
		t.Errorf("a privileged tenant opted out of pod security; verify must not expect rejections")
	}
}

func TestPlanAdminMember(t *testing.T) {
	admin := v1alpha1.Member{Kind: v1alpha1.UserMember, Name: "lead", Role: v1alpha1.AdminRole}
	got := planned(tenantWith("lab", v1alpha1.PodSecurityRestricted, "", admin), admin)
	for _, want := range []string{
		"own lab bind bulkhead-view to own serviceaccount allowed",
		"guardrail lab bind system:authenticated rejected",
		"guardrail lab bind another tenant's serviceaccount rejected",
		"guardrail lab bind a clusterrole rejected",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("admin plan lacks %q", want)
		}
	}
}

func TestTableMarksFailures(t *testing.T) {
	r := &Report{Checks: []Check{
		{Tenant: "bob", Member: "ServiceAccount/bob-user", Role: "edit", Scope: Own, Namespace: "bob", Action: "list pods", Expect: Allowed, Got: Allowed, OK: true},
		{Tenant: "bob", Member: "ServiceAccount/bob-user", Role: "edit", Scope: Other, Namespace: "alice", Action: "list pods", Expect: Forbidden, Got: Allowed},
	}}
	var buf bytes.Buffer
	if err := r.Table(&buf, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"NS bob", "NS alice", "allowed 1/1", "FAIL 1/1", "1 of 2 checks failed", "list pods in namespace alice: expected forbidden, got allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colors without a terminal")
	}
	if r.Passed() {
		t.Errorf("report with a failure passed")
	}
}

func TestNeighboursCoverEveryNamespace(t *testing.T) {
	var ts []v1alpha1.Tenant
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ts = append(ts, tenantWith(n, "", ""))
	}
	probed := map[string]int{}
	for i := range ts {
		got := neighbours(ts, i, 2)
		if len(got) != 2 {
			t.Fatalf("tenant %d probes %d others, want 2", i, len(got))
		}
		for _, o := range got {
			if o.Name == ts[i].Name {
				t.Errorf("tenant %s probes itself as another", o.Name)
			}
			probed[o.Name]++
		}
	}
	for _, tn := range ts {
		if probed[tn.Name] != 2 {
			t.Errorf("namespace %s probed by %d tenants, want 2", tn.Name, probed[tn.Name])
		}
	}
	if got := namespaces(neighbours(ts, 1, 0)); !slices.Equal(got, []string{"c", "d", "e", "a"}) {
		t.Errorf("others=0 gives %v, want all others from the next round the ring", got)
	}
}

// Checks that ask one identity one question share a SubjectAccessReview:
// an edit member's admission checks ask what its "create pods" asks, an
// admin's binds what its own "bind bulkhead-view" asks.
func TestDistinctQuestions(t *testing.T) {
	edit := v1alpha1.Member{Kind: v1alpha1.ServiceAccountMember, Name: "bob", Role: v1alpha1.EditRole}
	view := v1alpha1.Member{Kind: v1alpha1.ServiceAccountMember, Name: "bea", Role: v1alpha1.ViewRole}
	admin := v1alpha1.Member{Kind: v1alpha1.UserMember, Name: "lead", Role: v1alpha1.AdminRole}
	tn := tenantWith("b", v1alpha1.PodSecurityBaseline, "0", edit, view, admin)
	others := []string{"c", "d", "a"}
	items := checks(tn, others, intruderIn(tn, others), nil)
	qs, asks := distinctQuestions(items)
	// edit 25 checks, 22 questions; view 22 and 22; admin 28 and 22.
	if len(items) != 75 || len(qs) != 66 {
		t.Errorf("%d checks, %d questions; want 75 and 66", len(items), len(qs))
	}
	for i, it := range items {
		q := qs[asks[i]]
		if q.user.Name != it.as.Name || *q.attrs != *it.probe.attributes(it.check.Namespace) {
			t.Errorf("check %s %s asks %s %+v", it.check.Member, it.check.Action, q.user.Name, *q.attrs)
		}
	}
	if a := patchNamespace.attributes("b"); a.Name != "b" || a.Namespace != "b" {
		t.Errorf("patching namespace b is authorized as %+v, want name and namespace b", *a)
	}
}
