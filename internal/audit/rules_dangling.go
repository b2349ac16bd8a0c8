package audit

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/typo"
)

// definedNamespaces are the namespaces that exist, as far as the snapshot
// can tell. A cluster's Namespace objects are all of them (Complete);
// manifests may be partial, so there a namespace exists when anything in the
// input defines it or puts an object in it. The cluster's own namespaces
// always exist.
func (a *auditor) definedNamespaces() map[string]bool {
	known := map[string]bool{}
	for _, ns := range a.snap.Namespaces {
		known[ns.Name] = true
	}
	for _, t := range a.tenants {
		known[t.Namespace] = true
	}
	if !a.snap.Complete {
		for _, ns := range namespaceNames(a.snap) {
			known[ns] = true
		}
		for _, np := range a.snap.NetworkPolicies {
			known[np.Namespace] = true
		}
		for _, q := range a.snap.ResourceQuotas {
			known[q.Namespace] = true
		}
	}
	return known
}

// danglingSubjects are the ServiceAccount subjects whose namespace does
// not exist, with the bindings that name them.
type danglingSubjects map[access.Subject][]access.BindingRef

// danglingFindings reports each dangling subject once, with every binding
// that names it (one root cause: the namespace is missing or misspelt).
func (a *auditor) danglingFindings(dangling danglingSubjects, known map[string]bool) {
	guesses := map[string]string{} // a namespace's likely intended one, computed once
	for s, refs := range dangling {
		guess, ok := guesses[s.Namespace]
		if !ok {
			guess = closestNamespace(s.Namespace, known, a.tenantOf)
			guesses[s.Namespace] = guess
		}
		a.danglingSubject(s, refs, guess)
	}
}

// danglingSubject reports a ServiceAccount subject whose namespace does not
// exist: whoever creates that namespace and ServiceAccount later inherits
// the grants, and whoever the bindings were meant for does not get them.
func (a *auditor) danglingSubject(s access.Subject, refs []access.BindingRef, guess string) {
	sev, gives, worst := Severity(0), "", refs[0]
	objects := make([]string, 0, len(refs))
	spaces := map[string]bool{}
	for _, ref := range refs {
		rules, exists := a.eng.RoleRules(ref.RoleRef, ref.Namespace)
		if sv, g := grantWeight(rules, exists, ref.Kind == access.KindClusterRoleBinding); sv > sev {
			sev, gives, worst = sv, g, ref
		}
		objects = append(objects, objectKey(ref.Kind, ref.Namespace, ref.Name))
		spaces[ref.Namespace] = true
	}
	where := "namespace " + worst.Namespace
	if worst.Namespace == "" {
		where = "every namespace"
	}
	named := worst.String()
	if len(refs) > 1 {
		named = fmt.Sprintf("%d bindings (%s)", len(refs), Abbreviate(objects, 3))
	}
	msg := fmt.Sprintf("%s name %s, but namespace %s does not exist %s: whoever creates namespace %s and a ServiceAccount %s in it "+
		"later inherits %s in %s (%s), and whoever the binding was meant for does not get it.",
		named, s, s.Namespace, a.existsWhere(), s.Namespace, s.Name, worst.RoleRef.Kind+" "+worst.RoleRef.Name, where, gives)
	if len(refs) == 1 {
		msg = strings.Replace(msg, " name ", " names ", 1)
	}
	fix := fmt.Sprintf("Correct the subject's namespace in %s, or remove the subject.", Abbreviate(objects, 3))
	if guess != "" {
		msg += fmt.Sprintf(" It is most likely a typo for namespace %s.", guess)
		fix = fmt.Sprintf("Correct the subject's namespace in %s: %s, not %s (or remove the subject).", Abbreviate(objects, 3), guess, s.Namespace)
	} else if !a.snap.Complete && sev > Medium {
		// Manifests may leave out a namespace defined elsewhere: without a
		// likely typo, say so rather than raise a high alarm.
		sev = Medium
		msg += fmt.Sprintf(" If namespace %s is defined in manifests not read here, this is no finding.", s.Namespace)
	}
	ns := ""
	if len(spaces) == 1 {
		ns = worst.Namespace
	}
	a.add(Finding{
		Rule: "dangling-subject", Pattern: 20, Severity: sev, Tenant: a.tenantName(ns), Subject: s.String(),
		Namespace: ns, Objects: objects, Message: msg, Fix: fix,
	})
}

func (a *auditor) existsWhere() string {
	if a.snap.Complete {
		return "on the cluster"
	}
	return "anywhere in the manifests read"
}

// grantWeight is how severe a grant left for the taking is, by what it
// gives: escalation powers (High; Critical cluster-wide), writes (Medium),
// reads or nothing yet (Low).
func grantWeight(rules []rbacv1.PolicyRule, exists, cluster bool) (Severity, string) {
	if !exists || len(rules) == 0 {
		return Low, "nothing yet: the role does not exist"
	}
	var powers []string
	for _, p := range rolePowers {
		if slices.ContainsFunc(p.any, func(r access.Attributes) bool { return rulesAllow(rules, r) }) {
			powers = append(powers, p.name)
		}
	}
	if len(powers) > 0 {
		if cluster {
			return Critical, strings.Join(powers, ", ")
		}
		return High, strings.Join(powers, ", ")
	}
	for _, r := range rules {
		if slices.ContainsFunc(r.Verbs, func(v string) bool { return !slices.Contains([]string{"get", "list", "watch"}, v) }) {
			return Medium, "write access"
		}
	}
	return Low, "read access"
}

// closestNamespace is the existing namespace ns was most likely meant to
// be, tenants first: the nearest by edit distance, when near enough to be a
// typo; "" otherwise.
func closestNamespace(ns string, known map[string]bool, tenants map[string]int) string {
	best, bestD := "", 0
	limit := max(1, min(3, len(ns)/3))
	for cand := range known {
		if diff := len(cand) - len(ns); diff > limit || -diff > limit {
			continue // the distance is at least the difference in length
		}
		d := typo.Distance(ns, cand)
		if d == 0 || d > limit {
			continue
		}
		_, isTenant := tenants[cand]
		_, bestTenant := tenants[best]
		if best == "" || d < bestD || d == bestD && (isTenant && !bestTenant || isTenant == bestTenant && cand < best) {
			best, bestD = cand, d
		}
	}
	return best
}
