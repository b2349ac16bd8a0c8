package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// FuzzRenderSpec renders every spec the loader accepts, mutated from the
// spec package's valid fixtures: render must not panic, every object must
// pass apimachinery's validation of its metadata (the API server's first
// check), and the same input must render the same bytes.
// Seeds: ../spec/testdata/valid, plus testdata/fuzz/FuzzRenderSpec.
func FuzzRenderSpec(f *testing.F) {
	seeds, err := filepath.Glob("../spec/testdata/valid/*.y*ml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		loaded, err := spec.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		tenants := make([]v1alpha1.Tenant, len(loaded))
		for i, l := range loaded {
			tenants[i] = l.Tenant
		}
		checkRender(t, tenants)
	})
}

// FuzzRenderTenant builds a Tenant field by field, as the controller reads
// one from the cluster (no YAML, no positions), keeps it if spec.Validate
// accepts it and renders it defaulted. The fields are where names are born:
// tenant, namespace and member names, kinds and roles, the GPU resource.
func FuzzRenderTenant(f *testing.F) {
	f.Add("bob", "", "bob-user", "ServiceAccount", "edit", "", "", "", "", "")
	f.Add("vision", "vision", "carol@example.com", "User", "admin", "oidc:vision-readers", "Group", "view", "amd.com/gpu", "4")
	f.Add("a", "b", "system:serviceaccount:x:y", "User", "", "Ω", "Group", "", "nvidia.com/gpu", "0")
	f.Fuzz(func(t *testing.T, name, namespace, m1, kind1, role1, m2, kind2, role2, gpuResource, gpus string) {
		tn := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: namespace}}
		tn.APIVersion, tn.Kind, tn.Name = v1alpha1.SchemeGroupVersion.String(), v1alpha1.TenantKind, name
		for _, m := range [][3]string{{m1, kind1, role1}, {m2, kind2, role2}} {
			if m[0] != "" {
				tn.Spec.Members = append(tn.Spec.Members,
					v1alpha1.Member{Name: m[0], Kind: v1alpha1.MemberKind(m[1]), Role: v1alpha1.RoleName(m[2])})
			}
		}
		if gpuResource != "" || gpus != "" {
			tn.Spec.Quota = &v1alpha1.Quota{GPUResource: corev1.ResourceName(gpuResource)}
			if q, err := parseQuantity(gpus); err == nil {
				tn.Spec.Quota.GPUs = q
			}
		}
		if err := spec.Validate([]spec.Tenant{{Tenant: tn}}); err != nil {
			return
		}
		spec.Default(&tn)
		checkRender(t, []v1alpha1.Tenant{tn})
	})
}

// checkRender renders tenants twice, compares the bytes and validates
// every object.
func checkRender(t *testing.T, tenants []v1alpha1.Tenant) {
	t.Helper()
	copies := make([]v1alpha1.Tenant, len(tenants))
	for i := range tenants {
		tenants[i].DeepCopyInto(&copies[i])
	}
	objs := Tenants(tenants)
	first, err := YAML(objs)
	if err != nil {
		t.Fatalf("render to YAML: %v", err)
	}
	again, err := YAML(Tenants(copies))
	if err != nil {
		t.Fatalf("render a copy to YAML: %v", err)
	}
	if !bytes.Equal(first, again) {
		t.Fatalf("two renders of the same tenants differ:\n%s\n---- second ----\n%s", first, again)
	}
	seen := map[string]bool{}
	for _, o := range objs {
		id := fmt.Sprintf("%s %s/%s", *o.GetKind(), ptrString(o.GetNamespace()), *o.GetName())
		if seen[id] {
			t.Fatalf("%s is rendered twice: two writers of one object", id)
		}
		seen[id] = true
		if errs := validateObject(o); len(errs) > 0 {
			t.Fatalf("%s does not validate: %v", id, errs.ToAggregate())
		}
	}
}

// validateObject runs apimachinery's checks of metadata (name by the rule
// of its kind, namespace, labels, annotations) and of the names and
// selectors inside RoleBindings and NetworkPolicies.
func validateObject(o Object) field.ErrorList {
	data, err := json.Marshal(o)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	var meta struct {
		metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	nameRule := apivalidation.NameIsDNSSubdomain
	kind := *o.GetKind()
	switch kind {
	case "Namespace":
		nameRule = apivalidation.ValidateNamespaceName
	case "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
		nameRule = path.ValidatePathSegmentName
	}
	namespaced := meta.Namespace != ""
	errs := apivalidation.ValidateObjectMeta(&meta.ObjectMeta, namespaced, nameRule, field.NewPath("metadata"))
	switch kind {
	case "RoleBinding":
		var rb rbacv1.RoleBinding
		if err := json.Unmarshal(data, &rb); err != nil {
			return append(errs, field.InternalError(nil, err))
		}
		errs = append(errs, validateBinding(rb)...)
	case "NetworkPolicy":
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(data, &np); err != nil {
			return append(errs, field.InternalError(nil, err))
		}
		errs = append(errs, validateNetworkPolicy(np)...)
	case "ResourceQuota":
		var rq corev1.ResourceQuota
		if err := json.Unmarshal(data, &rq); err != nil {
			return append(errs, field.InternalError(nil, err))
		}
		errs = append(errs, validateResources(rq.Spec.Hard, field.NewPath("spec", "hard"))...)
	case "LimitRange":
		var lr corev1.LimitRange
		if err := json.Unmarshal(data, &lr); err != nil {
			return append(errs, field.InternalError(nil, err))
		}
		for i, l := range lr.Spec.Limits {
			p := field.NewPath("spec", "limits").Index(i)
			errs = append(errs, validateResources(l.Default, p.Child("default"))...)
			errs = append(errs, validateResources(l.DefaultRequest, p.Child("defaultRequest"))...)
			errs = append(errs, validateResources(l.Max, p.Child("max"))...)
		}
	}
	return errs
}

// validateBinding checks what the RBAC API validates in a RoleBinding:
// the role's name and each subject's name (and namespace for
// ServiceAccounts).
func validateBinding(rb rbacv1.RoleBinding) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range path.ValidatePathSegmentName(rb.RoleRef.Name, false) {
		errs = append(errs, field.Invalid(field.NewPath("roleRef", "name"), rb.RoleRef.Name, msg))
	}
	if len(rb.Subjects) == 0 {
		errs = append(errs, field.Required(field.NewPath("subjects"), "a binding with no subjects grants nothing"))
	}
	for i, s := range rb.Subjects {
		p := field.NewPath("subjects").Index(i)
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			for _, msg := range apivalidation.ValidateServiceAccountName(s.Name, false) {
				errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
			}
			for _, msg := range apivalidation.ValidateNamespaceName(s.Namespace, false) {
				errs = append(errs, field.Invalid(p.Child("namespace"), s.Namespace, msg))
			}
			if s.Namespace != rb.Namespace {
				errs = append(errs, field.Invalid(p.Child("namespace"), s.Namespace, "a member ServiceAccount must be the tenant's own"))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), ""))
			}
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, []string{"ServiceAccount", "User", "Group"}))
		}
	}
	return errs
}

// validateNetworkPolicy checks the selectors and CIDRs of every peer.
func validateNetworkPolicy(np networkingv1.NetworkPolicy) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{}
	p := field.NewPath("spec")
	errs := metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, p.Child("podSelector"))
	peer := func(x networkingv1.NetworkPolicyPeer, p *field.Path) {
		if x.PodSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(x.PodSelector, opts, p.Child("podSelector"))...)
		}
		if x.NamespaceSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(x.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
		}
		if b := x.IPBlock; b != nil {
			if _, err := netip.ParsePrefix(b.CIDR); err != nil {
				errs = append(errs, field.Invalid(p.Child("ipBlock", "cidr"), b.CIDR, err.Error()))
			}
			for j, e := range b.Except {
				if _, err := netip.ParsePrefix(e); err != nil {
					errs = append(errs, field.Invalid(p.Child("ipBlock", "except").Index(j), e, err.Error()))
				}
			}
		}
	}
	for i, r := range np.Spec.Ingress {
		for j, x := range r.From {
			peer(x, p.Child("ingress").Index(i).Child("from").Index(j))
		}
	}
	for i, r := range np.Spec.Egress {
		for j, x := range r.To {
			peer(x, p.Child("egress").Index(i).Child("to").Index(j))
		}
	}
	return errs
}

// validateResources checks resource names as qualified names and
// quantities as non-negative, as core validation does for quotas and
// limits.
func validateResources(list corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		for _, msg := range validation.IsQualifiedName(string(name)) {
			errs = append(errs, field.Invalid(p.Key(string(name)), name, msg))
		}
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseQuantity is resource.ParseQuantity returning a pointer; the fuzzer's
// strings are mostly not quantities, which leaves GPUs to the defaults.
func parseQuantity(s string) (*resource.Quantity, error) {
	q, err := resource.ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// TestValidateObjectRefuses keeps the fuzzers' oracle honest: it must
// refuse what the API server would.
func TestValidateObjectRefuses(t *testing.T) {
	bad := map[string]Object{
		"namespace name":  corev1ac.Namespace("Bad_Name"),
		"label value":     corev1ac.ServiceAccount("sa", "ns").WithLabels(map[string]string{"k": "a b"}),
		"role ref":        rbacv1ac.RoleBinding("rb", "ns").WithRoleRef(rbacv1ac.RoleRef().WithName("a/b")).WithSubjects(rbacv1ac.Subject().WithKind("User").WithName("u").WithAPIGroup(rbacv1.GroupName)),
		"subject sa name": rbacv1ac.RoleBinding("rb", "ns").WithRoleRef(rbacv1ac.RoleRef().WithName("r")).WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName("A:B").WithNamespace("ns")),
		"quota key":       corev1ac.ResourceQuota("q", "ns").WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{"requests.a b/c": resource.MustParse("1")})),
		"negative quota":  corev1ac.ResourceQuota("q", "ns").WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{"pods": resource.MustParse("-1")})),
		"namespace":       corev1ac.ServiceAccount("sa", "").WithLabels(map[string]string{"k": "v"}).WithNamespace("Not_A_Label"),
	}
	for name, o := range bad {
		if errs := validateObject(o); len(errs) == 0 {
			t.Errorf("%s: validateObject accepted it", name)
		}
	}
	for _, o := range Tenants([]v1alpha1.Tenant{tenant("bob")}) {
		if errs := validateObject(o); len(errs) > 0 {
			t.Errorf("%s %s: %v", *o.GetKind(), *o.GetName(), errs.ToAggregate())
		}
	}
}
