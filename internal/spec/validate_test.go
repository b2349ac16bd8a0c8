package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

func tenant(name string, spec v1alpha1.TenantSpec, src Source) Tenant {
	return Tenant{
		Tenant: v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec},
		Source: src,
	}
}

func TestValidateAcceptsUndefaultedTenants(t *testing.T) {
	tenants := []Tenant{
		tenant("bob", v1alpha1.TenantSpec{}, Source{}),
		tenant("alice", v1alpha1.TenantSpec{Namespace: "alice-prod", Members: []v1alpha1.Member{
			{Name: "alice@example.com", Kind: v1alpha1.UserMember},
			{Name: "ci"},
		}}, Source{}),
	}
	before := tenants[1].Spec.Members[1]
	if err := Validate(tenants); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if tenants[1].Spec.Members[1] != before || tenants[0].Spec.Namespace != "" {
		t.Error("Validate changed its input")
	}
}

func TestValidateReportsEveryProblemWithSource(t *testing.T) {
	a := Source{File: "cluster", Line: 0}
	tenants := []Tenant{
		tenant("Bob", v1alpha1.TenantSpec{Members: []v1alpha1.Member{
			{Name: "x", Kind: "Robot", Role: "root"},
			{Name: ""},
		}}, a),
		tenant("alice", v1alpha1.TenantSpec{Namespace: "kube-public"}, Source{File: "a.yaml", Line: 3}),
		tenant("carol", v1alpha1.TenantSpec{Namespace: "kube-public"}, Source{File: "c.yaml", Line: 9}),
		tenant("", v1alpha1.TenantSpec{}, Source{}),
	}
	err := Validate(tenants)
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Validate = %v (%T), want *Errors", err, err)
	}
	want := []string{
		`cluster: metadata.name: Invalid value: "Bob"`,
		`cluster: spec.members[0].kind: Unsupported value: "Robot"`,
		`cluster: spec.members[0].role: Unsupported value: "root"`,
		"cluster: spec.members[1].name: Required value",
		`a.yaml:3: spec.namespace: Forbidden: namespace "kube-public" is reserved`,
		`c.yaml:9: spec.namespace: Forbidden: namespace "kube-public" is reserved`,
		`c.yaml:9: spec.namespace: Duplicate value: "kube-public"; tenants "alice" (a.yaml:3) and "carol" both claim`,
		"metadata.name: Required value",
	}
	if len(*errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(*errs), len(want), err)
	}
	for i, w := range want {
		if got := (*errs)[i].Error(); !strings.HasPrefix(got, w) {
			t.Errorf("problem %d = %q\nwant prefix %q", i, got, w)
		}
	}
}

func TestValidateNamespaceClashWithDefaultedNamespace(t *testing.T) {
	err := Validate([]Tenant{
		tenant("shop", v1alpha1.TenantSpec{}, Source{File: "a.yaml", Line: 1}),
		tenant("shop-v2", v1alpha1.TenantSpec{Namespace: "shop"}, Source{File: "b.yaml", Line: 1}),
	})
	if err == nil || !strings.Contains(err.Error(), `tenants "shop" (a.yaml:1) and "shop-v2" both claim namespace "shop"`) {
		t.Errorf("got %v", err)
	}
}

func TestValidateSubjectNames(t *testing.T) {
	cases := []struct {
		member v1alpha1.Member
		want   string // "" for valid
	}{
		{v1alpha1.Member{Name: "alice@example.com", Kind: v1alpha1.UserMember}, ""},
		{v1alpha1.Member{Name: "system:serviceaccounts:ci", Kind: v1alpha1.GroupMember}, "shares between tenants"},
		{v1alpha1.Member{Name: "system:authenticated", Kind: v1alpha1.GroupMember}, "shares between tenants"},
		{v1alpha1.Member{Name: "system:anonymous", Kind: v1alpha1.UserMember}, "shares between tenants"},
		{v1alpha1.Member{Name: "Ünïcode Team", Kind: v1alpha1.GroupMember}, ""},
		{v1alpha1.Member{Name: strings.Repeat("u", 300), Kind: v1alpha1.UserMember}, ""},
		{v1alpha1.Member{Name: " alice", Kind: v1alpha1.UserMember}, "must not start or end with blanks"},
		{v1alpha1.Member{Name: "al\x00ice", Kind: v1alpha1.UserMember}, "control characters"},
		{v1alpha1.Member{Name: "bad\xffutf8", Kind: v1alpha1.GroupMember}, "valid UTF-8"},
		{v1alpha1.Member{Name: "ci.bot", Kind: v1alpha1.ServiceAccountMember}, ""},
		{v1alpha1.Member{Name: strings.Repeat("s", 236)}, ""},
		{v1alpha1.Member{Name: strings.Repeat("s", 237)}, "236 characters or less"},
		{v1alpha1.Member{Name: strings.Repeat("s", 254)}, "must be no more than 253 characters"},
	}
	for _, tc := range cases {
		err := Validate([]Tenant{tenant("t", v1alpha1.TenantSpec{Members: []v1alpha1.Member{tc.member}}, Source{})})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected %v", tc.member, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want %q", tc.member, err, tc.want)
		}
	}
}

func TestDefault(t *testing.T) {
	members := []v1alpha1.Member{{Name: "a"}, {Name: "b", Kind: v1alpha1.GroupMember, Role: v1alpha1.ViewRole}}
	tn := v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "bob"}, Spec: v1alpha1.TenantSpec{Members: members}}
	Default(&tn)
	want := []v1alpha1.Member{sa("a", v1alpha1.EditRole), {Name: "b", Kind: v1alpha1.GroupMember, Role: v1alpha1.ViewRole}}
	if tn.Spec.Namespace != "bob" || !reflect.DeepEqual(tn.Spec.Members, want) {
		t.Errorf("defaulted to %+v", tn.Spec)
	}
	if members[0].Kind != "" {
		t.Error("Default changed the caller's member slice")
	}

	empty := v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: v1alpha1.TenantSpec{Namespace: "y", Members: []v1alpha1.Member{}}}
	Default(&empty)
	if empty.Spec.Namespace != "y" || !reflect.DeepEqual(empty.Spec.Members, []v1alpha1.Member{sa(v1alpha1.DefaultMemberName("x"), v1alpha1.EditRole)}) {
		t.Errorf("defaulted to %+v", empty.Spec)
	}
}

func TestErrorFormatting(t *testing.T) {
	cases := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Field: "spec", Detail: "bad"}, "a.yaml:3: spec: bad"},
		{Error{File: "a.yaml", Detail: "bad"}, "a.yaml: bad"},
		{Error{Line: 3, Field: "spec", Detail: "bad"}, "line 3: spec: bad"},
		{Error{Field: "spec", Detail: "bad"}, "spec: bad"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
	one := Errors{{File: "a", Line: 1, Detail: "x"}}
	if got := one.Error(); got != "1 problem in the tenant spec:\n  a:1: x" {
		t.Errorf("got %q", got)
	}
	two := Errors{{File: "a", Line: 1, Detail: "x"}, {File: "b", Detail: "y"}}
	if got := two.Error(); got != "2 problems in the tenant spec:\n  a:1: x\n  b: y" {
		t.Errorf("got %q", got)
	}
	var target Error
	if !errors.As(error(&two), &target) || target.File != "a" {
		t.Errorf("errors.As did not find the first problem: %+v", target)
	}
	if got := (Source{File: "<stdin>", Line: 2}).String(); got != "<stdin>:2" {
		t.Errorf("Source.String() = %q", got)
	}
}
