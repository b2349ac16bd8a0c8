package audit

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// cell records that tenant reaches namespace ("*" for every namespace)
// through grant g, which cur holds and member reached.
func (a *auditor) cell(tenant, ns string, g access.Grant, member, cur access.Subject, cross bool) {
	if a.findingsOnly {
		return
	}
	lvl := a.level(g)
	k := cellKey{tenant, ns}
	c := a.cells[k]
	if c == nil {
		c = &Cell{Tenant: tenant, Namespace: ns}
		a.cells[k] = c
	}
	if lvl.rank() <= c.Level.rank() && (c.Cross || !cross) {
		return
	}
	c.Level = maxLevel(c.Level, lvl)
	c.Cross = c.Cross || cross
	via := member.String()
	if cur != member {
		via += " acting as " + cur.String()
	}
	c.Via = via + " via " + g.Binding.String()
}

func maxLevel(x, y Level) Level {
	if y.rank() > x.rank() {
		return y
	}
	return x
}

// level grades what a grant allows, once per distinct rule list.
func (a *auditor) level(g access.Grant) Level {
	if l, ok := a.levels[g.RuleSet]; ok {
		return l
	}
	lvl := LevelRead
	for _, r := range g.Rules {
		switch {
		case slices.Contains(r.Verbs, "*") && slices.Contains(r.Resources, "*"):
			lvl = LevelAdmin
		case (slices.Contains(r.APIGroups, rbacGroup) || slices.Contains(r.APIGroups, "*")) && anyVerb(r.Verbs, "create", "update", "patch", "bind", "escalate", "*") &&
			(slices.Contains(r.Resources, "rolebindings") || slices.Contains(r.Resources, "roles") || slices.Contains(r.Resources, "*")):
			lvl = LevelAdmin
		case anyVerb(r.Verbs, "create", "update", "patch", "delete", "deletecollection", "*"):
			lvl = maxLevel(lvl, LevelWrite)
		}
	}
	a.levels[g.RuleSet] = lvl
	return lvl
}

func anyVerb(verbs []string, want ...string) bool {
	for _, w := range want {
		if slices.Contains(verbs, w) {
			return true
		}
	}
	return false
}

// drill returns the drill-down entry of s, filled with its own grants.
func (a *auditor) drill(t Tenant, s access.Subject) *SubjectAccess {
	if d, ok := a.subjectTo[s]; ok {
		return d
	}
	d := &SubjectAccess{Subject: s.String(), Tenant: t.Name, Grants: []Access{}}
	for _, g := range a.subjectGrants(s) {
		ns := cmp.Or(g.Namespace, "*")
		d.Grants = append(d.Grants, Access{Namespace: ns, Level: a.level(g), Via: g.Binding.String(), ruleSet: g.RuleSet})
		a.ruleTexts(g)
	}
	a.subjectTo[s] = d
	return d
}

// maxRuleTexts bounds one grant's rule list in the drill-down.
const maxRuleTexts = 40

// ruleTexts is ruleTextsOf(g.Rules), once per rule list; the slice is shared.
func (a *auditor) ruleTexts(g access.Grant) []string {
	if t, ok := a.texts[g.RuleSet]; ok {
		return t
	}
	t := ruleTextsOf(g.Rules)
	a.texts[g.RuleSet] = t
	return t
}

// ruleTextsOf spells rules the way kubectl describe role does, one line each:
// "get,list,watch pods,services" or "create deployments.apps".
func ruleTextsOf(rules []rbacv1.PolicyRule) []string {
	out := make([]string, 0, min(len(rules), maxRuleTexts))
	for i, r := range rules {
		if i == maxRuleTexts {
			out = append(out, "…")
			break
		}
		if len(r.NonResourceURLs) > 0 {
			out = append(out, strings.Join(r.Verbs, ",")+" "+strings.Join(r.NonResourceURLs, ","))
			continue
		}
		var res []string
		for _, g := range r.APIGroups {
			for _, name := range r.Resources {
				if g != "" {
					name += "." + g
				}
				res = append(res, name)
			}
		}
		text := strings.Join(r.Verbs, ",") + " " + strings.Join(res, ",")
		if len(r.ResourceNames) > 0 {
			text += " named " + strings.Join(r.ResourceNames, ",")
		}
		out = append(out, text)
	}
	return out
}

// matrix returns the cells and drill-downs, sorted.
func (a *auditor) matrix() ([]Cell, []SubjectAccess) {
	cells := make([]Cell, 0, len(a.cells))
	for _, c := range a.cells {
		cells = append(cells, *c)
	}
	slices.SortFunc(cells, func(x, y Cell) int {
		return cmp.Or(cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.Namespace, y.Namespace))
	})
	subjects := make([]SubjectAccess, 0, len(a.subjectTo))
	for _, d := range a.subjectTo {
		subjects = append(subjects, *d)
	}

	slices.SortFunc(subjects, func(x, y SubjectAccess) int {
		return cmp.Or(cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.Subject, y.Subject))
	})
	// Number the rule lists in subject order, so the output is stable.
	index := map[int32]int{}
	for i := range subjects {
		for j := range subjects[i].Grants {
			g := &subjects[i].Grants[j]
			n, ok := index[g.ruleSet]
			if !ok {
				n = len(a.ruleLists)
				index[g.ruleSet] = n
				a.ruleLists = append(a.ruleLists, a.texts[g.ruleSet])
			}
			g.RuleList = n
		}
	}
	return cells, subjects
}
