package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// gained is one resource (with its names) an identity may use in ways a
// subject may not.
type gained struct {
	verbs      []string
	all        bool // every verb the resource has
	resource   access.APIResource
	names      []string
	namespaced bool
}

// gains lists what to may do that s may not, the most dangerous first, as
// "create,delete rolebindings in team-b" or "approve signers cluster-wide":
// what an acts-as finding tells the subject it gains. It asks the engine
// right by right over the resources it knows, as covers does, cluster-scoped
// resources included.
func (a *auditor) gains(s, to access.Subject) []string {
	// One line per verbs and scope: "get,list,watch pods,services in b".
	type line struct {
		rank         int
		verbs, where string
		resources    []string
	}
	var lines []*line
	byKey := map[string]*line{}
	for _, g := range a.subjectGrants(to) {
		for _, namespaced := range []bool{true, false} {
			ns := ""
			if namespaced {
				ns = g.Namespace
			}
			for _, u := range a.uncovered(s, g, ns, namespaced) {
				where := "cluster-wide"
				switch {
				case namespaced && ns == "":
					where = "in every namespace"
				case namespaced:
					where = "in " + ns
				}
				verbs, res := u.text()
				l := byKey[verbs+" "+where]
				if l == nil {
					l = &line{rank: u.rank(), verbs: verbs, where: where}
					byKey[verbs+" "+where] = l
					lines = append(lines, l)
				}
				l.rank = min(l.rank, u.rank())
				l.resources = appendUnique(l.resources, res)
			}
		}
	}
	slices.SortStableFunc(lines, func(x, y *line) int { return cmp.Compare(x.rank, y.rank) })
	out := make([]string, len(lines))
	for i, l := range lines {
		res := l.resources
		if len(res) > 3 {
			res = append(res[:3:3], fmt.Sprintf("%d more", len(l.resources)-3))
		}
		out[i] = l.verbs + " " + strings.Join(res, ",") + " " + l.where
	}
	return out
}

// uncovered lists the rights of g on namespaced (or cluster-scoped)
// resources that s's grants applying in ns do not allow. Answers are
// memoised by the rule lists involved, as covers' are.
func (a *auditor) uncovered(s access.Subject, g access.Grant, ns string, namespaced bool) []gained {
	var applying []access.Grant
	key := strconv.AppendInt(make([]byte, 0, 64), int64(g.RuleSet), 10)
	if namespaced {
		key = append(key, 'n')
	}
	for _, h := range a.grantsIn(s, ns) {
		if h.Namespace == "" || h.Namespace == ns {
			applying = append(applying, h)
			key = strconv.AppendInt(append(key, ','), int64(h.RuleSet), 10)
		}
	}
	if v, ok := a.gainMemo[string(key)]; ok {
		return v
	}
	var out []gained
	for _, c := range a.expand(g) {
		if c.Resource.Namespaced != namespaced {
			continue
		}
		names := c.Names
		if len(names) == 0 {
			names = []string{""}
		}
		var verbs []string
		for _, v := range c.Verbs {
			for _, n := range names {
				attrs := access.Attributes{Verb: v, Group: c.Resource.Group, Resource: c.Resource.Resource,
					Subresource: c.Resource.Subresource, Name: n, Namespace: ns}
				if !slices.ContainsFunc(applying, func(h access.Grant) bool { return a.eng.RuleSetAllows(h.RuleSet, attrs) }) {
					verbs = appendUnique(verbs, v)
				}
			}
		}
		if len(verbs) > 0 {
			out = append(out, gained{verbs: verbs, all: len(verbs) == len(c.Resource.Verbs) && len(verbs) > 2,
				resource: c.Resource, names: c.Names, namespaced: namespaced})
		}
	}
	a.gainMemo[string(key)] = out
	return out
}

// text is "create,delete" and "rolebindings", as can and who-can take a
// verb and a resource (with the group for a CRD's: notebooks.kubeflow.org).
func (u gained) text() (verbs, resource string) {
	verbs = strings.Join(u.verbs, ",")
	if u.all {
		verbs = "*"
	}
	res := u.resource.Resource
	if u.resource.Subresource != "" {
		res += "/" + u.resource.Subresource
	}
	if g := u.resource.Group; strings.Contains(g, ".") && !strings.HasSuffix(g, ".k8s.io") { // a CRD's
		res += "." + u.resource.Group
	}
	if len(u.names) > 0 {
		res += " named " + strings.Join(u.names, ",")
	}
	return verbs, res
}

// rank puts what gives away isolation first: RBAC, admission,
// certificates, credentials and code execution; then other writes; reads
// last.
func (u gained) rank() int {
	switch u.resource.Group {
	case rbacGroup, "admissionregistration.k8s.io", "certificates.k8s.io":
		return 0
	}
	switch u.resource.Resource + "/" + u.resource.Subresource {
	case "secrets/", "serviceaccounts/token", "pods/exec", "pods/attach", "pods/ephemeralcontainers", "nodes/proxy",
		"persistentvolumes/", "namespaces/":
		return 0
	}
	for _, v := range u.verbs {
		switch v {
		case "impersonate", "bind", "escalate", "approve", "sign", "*":
			return 0
		}
	}
	for _, v := range u.verbs {
		if v != "get" && v != "list" && v != "watch" {
			return 1
		}
	}
	return 2
}

// listGains joins the first gains, as many as fit in about width
// characters (one at least), and counts the rest, saying the scope once
// when they share it: "in b: get pods,services; create configmaps (+3
// more)".
func listGains(gains []string, width int) string {
	n, size := 1, len(gains[0])
	for n < len(gains) && size+2+len(gains[n]) <= width {
		size += 2 + len(gains[n])
		n++
	}
	shown := gains[:n]
	text := strings.Join(shown, ", ")
	if _, where, ok := strings.Cut(shown[0], " in "); ok && len(shown) > 1 {
		var bare []string
		for _, g := range shown {
			what, ok := strings.CutSuffix(g, " in "+where)
			if !ok || strings.Contains(what, " in ") {
				bare = nil
				break
			}
			bare = append(bare, what)
		}
		if bare != nil {
			text = "in " + where + ": " + strings.Join(bare, "; ")
		}
	}
	if len(gains) > n {
		text += fmt.Sprintf(" (+%d more)", len(gains)-n)
	}
	return text
}
