package access

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Test builders: lists are comma-separated strings, "" being the one empty
// string (the core group) and "-" no list at all.

func list(s string) []string {
	if s == "-" {
		return nil
	}
	return strings.Split(s, ",")
}

// res is a resource rule: res("get,list", ",apps", "pods,pods/exec", "a,b").
func res(verbs, groups, resources string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: list(verbs), APIGroups: list(groups), Resources: list(resources), ResourceNames: names}
}

// url is a non-resource rule: url("get", "/healthz,/healthz/*").
func url(verbs, urls string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: list(verbs), NonResourceURLs: list(urls)}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func labelled(cr rbacv1.ClusterRole, kv ...string) rbacv1.ClusterRole {
	cr.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		cr.Labels[kv[i]] = kv[i+1]
	}
	return cr
}

// aggregating gives cr one selector per matchLabels pair.
func aggregating(cr rbacv1.ClusterRole, kv ...string) rbacv1.ClusterRole {
	cr.AggregationRule = &rbacv1.AggregationRule{}
	for i := 0; i+1 < len(kv); i += 2 {
		cr.AggregationRule.ClusterRoleSelectors = append(cr.AggregationRule.ClusterRoleSelectors,
			metav1.LabelSelector{MatchLabels: map[string]string{kv[i]: kv[i+1]}})
	}
	return cr
}

func roleBinding(ns, name, kind, roleName string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: roleName},
		Subjects:   subjects,
	}
}

func clusterRoleBinding(name, roleName string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   subjects,
	}
}

func saSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

// ask builds resource attributes; resource may be "pods/exec".
func ask(verb, group, resource, name, ns string) Attributes {
	r, sub, _ := strings.Cut(resource, "/")
	return Attributes{Verb: verb, Group: group, Resource: r, Subresource: sub, Name: name, Namespace: ns}
}

func askURL(verb, path string) Attributes {
	return Attributes{Verb: verb, NonResourceURL: path}
}
