package audit

import "github.com/bulkhead-dev/bulkhead/internal/access"

// memoKey is one question asked of one rule list. Checks are small
// numbers (see the check* constants) so that the memo hashes cheaply.
type memoKey struct {
	ruleSet int32
	check   int32
}

// Question numbers for the memo. A few questions take a range (one
// number per request, up to 8); catalogue checks use checkCatalog +
// 64×check + request.
const (
	noMemo int32 = iota * 8
	checkPodCreate
	checkPodEnter
	checkMayMint
	checkMayImpersonate
	checkMayReadSecrets // get, list, watch
	checkMayWriteNamespaces
	checkNamespaced
	checkCatalog = 1 << 10
)

// allows reports whether any of grants allows attrs where they apply, and
// which: the memo makes each distinct rule list answer each question once.
func (a *auditor) allows(grants []access.Grant, check int32, attrs access.Attributes) []access.BindingRef {
	a.questions++
	var via []access.BindingRef
	for _, g := range grants {
		if g.Namespace != "" && g.Namespace != attrs.Namespace {
			continue
		}
		key := memoKey{g.RuleSet, check}
		ok, seen := a.memo[key]
		if !seen || check == noMemo {
			ok = a.eng.RuleSetAllows(g.RuleSet, attrs)
			if check != noMemo {
				a.memo[key] = ok
			}
		}
		if ok {
			via = append(via, g.Binding)
		}
	}
	return via
}

// mayAllowAny is mayAllow for any of rs.
func (a *auditor) mayAllowAny(grants []access.Grant, check int32, rs []access.Attributes, ns string) bool {
	for i, r := range rs {
		r.Namespace = ns
		if a.mayAllow(grants, check+int32(i), r) {
			return true
		}
	}
	return false
}

// mayAllow reports whether some grant applying in attrs.Namespace allows
// attrs for some object name, memoised per rule list.
func (a *auditor) mayAllow(grants []access.Grant, check int32, attrs access.Attributes) bool {
	for _, g := range grants {
		if g.Namespace != "" && g.Namespace != attrs.Namespace {
			continue
		}
		key := memoKey{g.RuleSet, check}
		ok, seen := a.memo[key]
		if !seen {
			ok = a.eng.RuleSetMayAllow(g.RuleSet, attrs)
			a.memo[key] = ok
		}
		if ok {
			return true
		}
	}
	return false
}

// anyOf returns the grants (applying in ns) that allow at least one of rs,
// memoised per rule list under key.
func (a *auditor) anyOf(grants []access.Grant, key int32, rs []access.Attributes, ns string) []access.BindingRef {
	var via []access.BindingRef
	for _, g := range grants {
		if g.Namespace != "" && g.Namespace != ns {
			continue
		}
		k := memoKey{g.RuleSet, key}
		ok, seen := a.memo[k]
		if !seen {
			for _, r := range rs {
				r.Namespace = ns
				if ok = a.eng.RuleSetAllows(g.RuleSet, r); ok {
					break
				}
			}
			a.memo[k] = ok
		}
		if ok {
			via = append(via, g.Binding)
		}
	}
	a.questions += len(rs)
	return via
}
