package access

import (
	"reflect"
	"testing"
)

func TestIdentityHelpers(t *testing.T) {
	tests := []struct {
		name string
		got  UserInfo
		want UserInfo
	}{
		{"User adds system:authenticated", User("alice", "team"), UserInfo{Name: "alice", Groups: []string{"team", "system:authenticated"}}},
		{"User does not add it twice", User("alice", "system:authenticated"), UserInfo{Name: "alice", Groups: []string{"system:authenticated"}}},
		{"ServiceAccountUser carries the token's groups", ServiceAccountUser("ns", "sa"), UserInfo{
			Name:   "system:serviceaccount:ns:sa",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
		}},
		{"Anonymous", Anonymous(), UserInfo{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}},
		{"a Group subject alone", Subject{Kind: "Group", Name: "g"}.Identity(), UserInfo{Groups: []string{"g"}}},
		{"a ServiceAccount subject alone", Subject{Kind: "ServiceAccount", Namespace: "ns", Name: "sa"}.Identity(), UserInfo{Name: "system:serviceaccount:ns:sa"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	if s := ask("get", "apps", "deployments/scale", "web", "ns").String(); s != "get deployments.apps/scale named web in ns" {
		t.Errorf("Attributes.String() = %q", s)
	}
}
