package spec

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

func qty(s string) *resource.Quantity {
	v := resource.MustParse(s)
	return &v
}

// wantQuantity compares a quantity by value, since equal quantities may
// differ in their cached string form.
func wantQuantity(t *testing.T, name string, got *resource.Quantity, want string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %s", name, want)
		return
	}
	if got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("%s = %s, want %s", name, got.String(), want)
	}
}

func wantList(t *testing.T, name string, got corev1.ResourceList, want map[corev1.ResourceName]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for k, w := range want {
		v, ok := got[k]
		if !ok {
			t.Errorf("%s lacks %s", name, k)
			continue
		}
		wantQuantity(t, name+"["+string(k)+"]", &v, w)
	}
}

// TestGPULab checks the example of the guardrails documentation field by
// field: each value comes from the tenant, else its TenantDefaults, else
// the built-ins.
func TestGPULab(t *testing.T) {
	in, err := LoadAll([]string{"testdata/valid/gpu-lab.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Defaults) == 0 || in.Defaults[0].Name != "gpu-lab" || in.Defaults[0].Kind != v1alpha1.TenantDefaultsKind ||
		in.Defaults[0].Source.String() != "testdata/valid/gpu-lab.yaml:1" {
		t.Fatalf("defaults %+v from %v", in.Defaults, in.Defaults[0].Source)
	}
	// The defaults stay as written.
	if in.Defaults[0].Spec.Limits != nil || in.Defaults[0].Spec.Quota.Pods != nil {
		t.Errorf("Defaults were resolved: %+v", in.Defaults[0].Spec)
	}
	if len(in.Tenants) != 1 {
		t.Fatalf("got %d tenants", len(in.Tenants))
	}
	vision := in.Tenants[0]
	if vision.Name != "vision" || vision.Source.String() != "testdata/valid/gpu-lab.yaml:14" ||
		!reflect.DeepEqual(vision.Spec.Members, []v1alpha1.Member{{Name: "lead", Kind: v1alpha1.UserMember, Role: v1alpha1.AdminRole}}) {
		t.Errorf("tenant %s from %s with %+v", vision.Name, vision.Source, vision.Spec.Members)
	}
	g := vision.Spec.Guardrails

	q := g.Quota
	wantQuantity(t, "quota.gpus (tenant)", q.GPUs, "4")
	if q.GPUResource != "nvidia.com/gpu" {
		t.Errorf("quota.gpuResource = %q", q.GPUResource)
	}
	wantList(t, "quota.extendedResources (tenant)", q.ExtendedResources, map[corev1.ResourceName]string{"nvidia.com/mig-1g.10gb": "2"})
	wantQuantity(t, "quota.cpu (defaults)", q.CPU, "16")
	wantQuantity(t, "quota.memory (defaults)", q.Memory, "64Gi")
	wantQuantity(t, "quota.pods (built-in)", q.Pods, "100")
	wantQuantity(t, "quota.storage (built-in)", q.Storage, "1Ti")
	wantQuantity(t, "quota.persistentVolumeClaims (built-in)", q.PersistentVolumeClaims, "50")

	// The tenant overrides both built-in default requests.
	wantList(t, "limits.defaultRequest", g.Limits.DefaultRequest, map[corev1.ResourceName]string{"cpu": "500m", "memory": "1Gi"})
	wantList(t, "limits.default", g.Limits.Default, map[corev1.ResourceName]string{"memory": "8Gi"})
	wantList(t, "limits.max", g.Limits.Max, map[corev1.ResourceName]string{"memory": "64Gi", "nvidia.com/gpu": "4"})

	if g.PodSecurity != v1alpha1.PodSecurityRestricted {
		t.Errorf("podSecurity (defaults) = %q", g.PodSecurity)
	}

	n := g.Network
	wantPeers := []v1alpha1.NetworkPeer{
		{Namespace: "ingress-nginx"},
		{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "monitoring"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus"}},
		},
	}
	if n.Mode != v1alpha1.NetworkIsolated || n.Egress != v1alpha1.EgressRestricted ||
		!reflect.DeepEqual(n.EgressCIDRs, []string{"10.20.0.0/16"}) || !reflect.DeepEqual(n.AllowFrom, wantPeers) {
		t.Errorf("network = %+v", n)
	}
	// The tenant's peers are copies: changing them leaves the defaults be.
	n.AllowFrom[1].NamespaceSelector.MatchLabels["team"] = "changed"
	if in.Defaults[0].Spec.Network.AllowFrom[1].NamespaceSelector.MatchLabels["team"] != "monitoring" {
		t.Error("the tenant shares its allowFrom with the TenantDefaults")
	}
}

func TestResolvePrecedence(t *testing.T) {
	tenant := &v1alpha1.Guardrails{
		Quota: &v1alpha1.Quota{GPUs: qty("2"), ExtendedResources: corev1.ResourceList{"example.com/a": *qty("1")}},
		Limits: &v1alpha1.Limits{
			DefaultRequest: corev1.ResourceList{corev1.ResourceMemory: *qty("512Mi")},
			Max:            corev1.ResourceList{corev1.ResourceCPU: *qty("8")},
		},
		Network: &v1alpha1.Network{Egress: v1alpha1.EgressRestricted},
	}
	defaults := &v1alpha1.Guardrails{
		Quota: &v1alpha1.Quota{GPUs: qty("1"), GPUResource: "amd.com/gpu", CPU: qty("8"),
			ExtendedResources: corev1.ResourceList{"example.com/a": *qty("5"), "example.com/b": *qty("3")}},
		Limits:      &v1alpha1.Limits{Max: corev1.ResourceList{corev1.ResourceMemory: *qty("16Gi"), corev1.ResourceCPU: *qty("4")}},
		PodSecurity: v1alpha1.PodSecurityRestricted,
		Network: &v1alpha1.Network{
			AllowFrom:   []v1alpha1.NetworkPeer{{Namespace: "ingress"}},
			EgressCIDRs: []string{"10.0.0.0/8"},
		},
	}
	g := ResolveGuardrails(tenant, defaults)
	wantQuantity(t, "gpus (tenant over defaults)", g.Quota.GPUs, "2")
	if g.Quota.GPUResource != "amd.com/gpu" {
		t.Errorf("gpuResource (defaults over built-in) = %q", g.Quota.GPUResource)
	}
	wantQuantity(t, "cpu (defaults over built-in)", g.Quota.CPU, "8")
	wantQuantity(t, "memory (built-in)", g.Quota.Memory, "128Gi")
	wantList(t, "extendedResources (by key)", g.Quota.ExtendedResources,
		map[corev1.ResourceName]string{"example.com/a": "1", "example.com/b": "3"})
	wantList(t, "defaultRequest (by key)", g.Limits.DefaultRequest, map[corev1.ResourceName]string{"cpu": "100m", "memory": "512Mi"})
	wantList(t, "default (built-in)", g.Limits.Default, map[corev1.ResourceName]string{"memory": "2Gi"})
	wantList(t, "max (by key)", g.Limits.Max, map[corev1.ResourceName]string{"cpu": "8", "memory": "16Gi"})
	if g.PodSecurity != v1alpha1.PodSecurityRestricted {
		t.Errorf("podSecurity (defaults) = %q", g.PodSecurity)
	}
	want := &v1alpha1.Network{Mode: v1alpha1.NetworkIsolated, Egress: v1alpha1.EgressRestricted,
		AllowFrom: []v1alpha1.NetworkPeer{{Namespace: "ingress"}}, EgressCIDRs: []string{"10.0.0.0/8"}}
	if !reflect.DeepEqual(g.Network, want) {
		t.Errorf("network (field by field) = %+v, want %+v", g.Network, want)
	}

	if got, want := ResolveGuardrails(nil, nil), BuiltinGuardrails(); !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveGuardrails(nil, nil) = %+v, want the built-ins %+v", got, want)
	}
	if again := ResolveGuardrails(&g, nil); !reflect.DeepEqual(again, g) {
		t.Errorf("resolving twice changed\n%+v\nto\n%+v", g, again)
	}
}

// TestResolveOptOut: a level that opts out of isolation discards what it
// would inherit for it, but keeps what it sets itself.
func TestResolveOptOut(t *testing.T) {
	defaults := &v1alpha1.Guardrails{Network: &v1alpha1.Network{
		AllowFrom: []v1alpha1.NetworkPeer{{Namespace: "ingress"}}, Egress: v1alpha1.EgressRestricted, EgressCIDRs: []string{"10.0.0.0/8"},
	}}
	cases := []struct {
		name   string
		tenant *v1alpha1.Network
		want   v1alpha1.Network
	}{
		{"open network", &v1alpha1.Network{Mode: v1alpha1.NetworkOpen},
			v1alpha1.Network{Mode: v1alpha1.NetworkOpen, Egress: v1alpha1.EgressOpen}},
		{"open egress", &v1alpha1.Network{Egress: v1alpha1.EgressOpen},
			v1alpha1.Network{Mode: v1alpha1.NetworkIsolated, Egress: v1alpha1.EgressOpen, AllowFrom: []v1alpha1.NetworkPeer{{Namespace: "ingress"}}}},
		{"no peers", &v1alpha1.Network{AllowFrom: []v1alpha1.NetworkPeer{}},
			v1alpha1.Network{Mode: v1alpha1.NetworkIsolated, Egress: v1alpha1.EgressRestricted, AllowFrom: []v1alpha1.NetworkPeer{}, EgressCIDRs: []string{"10.0.0.0/8"}}},
		{"own contradiction is kept", &v1alpha1.Network{Mode: v1alpha1.NetworkOpen, Egress: v1alpha1.EgressRestricted},
			v1alpha1.Network{Mode: v1alpha1.NetworkOpen, Egress: v1alpha1.EgressRestricted}},
	}
	for _, tc := range cases {
		g := ResolveGuardrails(&v1alpha1.Guardrails{Network: tc.tenant}, defaults)
		if !reflect.DeepEqual(*g.Network, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, *g.Network, tc.want)
		}
	}
}

func TestBuiltinGuardrailsAreIndependent(t *testing.T) {
	a, b := BuiltinGuardrails(), BuiltinGuardrails()
	a.Quota.GPUs.Add(resource.MustParse("3"))
	a.Quota.GPUResource = "amd.com/gpu"
	a.Limits.DefaultRequest[corev1.ResourceCPU] = resource.MustParse("7")
	a.Limits.Default["example.com/x"] = resource.MustParse("1")
	a.Network.Mode = v1alpha1.NetworkOpen
	a.PodSecurity = v1alpha1.PodSecurityPrivileged
	if !reflect.DeepEqual(b, BuiltinGuardrails()) {
		t.Errorf("changing one BuiltinGuardrails value changed another: %+v", b)
	}
	wantQuantity(t, "built-in gpus", BuiltinGuardrails().Quota.GPUs, "0")

	// Nor does a resolved value share memory with its inputs.
	tenant := &v1alpha1.Guardrails{
		Quota:   &v1alpha1.Quota{GPUs: qty("1"), ExtendedResources: corev1.ResourceList{"example.com/a": *qty("1")}},
		Limits:  &v1alpha1.Limits{Max: corev1.ResourceList{corev1.ResourceCPU: *qty("2")}},
		Network: &v1alpha1.Network{EgressCIDRs: []string{"10.0.0.0/8"}, Egress: v1alpha1.EgressRestricted},
	}
	g := ResolveGuardrails(tenant, nil)
	g.Quota.GPUs.Add(resource.MustParse("1"))
	g.Quota.ExtendedResources["example.com/a"] = resource.MustParse("9")
	g.Limits.Max[corev1.ResourceCPU] = resource.MustParse("9")
	g.Network.EgressCIDRs[0] = "changed"
	ext := tenant.Quota.ExtendedResources["example.com/a"]
	if tenant.Quota.GPUs.String() != "1" || ext.String() != "1" ||
		tenant.Limits.Max.Cpu().String() != "2" || tenant.Network.EgressCIDRs[0] != "10.0.0.0/8" {
		t.Errorf("changing the resolved value changed the input: %+v %+v %+v", tenant.Quota, tenant.Limits, tenant.Network)
	}
}

func TestDefaultResolvesAgainstBuiltinsOnly(t *testing.T) {
	tn := v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "bob"}}
	tn.Spec.PodSecurity = v1alpha1.PodSecurityPrivileged
	Default(&tn)
	want := BuiltinGuardrails()
	want.PodSecurity = v1alpha1.PodSecurityPrivileged
	if !reflect.DeepEqual(tn.Spec.Guardrails, want) {
		t.Errorf("Default gave %+v, want %+v", tn.Spec.Guardrails, want)
	}
	DefaultWith(&tn, &v1alpha1.Guardrails{PodSecurity: v1alpha1.PodSecurityRestricted, Quota: &v1alpha1.Quota{CPU: qty("1")}})
	if !reflect.DeepEqual(tn.Spec.Guardrails, want) {
		t.Errorf("defaulting a defaulted tenant changed it: %+v", tn.Spec.Guardrails)
	}
}
