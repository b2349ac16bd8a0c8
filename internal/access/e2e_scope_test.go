package access

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// scopeWorld are the questions about cluster-scoped resources asked in a
// namespace: the API server's bind and escalate checks ask "bind
// clusterroles NAME" in the namespace of the RoleBinding being written, and
// a RoleBinding there can grant it. Added to the random world before its
// snapshot is read.
func scopeWorld(namespaces []string) ([]rbacv1.ClusterRole, []rbacv1.RoleBinding, []rbacv1.ClusterRoleBinding) {
	const rbac = rbacv1.GroupName
	a, b := namespaces[0], namespaces[1]
	crs := []rbacv1.ClusterRole{
		clusterRole("scope-bind-admin", res("bind", rbac, "clusterroles", "admin")),
		clusterRole("scope-bind-any", res("bind", rbac, "clusterroles")),
		clusterRole("scope-escalate", res("escalate", rbac, "roles,clusterroles")),
		clusterRole("scope-bind-core-group", res("bind", "", "clusterroles", "admin")), // near miss: wrong group
		clusterRole("scope-rbac-star-view", res("*", rbac, "*", "view")),
		clusterRole("scope-nodes", res("get", "", "nodes")),
	}
	rbs := []rbacv1.RoleBinding{
		roleBinding(a, "scope-bind-admin", "ClusterRole", "scope-bind-admin", saSubject(a, "scope-binder")),
		roleBinding(a, "scope-escalate", "ClusterRole", "scope-escalate", userSubject("scope-esc")),
		roleBinding(a, "scope-core", "ClusterRole", "scope-bind-core-group", userSubject("scope-core")),
		roleBinding(b, "scope-bind-any", "ClusterRole", "scope-bind-any", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "scope-group"}),
		roleBinding(b, "scope-star-view", "ClusterRole", "scope-rbac-star-view", saSubject(b, "scope-viewer")),
		roleBinding(b, "scope-nodes", "ClusterRole", "scope-nodes", userSubject("scope-nodes")),
	}
	crbs := []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("scope-bind-admin", "scope-bind-admin", userSubject("scope-crb")),
	}
	return crs, rbs, crbs
}

func createScopeWorld(ctx context.Context, t *testing.T, cs kubernetes.Interface, namespaces []string) {
	t.Helper()
	crs, rbs, crbs := scopeWorld(namespaces)
	for i := range crs {
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &crs[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("create clusterrole %s: %v", crs[i].Name, err)
		}
	}
	for i := range rbs {
		if _, err := cs.RbacV1().RoleBindings(rbs[i].Namespace).Create(ctx, &rbs[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("create rolebinding %s/%s: %v", rbs[i].Namespace, rbs[i].Name, err)
		}
	}
	for i := range crbs {
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &crbs[i], metav1.CreateOptions{}); err != nil {
			t.Fatalf("create clusterrolebinding %s: %v", crbs[i].Name, err)
		}
	}
}

// scopeQuestions are cluster-scoped resources (and near misses: another
// name, group or verb) to ask in every namespace and at the cluster scope.
func scopeQuestions() []Attributes {
	const rbac = rbacv1.GroupName
	return []Attributes{
		ask("bind", rbac, "clusterroles", "admin", ""),
		ask("bind", rbac, "clusterroles", "edit", ""),
		ask("bind", rbac, "clusterroles", "view", ""),
		ask("bind", "", "clusterroles", "admin", ""),
		ask("escalate", rbac, "clusterroles", "admin", ""),
		ask("escalate", rbac, "roles", "r", ""),
		ask("update", rbac, "clusterroles", "view", ""),
		ask("get", "", "nodes", "n1", ""),
	}
}

// checkScope compares WhoCan (in every namespace with RoleBindings, one
// without, and at the cluster scope) and WhoCanAnyNamespace with a
// SubjectAccessReview per subject on the scope questions.
func checkScope(ctx context.Context, t *testing.T, sar sarClient, e *Engine, snap *Snapshot) {
	var subjects []Subject
	for _, s := range e.Subjects() {
		if active(s) {
			subjects = append(subjects, s)
		}
	}
	scopes := append(e.BindingNamespaces(), "scope-nobody", "")
	base := scopeQuestions()
	var questions []Attributes // base question i in scope k is questions[k*len(base)+i]
	for _, ns := range scopes {
		for _, a := range base {
			a.Namespace = ns
			questions = append(questions, a)
		}
	}
	var checks []check
	for _, a := range questions {
		for _, s := range subjects {
			checks = append(checks, check{user: s.Identity(), a: a, kind: "scope"})
		}
	}
	answers := runChecks(ctx, t, sar, checks)
	server := func(q, s int) bool { return answers[q*len(subjects)+s] }
	disagreements, holders, namespacedHolders := 0, 0, 0
	for q, a := range questions {
		found := map[Subject]bool{}
		for _, h := range e.WhoCan(a) {
			found[h.Subject] = true
			for _, v := range h.Via {
				if v.Kind == KindRoleBinding {
					namespacedHolders++
				}
			}
		}
		holders += len(found)
		for j, s := range subjects {
			if server(q, j) != found[s] {
				disagreements++
				t.Errorf("WhoCan(%s): %s listed=%v, API server says %v\n%s", a, SubjectArg(s), found[s], server(q, j), explain(snap, s.Identity(), a))
			}
		}
	}
	// In any namespace: listed exactly when the server allows it in some
	// namespace with RoleBindings or at the cluster scope (a namespace
	// without RoleBindings adds nothing).
	anyChecks := 0
	for i, a := range base {
		found := map[Subject]bool{}
		for _, h := range e.WhoCanAnyNamespace(a) {
			found[h.Subject] = true
		}
		for j, s := range subjects {
			want := false
			for k := range scopes {
				want = want || server(k*len(base)+i, j)
			}
			anyChecks++
			if want != found[s] {
				disagreements++
				t.Errorf("WhoCanAnyNamespace(%s): %s listed=%v, API server allows it in some scope: %v", a, SubjectArg(s), found[s], want)
			}
		}
	}
	if namespacedHolders == 0 {
		t.Errorf("no RoleBinding granted a scope question: the check probes nothing")
	}
	t.Logf("scope: %d questions in %d scopes × %d subjects (%d reviews), %d any-namespace comparisons: %d holders (%d via RoleBindings), %d disagreements",
		len(base), len(scopes), len(subjects), len(checks), anyChecks, holders, namespacedHolders, disagreements)
}
