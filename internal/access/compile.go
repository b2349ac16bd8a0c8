package access

import (
	"encoding/binary"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// compiledRule is a PolicyRule prepared for repeated matching. Matching is
// upstream's evaluation_helpers.go, field by field; the precomputation only
// moves work out of the loop (wildcards found once, "*/sub" split once,
// "/healthz/*" trimmed once) and never changes an answer.
type compiledRule struct {
	allVerbs  bool
	verbs     []string
	allGroups bool
	groups    []string

	allResources bool
	resources    []string // compared with "resource" or "resource/subresource"
	anySubOf     []string // from "*/sub": matches any resource's sub

	names []string // empty: any name (including none)

	allURLs     bool
	urls        []string // exact
	urlPrefixes []string // from "/path/*": the part before the trailing stars
}

func compileRule(r rbacv1.PolicyRule) compiledRule {
	var c compiledRule
	c.allVerbs, c.verbs = wildcardOr(r.Verbs, rbacv1.VerbAll)
	c.allGroups, c.groups = wildcardOr(r.APIGroups, rbacv1.APIGroupAll)
	c.allResources, c.resources = wildcardOr(r.Resources, rbacv1.ResourceAll)
	for _, res := range r.Resources {
		// ResourceMatches: len(rule) == len(sub)+2 && "*/" prefix && sub
		// suffix, i.e. rule == "*/"+sub with a non-empty sub.
		if len(res) > 2 && strings.HasPrefix(res, "*/") {
			c.anySubOf = append(c.anySubOf, res[2:])
		}
	}
	c.names = r.ResourceNames
	for _, u := range r.NonResourceURLs {
		switch {
		case u == rbacv1.NonResourceAll:
			c.allURLs = true
		case strings.HasSuffix(u, "*"):
			// "/**" trims to "/" and "**" to "", which matches everything:
			// that is what strings.HasPrefix(url, "") does upstream too.
			prefix := strings.TrimRight(u, "*")
			if prefix == "" {
				c.allURLs = true
			}
			c.urlPrefixes = append(c.urlPrefixes, prefix)
		default:
			c.urls = append(c.urls, u)
		}
	}
	return c
}

// wildcardOr reports whether list holds the wildcard, else returns list.
func wildcardOr(list []string, wildcard string) (bool, []string) {
	if contains(list, wildcard) {
		return true, nil
	}
	return false, list
}

// allows is upstream's RuleAllows.
func (c *compiledRule) allows(req *request) bool {
	if !c.allVerbs && !contains(c.verbs, req.verb) {
		return false
	}
	if !req.resource {
		return c.matchesURL(req.path)
	}
	if !c.allGroups && !contains(c.groups, req.group) {
		return false
	}
	if !c.matchesResource(req.combined, req.sub) {
		return false
	}
	return len(c.names) == 0 || req.anyName || contains(c.names, req.name)
}

func (c *compiledRule) matchesResource(combined, sub string) bool {
	if c.allResources || contains(c.resources, combined) {
		return true
	}
	return sub != "" && contains(c.anySubOf, sub)
}

func (c *compiledRule) matchesURL(path string) bool {
	if c.allURLs || contains(c.urls, path) {
		return true
	}
	for _, p := range c.urlPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// ruleSet is one distinct list of rules, compiled. Many roles share one.
type ruleSet struct {
	rules    []rbacv1.PolicyRule
	compiled []compiledRule
}

func (s *ruleSet) allows(req *request) bool {
	for i := range s.compiled {
		if s.compiled[i].allows(req) {
			return true
		}
	}
	return false
}

// ruleKey encodes a rule so that two rules get the same key exactly when
// equality.Semantic.DeepEqual holds (order kept, nil equals empty).
func ruleKey(r rbacv1.PolicyRule) string {
	var b []byte
	b = appendRuleKey(b, r)
	return string(b)
}

// ruleListKey encodes a whole rule list; it interns rule sets.
func ruleListKey(rules []rbacv1.PolicyRule) string {
	b := binary.AppendUvarint(nil, uint64(len(rules)))
	for _, r := range rules {
		b = appendRuleKey(b, r)
	}
	return string(b)
}

func appendRuleKey(b []byte, r rbacv1.PolicyRule) []byte {
	for _, field := range [...][]string{r.Verbs, r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs} {
		b = binary.AppendUvarint(b, uint64(len(field)))
		for _, s := range field {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}
