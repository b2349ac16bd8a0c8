package access

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// WhoCanAnyNamespace answers WhoCan for the request in every namespace at
// once: a subject is listed when some namespace with RoleBindings, or the
// cluster scope, grants it (attrs.Namespace is ignored). It is
// `kubectl who-can -A`: "in any namespace", not "at the cluster scope" —
// a RoleBinding's holder can in its namespace only; ask WhoCan with an
// empty Namespace for the cluster scope.
func (e *Engine) WhoCanAnyNamespace(attrs Attributes) []Holder {
	at := map[Subject]int{}
	var out []Holder
	merge := func(hs []Holder) {
		for _, h := range hs {
			i, ok := at[h.Subject]
			if !ok {
				i = len(out)
				at[h.Subject] = i
				out = append(out, Holder{Subject: h.Subject})
			}
			for _, v := range h.Via {
				if !slices.Contains(out[i].Via, v) {
					out[i].Via = append(out[i].Via, v)
				}
			}
		}
	}
	attrs.Namespace = ""
	merge(e.WhoCan(attrs))
	if !attrs.IsResourceRequest() {
		return out // non-resource requests carry no namespace
	}
	for _, ns := range e.BindingNamespaces() {
		attrs.Namespace = ns
		merge(e.WhoCan(attrs))
	}
	slices.SortFunc(out, func(x, y Holder) int {
		switch {
		case subjectLess(x.Subject, y.Subject):
			return -1
		case subjectLess(y.Subject, x.Subject):
			return 1
		}
		return 0
	})
	return out
}

// SubjectArg writes s the way ParseSubject reads it, so that a subject one
// command prints can be pasted into another: system:serviceaccount:NS:NAME
// (also what kubectl --as takes), user:NAME or group:NAME. Kinds RBAC does
// not know are written as Kind:Name, which ParseSubject refuses.
func SubjectArg(s Subject) string {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return ServiceAccountUserName(s.Namespace, s.Name)
	case rbacv1.UserKind:
		return "user:" + s.Name
	case rbacv1.GroupKind:
		return "group:" + s.Name
	}
	return s.Kind + ":" + s.Name
}
