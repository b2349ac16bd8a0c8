package v1alpha1

import (
	"slices"
	"testing"
)

func TestIsSharedIdentity(t *testing.T) {
	for name, want := range map[string]bool{
		"system:authenticated":          true,
		"system:unauthenticated":        true,
		"system:anonymous":              true,
		"system:serviceaccounts":        true,
		"system:masters":                true,
		"system:serviceaccounts:lab":    true, // every ServiceAccount of a namespace
		"system:serviceaccount:lab:ana": true, // a ServiceAccount named as a user
		"system:serviceaccountsx":       false,
		"alice":                         false,
		"carl@example.com":              false,
		"oidc:system:authenticated":     false,
		"":                              false,
		"System:Authenticated":          false, // names are case-sensitive
	} {
		if got := IsSharedIdentity(name); got != want {
			t.Errorf("IsSharedIdentity(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseMembersReadsMemberLinesBack(t *testing.T) {
	members := []Member{
		mem(ServiceAccountMember, "ana", EditRole),
		mem(UserMember, "carl@example.com", ViewRole),
		mem(GroupMember, "oidc:team/a/b", AdminRole), // the name may hold slashes
	}
	lines := ""
	for i, m := range members {
		if i > 0 {
			lines += "\n"
		}
		lines += MemberLine(m)
	}
	if got := ParseMembers(lines); !slices.Equal(got, members) {
		t.Errorf("ParseMembers(%q) = %v, want %v", lines, got, members)
	}
	// Lines that do not parse are skipped.
	got := ParseMembers("\ngarbage\nUser/edit\nUser/edit/\nUser/view/dora\n")
	if want := []Member{mem(UserMember, "dora", ViewRole)}; !slices.Equal(got, want) {
		t.Errorf("ParseMembers with bad lines = %v, want %v", got, want)
	}
	if got := ParseMembers(""); got != nil {
		t.Errorf("ParseMembers(\"\") = %v, want nil", got)
	}
}
