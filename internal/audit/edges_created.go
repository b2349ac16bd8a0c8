package audit

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// createdIdentityEdges are the identities a subject reaches by creating an
// object in ns: a token Secret for any ServiceAccount there (create
// secrets, and a read of what it created), or a ServiceAccount a binding
// already names but that does not exist yet (create serviceaccounts, and
// a way to run as it: pods, tokens or a token Secret).
func (a *auditor) createdIdentityEdges(grants []access.Grant, ns string) []edge {
	create := secretCreate
	create.Namespace = ns
	var secretVia []access.BindingRef
	if created := a.allows(grants, noMemo, create); len(created) > 0 && a.mayAllowAny(grants, checkMayReadSecrets, secretReads, ns) {
		secretVia = created
		for _, r := range secretReads {
			r.Namespace = ns
			for _, g := range grants {
				if (g.Namespace == "" || g.Namespace == ns) && a.eng.RuleSetMayAllow(g.RuleSet, r) {
					secretVia = appendUnique(secretVia, g.Binding)
				}
			}
		}
	}
	var out []edge
	if len(secretVia) > 0 {
		for _, sa := range a.saNames[ns] {
			out = append(out, edge{to: saSubject(ns, sa), pattern: 6, via: secretVia})
		}
	}
	missing := a.missingSAs[ns]
	if len(missing) == 0 {
		return out
	}
	sa := saCreate
	sa.Namespace = ns
	made := a.allows(grants, noMemo, sa)
	if len(made) == 0 {
		return out
	}
	run := secretVia
	if len(run) == 0 {
		run = a.anyOf(grants, checkPodCreate, podCreators, ns)
	}
	for _, name := range missing {
		use := run
		if len(use) == 0 { // a TokenRequest names its ServiceAccount
			mint := access.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: name, Namespace: ns}
			use = a.allows(grants, noMemo, mint)
		}
		if len(use) > 0 {
			out = append(out, edge{to: saSubject(ns, name), pattern: 20, via: appendUnique(append([]access.BindingRef(nil), made...), use...)})
		}
	}
	return out
}

// missingServiceAccounts indexes, by namespace, the ServiceAccounts that
// bindings name but the snapshot does not hold. Manifests may be partial:
// only a namespace whose Namespace object or ServiceAccounts were seen (or
// a whole cluster) counts.
func missingServiceAccounts(snap *Snapshot, eng *access.Engine, known map[access.Subject]bool) map[string][]string {
	seen := map[string]bool{}
	for s := range known {
		seen[s.Namespace] = true
	}
	for _, ns := range snap.Namespaces {
		seen[ns.Name] = true
	}
	out := map[string][]string{}
	for _, s := range eng.Subjects() {
		if s.Kind == rbacv1.ServiceAccountKind && !known[s] && (snap.Complete || seen[s.Namespace]) {
			out[s.Namespace] = appendUnique(out[s.Namespace], s.Name)
		}
	}
	return out
}

// impersonatesSomeone reports whether s may impersonate some user or some
// ServiceAccount: the API server refuses group impersonation without one
// ("without impersonating a user").
func (a *auditor) impersonatesSomeone(s access.Subject) bool {
	for _, g := range a.subjectGrants(s) {
		users := access.Attributes{Verb: "impersonate", Resource: "users"}
		sas := access.Attributes{Verb: "impersonate", Resource: "serviceaccounts", Namespace: g.Namespace}
		if (g.Namespace == "" && a.eng.RuleSetMayAllow(g.RuleSet, users)) || a.eng.RuleSetMayAllow(g.RuleSet, sas) {
			return true
		}
	}
	return false
}
