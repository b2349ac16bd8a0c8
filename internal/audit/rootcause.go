package audit

import (
	"fmt"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// cause is the first hop of a path: the grant by which member acts as to.
// Every finding reached along the path follows from it.
type cause struct {
	member, to access.Subject
	edge       edge
}

// binding is the first binding that grants the hop.
func (c *cause) binding() string { return bindingStrings(c.edge.via[:1])[0] }

// reached marks f, found on what member reaches as cur, with its path and
// first hop; f is unchanged when cur is member itself.
func reached(member, cur access.Subject, parent map[access.Subject]step, f Finding) Finding {
	if cur == member {
		return f
	}
	at := cur
	for {
		st := parent[at]
		f.Path = append([]string{fmt.Sprintf("%s %s (pattern %d, %s)", st.edge.how(), at, st.edge.pattern, bindingStrings(st.edge.via)[0])}, f.Path...)
		if st.from == member {
			f.cause = &cause{member: member, to: at, edge: st.edge}
			return f
		}
		at = st.from
	}
}

// foldConsequences puts each finding reached through an identity under the
// finding of the grant that causes it, so that one cause is one finding
// whose fix removes it:
//
//   - when the first hop's binding already gives the subject rights in
//     another tenant's namespace (a foreign RoleBinding), that
//     cross-tenant finding is the cause: running pods there as the victim's
//     ServiceAccounts is its consequence, not a finding telling the victim
//     to drop its own access;
//   - otherwise the acts-as finding of the first hop is the cause; when
//     there is none (the identity gains only what the path goes on to
//     reach) and the hop causes several findings, an acts-as finding is
//     made for it.
//
// A lone consequence without an acts-as finding stays as it is: it names
// its path and the hop in its fix. The cause takes the worst severity.
func (a *auditor) foldConsequences(findings []Finding) []Finding {
	type at struct{ subject, key string }
	direct := map[at]int{}
	actsAs := map[at]int{}
	for i, f := range findings {
		switch {
		case f.Rule == "cross-tenant-access" && f.cause == nil && len(f.Objects) == 1:
			k := at{f.Subject, bindingOnly(f.Objects[0])}
			if _, ok := direct[k]; !ok {
				direct[k] = i
			}
		case f.Rule == "acts-as" && f.cause != nil:
			k := at{f.Subject, f.cause.to.String() + "|" + f.cause.binding()}
			if _, ok := actsAs[k]; !ok {
				actsAs[k] = i
			}
		}
	}
	under := map[int][]int{} // cause -> the findings folded into it
	var orphans []at         // hops without a cause finding, in order
	pending := map[at][]int{}
	folded := 0
	for i, f := range findings {
		if f.cause == nil || f.Rule == "acts-as" {
			continue
		}
		if d, ok := direct[at{f.Subject, bindingOnly(f.cause.binding())}]; ok {
			under[d] = append(under[d], i)
			folded++
			continue
		}
		k := at{f.Subject, f.cause.to.String() + "|" + f.cause.binding()}
		if r, ok := actsAs[k]; ok {
			under[r] = append(under[r], i)
			folded++
			continue
		}
		if pending[k] == nil {
			orphans = append(orphans, k)
		}
		pending[k] = append(pending[k], i)
	}
	made := 0
	for _, k := range orphans {
		if len(pending[k]) > 1 {
			made++
			folded += len(pending[k])
		}
	}
	if folded == 0 {
		return findings
	}
	out := make([]Finding, 0, len(findings)-folded+made)
	skip := make(map[int]bool, folded)
	for _, subs := range under {
		for _, s := range subs {
			skip[s] = true
		}
	}
	for _, k := range orphans {
		if subs := pending[k]; len(subs) > 1 {
			for _, s := range subs {
				skip[s] = true
			}
		}
	}
	for i, f := range findings {
		if skip[i] {
			continue
		}
		out = append(out, withConsequences(f, findings, under[i]))
	}
	for _, k := range orphans {
		if subs := pending[k]; len(subs) > 1 {
			first := findings[subs[0]]
			root := a.actsAsFinding(first.Tenant, first.cause, nil)
			out = append(out, withConsequences(root, findings, subs))
		}
	}
	return out
}

// withConsequences returns root carrying findings[subs] as consequences.
func withConsequences(root Finding, findings []Finding, subs []int) Finding {
	for _, s := range subs {
		c := findings[s]
		root.Consequences = append(root.Consequences, Consequence{
			Rule: c.Rule, Pattern: c.Pattern, Severity: c.Severity, Namespace: c.Namespace,
			Path: c.Path, Objects: c.Objects, Message: c.Message,
		})
		root.Severity = max(root.Severity, c.Severity)
	}
	return root
}

// actsAsFinding is the finding of c's hop: whom the subject acts as, by
// which grant, what it gains (more: the identity's bindings that give it;
// nil to name none), and a fix that removes the hop.
func (a *auditor) actsAsFinding(tenant string, c *cause, more []string) Finding {
	s, e := c.member, c.edge
	gains := a.gains(s, e.to)
	msg := fmt.Sprintf("%s %s %s", s, e.how(), e.to)
	if len(gains) > 0 {
		msg += " and so gains " + listGains(gains, 80) + "."
	} else {
		msg += ": it gains rights it was not given."
	}
	objects := bindingStrings(e.via)
	objects = append(objects, more...)
	f := Finding{
		Rule: "acts-as", Pattern: e.pattern, Severity: Medium, Tenant: tenant, Subject: s.String(), Namespace: e.to.Namespace,
		Objects: objects, Message: msg, Fix: actsAsFix(c, gains), cause: c,
	}
	f.key = f.Rule + "|" + f.Subject + "|" + f.Namespace + "|" + strings.Join(f.Objects, ",")
	return f
}

// actsAsFix removes the hop: the subject's right that lets it act as the
// identity, or the identity's power from where the subject reaches it.
func actsAsFix(c *cause, gains []string) string {
	e := c.edge
	ns := e.to.Namespace
	right := ""
	switch e.pattern {
	case 7:
		right = "pod and pod controller creation in " + ns
	case 11:
		right = "pods/exec, pods/attach and pod updates in " + ns
	case 8:
		right = "create on serviceaccounts/token " + e.to.Name + " in " + ns
	case 9:
		right = "impersonate on " + e.to.String()
	case 10:
		right = "bind on " + e.role + " (or the RoleBinding writes) in " + ns
	case 20:
		right = "create on serviceaccounts in " + ns
	default:
		if e.secret == "" {
			right = "create on secrets in " + ns
		} else {
			right = "get, list and watch on Secret " + ns + "/" + e.secret
		}
	}
	fix := fmt.Sprintf("Remove %s from %s", right, roleNames(e.via))
	switch {
	case e.pattern == 6 && e.secret != "":
		fix += fmt.Sprintf(", or delete the legacy token Secret %s/%s and use short-lived tokens", ns, e.secret)
	case e.pattern == 20:
		fix += fmt.Sprintf(", or correct or delete the binding that names the missing %s", e.to)
	case ns != "" && e.pattern != 9:
		fix += fmt.Sprintf(", or move %s to a namespace of its own", e.to)
	}
	if len(gains) > 0 {
		fix += "; either way it loses what it gains"
	}
	return fix + "."
}

// bindingOnly is "RoleBinding ns/name" of "RoleBinding ns/name -> Role r".
func bindingOnly(object string) string {
	b, _, _ := strings.Cut(object, " -> ")
	return b
}
