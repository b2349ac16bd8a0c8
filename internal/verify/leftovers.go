package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// leftover is a subject of one of bulkhead's own RoleBindings in a tenant's
// namespace that the namespace's members annotation does not give that
// access: a removed member, or a member's role from before it changed (a
// new role is a new binding, and apply used to leave the old one).
type leftover struct {
	binding string // the RoleBinding's name
	subject access.Subject
	granted v1alpha1.RoleName // the bulkhead Role it binds; "" for any other roleRef
	roleRef rbacv1.RoleRef
	role    v1alpha1.RoleName // the subject's role as a member; "" when it is none
}

// readNamespace reads the tenant's namespace ns; nil when it does not exist
// (a spec not applied yet).
func readNamespace(ctx context.Context, c corev1client.NamespacesGetter, ns string) (*corev1.Namespace, error) {
	namespace, err := c.Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	return namespace, nil
}

// leftoversIn reads bulkhead's RoleBindings in namespace ns (nil: it does
// not exist, and has none) and returns their leftovers.
func leftoversIn(ctx context.Context, c rbacv1client.RoleBindingsGetter, ns *corev1.Namespace) ([]leftover, error) {
	if ns == nil {
		return nil, nil
	}
	if _, ok := ns.Annotations[v1alpha1.MembersAnnotation]; !ok {
		return nil, nil // applied by a bulkhead that did not record its members
	}
	rbs, err := c.RoleBindings(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector})
	if err != nil {
		return nil, fmt.Errorf("list bulkhead rolebindings in %s: %w", ns.Name, err)
	}
	return findLeftovers(ns, rbs.Items), nil
}

// findLeftovers compares bulkhead's RoleBindings in namespace ns with the
// members ns's annotation lists. Without the annotation (an older
// bulkhead applied it) nothing says who the members are, and nothing is
// a leftover.
func findLeftovers(ns *corev1.Namespace, bindings []rbacv1.RoleBinding) []leftover {
	lines, ok := ns.Annotations[v1alpha1.MembersAnnotation]
	if !ok {
		return nil
	}
	declared := map[access.Subject]v1alpha1.RoleName{}
	for _, m := range v1alpha1.ParseMembers(lines) {
		declared[memberSubject(m, ns.Name)] = m.Role
	}
	var out []leftover
	for _, b := range bindings {
		if b.Namespace != ns.Name || b.Labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue {
			continue
		}
		granted := v1alpha1.RoleName("")
		if b.RoleRef.Kind == "Role" {
			granted = v1alpha1.RoleOfObject(b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			subject := access.Subject{Kind: s.Kind, Name: s.Name}
			if s.Kind == rbacv1.ServiceAccountKind {
				subject.Namespace = cmp.Or(s.Namespace, b.Namespace)
			}
			role, member := declared[subject]
			if member && granted != "" && role == granted {
				continue
			}
			out = append(out, leftover{binding: b.Name, subject: subject, granted: granted, roleRef: b.RoleRef, role: role})
		}
	}
	return out
}

// memberSubject is the subject a member's RoleBinding in namespace ns names.
func memberSubject(m v1alpha1.Member, ns string) access.Subject {
	if m.Kind == v1alpha1.ServiceAccountMember {
		return access.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: m.Name}
	}
	return access.Subject{Kind: string(m.Kind), Name: m.Name}
}

// isLeftover reports whether member m of a tenant in namespace ns is only
// what a leftover binding gives: a tenant read back from the cluster takes
// its members from bulkhead's bindings, leftovers included, and such a
// member is checked as a leftover, not as a member.
func isLeftover(m v1alpha1.Member, ns string, ls []leftover) bool {
	s := memberSubject(m, ns)
	return slices.ContainsFunc(ls, func(l leftover) bool { return l.subject == s && l.granted == m.Role })
}

// member names the subject the way checks name members: "Kind/name", with
// the namespace of a ServiceAccount from another namespace.
func (l leftover) member(ns string) string {
	if l.subject.Kind == rbacv1.ServiceAccountKind && l.subject.Namespace != ns {
		return l.subject.Kind + "/" + l.subject.Namespace + "/" + l.subject.Name
	}
	return l.subject.Kind + "/" + l.subject.Name
}

// reason says why the subject should not hold what the binding gives.
func (l leftover) reason(ns string) string {
	gives := string(l.granted)
	if l.granted == "" {
		gives = l.roleRef.Kind + " " + l.roleRef.Name
	}
	is := "it is no member of the tenant"
	if l.role != "" {
		is = "its role as a member is " + string(l.role)
	}
	return fmt.Sprintf("RoleBinding %s/%s, labelled as bulkhead's, gives it %s, but %s (namespace annotation %s)",
		ns, l.binding, gives, is, v1alpha1.MembersAnnotation)
}

// roleProbes are requests that tell bulkhead's access levels apart; each
// level's list holds the lower levels'.
var roleProbes = map[v1alpha1.RoleName][]probe{
	v1alpha1.ViewRole:  {listPods},
	v1alpha1.EditRole:  {listPods, createPod, getSecret},
	v1alpha1.AdminRole: {listPods, createPod, getSecret, createRoleBinding},
}

// excess lists the requests granted allows that role does not; a roleRef
// other than bulkhead's Roles may allow anything, so it gets admin's.
func excess(granted, role v1alpha1.RoleName) []probe {
	ps, ok := roleProbes[granted]
	if !ok {
		ps = roleProbes[v1alpha1.AdminRole]
	}
	var out []probe
	for _, p := range ps {
		if !slices.ContainsFunc(roleProbes[role], func(h probe) bool { return h.action == p.action }) {
			out = append(out, p)
		}
	}
	return out
}

// planLeftover lists what isolation requires of a leftover in the tenant's
// namespace ns: none of what its binding gives beyond its member role.
func planLeftover(l leftover, ns string, add adder) {
	add(Own, ns, Forbidden, excess(l.granted, l.role)...)
}
