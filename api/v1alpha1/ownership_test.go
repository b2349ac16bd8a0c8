package v1alpha1

import (
	"strings"
	"testing"
)

func mem(kind MemberKind, name string, role RoleName) Member {
	return Member{Kind: kind, Name: name, Role: role}
}

func TestBindingName(t *testing.T) {
	cases := []struct {
		m    Member
		want string
	}{
		{mem(ServiceAccountMember, "bob-user", EditRole), "bulkhead-edit-sa-bob-user"},
		{mem(UserMember, "carol", ViewRole), "bulkhead-view-user-carol"},
		{mem(UserMember, "carol@example.com", EditRole), "bulkhead-edit-user-carol-example.com-"},
		{mem(GroupMember, "oidc:Readers", ViewRole), "bulkhead-view-group-oidc-readers-"},
	}
	for _, c := range cases {
		got := BindingName(c.m)
		if !strings.HasPrefix(got, c.want) || (strings.HasSuffix(c.want, "-") && len(got) != len(c.want)+8) {
			t.Errorf("BindingName(%s %q) = %q, want %q (plus an 8-character hash when the name was changed)", c.m.Kind, c.m.Name, got, c.want)
		}
	}
	// Two names that sanitize alike must still get different bindings.
	a := BindingName(mem(UserMember, "a@b", EditRole))
	b := BindingName(mem(UserMember, "a:b", EditRole))
	if a == b {
		t.Errorf("a@b and a:b share the binding name %q", a)
	}
	long := BindingName(mem(UserMember, strings.Repeat("x", 300)+"@", EditRole))
	if len(long) > 253 {
		t.Errorf("binding name of a long user is %d characters", len(long))
	}
}
