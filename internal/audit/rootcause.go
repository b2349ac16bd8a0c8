package audit

import (
	"slices"
	"strings"
)

// foldConsequences puts each cross-tenant finding that follows from another
// under it. When a subject reaches a namespace through an identity it acts
// as (it creates pods there that run as the victim's ServiceAccount) and the
// first hop of that path is the very binding that already gives it rights
// there, that binding is the one cause: the consequence is told inside the
// finding whose fix removes it, not as a finding of its own whose fix would
// take the victim's ServiceAccount's own access away.
func foldConsequences(findings []Finding) []Finding {
	type at struct{ subject, namespace, binding string }
	direct := map[at]int{}
	for i, f := range findings {
		if f.Rule == "cross-tenant-access" && len(f.Objects) == 1 {
			direct[at{f.Subject, f.Namespace, bindingOnly(f.Objects[0])}] = i
		}
	}
	under := map[int][]int{} // direct finding -> the findings folded into it
	folded := map[int]bool{}
	for i, f := range findings {
		if f.Rule != "cross-tenant-access" || len(f.Objects) < 2 {
			continue
		}
		if d, ok := direct[at{f.Subject, f.Namespace, bindingOnly(f.Objects[0])}]; ok {
			under[d] = append(under[d], i)
			folded[i] = true
		}
	}
	if len(folded) == 0 {
		return findings
	}
	out := make([]Finding, 0, len(findings)-len(folded))
	for i, f := range findings {
		if folded[i] {
			continue
		}
		if subs := under[i]; len(subs) > 0 {
			var also []string
			for _, s := range subs {
				c := findings[s]
				also = append(also, consequence(c))
				for _, o := range c.Objects[1:] {
					if !slices.Contains(f.Objects, o) {
						f.Objects = append(f.Objects, o)
					}
				}
			}
			f.Message += " Through it, it also " + strings.Join(also, "; and ") + "."
		}
		out = append(out, f)
	}
	return out
}

// consequence is a folded finding's path and what it reaches: "creates
// pods in alice that run as ServiceAccount alice/alice-user (pattern 7, …),
// and so has rights in namespace alice … through RoleBinding …".
func consequence(f Finding) string {
	msg := strings.TrimSuffix(f.Message, ".")
	if i := strings.Index(msg, ", which "); i >= 0 {
		msg = msg[i+len(", which "):]
	}
	return strings.Replace(msg, ", has rights in", ", and so has rights in", 1)
}

// bindingOnly is "RoleBinding ns/name" of "RoleBinding ns/name -> Role r".
func bindingOnly(object string) string {
	b, _, _ := strings.Cut(object, " -> ")
	return b
}
