package render

import (
	"flag"

	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tenant is a test builder: a defaulted tenant with the given members and
// resolved guardrails, as spec.Load returns it.
func tenant(name string, members ...v1alpha1.Member) v1alpha1.Tenant {
	t := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: name, Members: members, Guardrails: guardrails()}}
	t.Name = name
	if len(members) == 0 {
		t.Spec.Members = []v1alpha1.Member{member(v1alpha1.ServiceAccountMember, name+"-user", v1alpha1.EditRole)}
	}
	return t
}

func guardrails() v1alpha1.Guardrails {
	q := resource.MustParse
	ptr := func(s string) *resource.Quantity { v := q(s); return &v }
	return v1alpha1.Guardrails{
		Quota: &v1alpha1.Quota{GPUs: ptr("2"), GPUResource: "nvidia.com/gpu", CPU: ptr("16"), Memory: ptr("64Gi"),
			Pods: ptr("50"), Storage: ptr("500Gi"), PersistentVolumeClaims: ptr("20")},
		Limits: &v1alpha1.Limits{
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("256Mi")},
			Default:        corev1.ResourceList{corev1.ResourceMemory: q("2Gi")},
		},
		PodSecurity: v1alpha1.PodSecurityBaseline,
		Network:     &v1alpha1.Network{Mode: v1alpha1.NetworkIsolated, Egress: v1alpha1.EgressOpen},
	}
}

func member(kind v1alpha1.MemberKind, name string, role v1alpha1.RoleName) v1alpha1.Member {
	return v1alpha1.Member{Kind: kind, Name: name, Role: role}
}

func TestGolden(t *testing.T) {
	cases := map[string][]v1alpha1.Tenant{
		"researcher": {tenant("bob")},
		"team": {tenant("vision",
			member(v1alpha1.ServiceAccountMember, "pipeline", v1alpha1.EditRole),
			member(v1alpha1.UserMember, "carol@example.com", v1alpha1.EditRole),
			member(v1alpha1.GroupMember, "oidc:vision-readers", v1alpha1.ViewRole))},
		"two-researchers": {tenant("bob"), tenant("alice")},
		"gpu-lab":         {gpuLab()},
	}
	for name, ts := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := YAML(Tenants(ts))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("render of %s differs from %s (run with -update after checking the diff):\n%s", name, path, got)
			}
		})
	}
}

// gpuLab exercises every guardrail option: MIG profiles, restricted pod
// security, allowed ingress sources and restricted egress.
func gpuLab() v1alpha1.Tenant {
	t := tenant("gpu-lab", member(v1alpha1.UserMember, "lead@example.com", v1alpha1.AdminRole))
	q := resource.MustParse
	t.Spec.Quota.ExtendedResources = map[corev1.ResourceName]resource.Quantity{"nvidia.com/mig-1g.10gb": q("2")}
	t.Spec.Limits.Max = corev1.ResourceList{corev1.ResourceMemory: q("64Gi")}
	t.Spec.PodSecurity = v1alpha1.PodSecurityRestricted
	t.Spec.Network = &v1alpha1.Network{
		Mode: v1alpha1.NetworkIsolated,
		AllowFrom: []v1alpha1.NetworkPeer{
			{Namespace: "ingress-nginx"},
			{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "monitoring"}},
				PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus"}}},
		},
		Egress:      v1alpha1.EgressRestricted,
		EgressCIDRs: []string{"10.20.0.0/16"},
	}
	return t
}

func TestOpenNetworkAndNoLimitsRenderNothing(t *testing.T) {
	tn := tenant("open")
	tn.Spec.Network.Mode = v1alpha1.NetworkOpen
	tn.Spec.Limits = &v1alpha1.Limits{}
	for _, o := range Tenant(tn) {
		if k := *o.GetKind(); k == "NetworkPolicy" || k == "LimitRange" {
			t.Errorf("rendered a %s for an open network without limits", k)
		}
	}
}

func TestClusterScopedFirst(t *testing.T) {
	objs := Tenants([]v1alpha1.Tenant{tenant("bob"), tenant("alice")})
	seenNamespaced := false
	for _, o := range objs {
		clusterScoped := o.GetNamespace() == nil || *o.GetNamespace() == ""
		if clusterScoped && seenNamespaced {
			t.Errorf("%s %s after namespaced objects", *o.GetKind(), *o.GetName())
		}
		seenNamespaced = seenNamespaced || !clusterScoped
	}
	if *objs[0].GetKind() != "ValidatingAdmissionPolicy" || *objs[2].GetKind() != "Namespace" {
		t.Errorf("objects start with %s, %s", *objs[0].GetKind(), *objs[2].GetKind())
	}
}

// TestRolesKeepGuardrails pins the procedure's mistakes out of every level:
// no wildcards, no writes to guardrails, no RBAC, no extensions group.
func TestRolesKeepGuardrails(t *testing.T) {
	guardrails := []string{"resourcequotas", "limitranges", "networkpolicies", "namespaces", "serviceaccounts", "serviceaccounts/token"}
	for _, level := range v1alpha1.RoleNames {
		for _, r := range Rules(level) {
			for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs) {
				if strings.Contains(s, "*") {
					t.Errorf("%s: wildcard %q in %v", level, s, *r)
				}
			}
			for _, g := range r.APIGroups {
				rbacForAdmin := g == "rbac.authorization.k8s.io" && level == v1alpha1.AdminRole
				if (g == "rbac.authorization.k8s.io" && !rbacForAdmin) || g == "extensions" {
					t.Errorf("%s: grants group %q", level, g)
				}
				if rbacForAdmin && !slices.Equal(r.Resources, []string{"rolebindings"}) && !slices.Equal(r.Verbs, readVerbs) {
					t.Errorf("admin may change %v in rbac.authorization.k8s.io; only rolebindings are meant", r.Resources)
				}
			}
			writes := slices.ContainsFunc(r.Verbs, func(v string) bool { return !slices.Contains(readVerbs, v) })
			for _, res := range r.Resources {
				if writes && slices.Contains(guardrails, res) {
					t.Errorf("%s: can write %s (%v)", level, res, r.Verbs)
				}
			}
		}
	}
}

func TestViewReadsNoSecretsAndRunsNothing(t *testing.T) {
	for _, r := range Rules(v1alpha1.ViewRole) {
		for _, v := range r.Verbs {
			if !slices.Contains(readVerbs, v) {
				t.Errorf("view grants verb %q on %v", v, r.Resources)
			}
		}
		for _, res := range r.Resources {
			if res == "secrets" || res == "pods/exec" || res == "pods/attach" {
				t.Errorf("view grants %s", res)
			}
		}
	}
}

func TestEditRunsWorkloads(t *testing.T) {
	want := map[string]bool{"pods": false, "pods/exec": false, "jobs": false, "deployments": false, "secrets": false}
	for _, r := range Rules(v1alpha1.EditRole) {
		for _, res := range r.Resources {
			if _, ok := want[res]; ok && slices.Contains(r.Verbs, "create") {
				want[res] = true
			}
		}
	}
	for res, ok := range want {
		if !ok {
			t.Errorf("edit cannot create %s", res)
		}
	}
}
