package access

import (
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// MatrixVerbs are the standard verbs of an API resource, the first columns
// of a Matrix, as rakkess and kubectl auth can-i --list show them.
func MatrixVerbs() []string {
	return []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
}

// nonResourceVerbs are the verbs a non-resource request can carry: the
// lowercased HTTP method.
func nonResourceVerbs() []string {
	return []string{"get", "head", "post", "put", "patch", "delete", "options"}
}

// Matrix is what one identity may do in one namespace.
type Matrix struct {
	Namespace string
	// Rows are the resources with at least one allowed verb. Resources
	// known to be cluster-scoped appear only for the checks that carry a
	// namespace for them (bind and escalate on clusterroles, from a
	// RoleBinding's namespace).
	Rows []MatrixRow
	// NonResource are the non-resource URLs named in the snapshot's rules
	// (namespace plays no part in them), with at least one allowed verb.
	NonResource []NonResourceRow
}

// MatrixRow is one resource: every verb asked, and whether it is allowed.
type MatrixRow struct {
	Resource APIResource
	// FromRules marks a resource the resource list does not have (a custom
	// resource without its definition in the input): rules name it, and it
	// is assumed namespaced.
	FromRules bool
	// Self marks the row of the Namespace object itself, whose requests
	// carry its own name as namespace.
	Self    bool
	Allowed map[string]bool
	// Named are the verbs allowed only on some objects, by resourceNames:
	// verb -> the names (bind limited to the ClusterRole admin is as
	// strong as admin itself).
	Named map[string][]string
}

// Other lists the allowed verbs beyond MatrixVerbs, sorted.
func (r MatrixRow) Other() []string {
	std := MatrixVerbs()
	var out []string
	for v, ok := range r.Allowed {
		if ok && !slices.Contains(std, v) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// NonResourceRow is one non-resource URL (or URL pattern, "/healthz/*") and
// the verbs allowed on it.
type NonResourceRow struct {
	URL     string
	Allowed []string
}

// Matrix asks, for user in namespace ns, every verb of every resource the
// engine knows or the snapshot's rules name: the standard verbs the
// resource has, the authorization-only ones (bind, escalate, impersonate,
// approve, sign) where it has them, and custom verbs wherever a rule names
// them for the resource. Cluster-wide grants are included, as they apply in
// every namespace.
func (e *Engine) Matrix(user UserInfo, ns string) Matrix {
	m := Matrix{Namespace: ns}
	rules := e.Rules(user, ns) // what can name a verb, resource or URL the lists lack
	custom := e.customVerbs(rules)
	var names []string // every resourceName the rules give: asked one by one
	for _, r := range rules {
		for _, n := range r.ResourceNames {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	ask := func(r APIResource, fromRules bool) {
		row := MatrixRow{Resource: r, FromRules: fromRules, Allowed: map[string]bool{}}
		verbs := slices.Clone(r.Verbs)
		for _, cv := range custom {
			if !slices.Contains(verbs, cv.verb) && cv.rule.matchesResource(r.Name(), r.Subresource) &&
				(cv.rule.allGroups || contains(cv.rule.groups, r.Group)) {
				verbs = append(verbs, cv.verb)
			}
		}
		any := false
		for _, v := range verbs {
			if !r.Namespaced && v != "bind" && v != "escalate" {
				continue
			}
			a := Attributes{Verb: v, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource, Namespace: ns}
			ok := e.Allowed(user, a)
			row.Allowed[v] = ok
			any = any || ok
			if ok {
				continue
			}
			for _, name := range names {
				if a.Name = name; e.Allowed(user, a) {
					if row.Named == nil {
						row.Named = map[string][]string{}
					}
					if !slices.Contains(row.Named[v], name) {
						row.Named[v] = append(row.Named[v], name)
					}
					any = true
				}
			}
		}
		if any {
			m.Rows = append(m.Rows, row)
		}
	}
	for _, r := range e.resources {
		if !r.Virtual {
			ask(r, false)
		}
	}
	for _, r := range e.ruleOnlyResources(rules) {
		ask(r, true)
	}
	// The Namespace object itself: requests for it carry its name as their
	// namespace, so a Role in it can grant them (and strip pod security).
	self := MatrixRow{Resource: APIResource{Resource: "namespaces"}, Self: true, Allowed: map[string]bool{}}
	selfAllowed := false
	for _, v := range []string{"get", "update", "patch", "delete"} {
		ok := e.Allowed(user, Attributes{Verb: v, Resource: "namespaces", Name: ns, Namespace: ns})
		self.Allowed[v] = ok
		selfAllowed = selfAllowed || ok
	}
	if selfAllowed {
		m.Rows = append(m.Rows, self)
	}
	for _, url := range ruleURLs(rules) {
		row := NonResourceRow{URL: url}
		for _, v := range nonResourceVerbs() {
			if e.Allowed(user, Attributes{Verb: v, NonResourceURL: url}) {
				row.Allowed = append(row.Allowed, v)
			}
		}
		if len(row.Allowed) > 0 {
			m.NonResource = append(m.NonResource, row)
		}
	}
	return m
}

type customVerb struct {
	verb string
	rule *compiledRule
}

// customVerbs are the verbs rules name that no known resource has, each
// with the rule naming it (a custom verb is asked where its rule points).
func (e *Engine) customVerbs(rules []rbacv1.PolicyRule) []customVerb {
	known := map[string]bool{rbacv1.VerbAll: true}
	for _, r := range e.resources {
		for _, v := range r.Verbs {
			known[v] = true
		}
	}
	var out []customVerb
	for _, r := range rules {
		if len(r.Resources) == 0 {
			continue
		}
		var c *compiledRule
		for _, v := range r.Verbs {
			if known[v] {
				continue
			}
			if c == nil {
				compiled := compileRule(r)
				c = &compiled
			}
			out = append(out, customVerb{verb: v, rule: c})
		}
	}
	return out
}

// ruleOnlyResources are the resources rules name by exact group and name
// that the resource list does not have, assumed namespaced, with the
// verbs the rules give them ("*" meaning the standard verbs).
func (e *Engine) ruleOnlyResources(rules []rbacv1.PolicyRule) []APIResource {
	type key struct{ group, name string }
	known := map[key]bool{}
	for _, r := range e.resources {
		known[key{r.Group, r.Name()}] = true
	}
	at := map[key]int{}
	var out []APIResource
	for _, r := range rules {
		verbs := r.Verbs
		if slices.Contains(verbs, rbacv1.VerbAll) {
			verbs = MatrixVerbs()
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				if g == rbacv1.APIGroupAll || strings.Contains(res, rbacv1.ResourceAll) {
					continue
				}
				k := key{g, res}
				if known[k] {
					continue
				}
				j, seen := at[k]
				if !seen {
					j = len(out)
					at[k] = j
					ar := APIResource{Group: g, Namespaced: true}
					ar.Resource, ar.Subresource, _ = strings.Cut(res, "/")
					out = append(out, ar)
				}
				for _, v := range verbs {
					if v != rbacv1.VerbAll && !slices.Contains(out[j].Verbs, v) {
						out[j].Verbs = append(out[j].Verbs, v)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name() < out[j].Name()
	})
	return out
}

// ruleURLs are the non-resource URLs and URL patterns the rules name, sorted.
func ruleURLs(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, u := range r.NonResourceURLs {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	sort.Strings(out)
	return out
}
