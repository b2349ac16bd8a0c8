package spec

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// checkCombined checks a document's guardrails together with what they
// inherit: a tenant's with the TenantDefaults' (inherited; nil for none)
// and the built-ins, a TenantDefaults' with the built-ins. A conflict is
// reported only where the document itself sets one of the values involved:
// a conflict among inherited values belongs to the document that sets them
// (the built-ins have none), and reporting it for every tenant would bury
// it. defaultsAt locates fields of the TenantDefaults for messages.
func checkCombined(own, inherited *v1alpha1.Guardrails, defaultsAt func(path string) Source) []finding {
	c := &combined{own: own, inherited: inherited, defaultsAt: defaultsAt, resolved: ResolveGuardrails(own, inherited)}
	if inherited == nil {
		c.inherited = &v1alpha1.Guardrails{}
	}
	c.checkLimits()
	c.checkGPUResource()
	c.checkNetwork()
	return c.out
}

type combined struct {
	own, inherited *v1alpha1.Guardrails
	resolved       v1alpha1.Guardrails
	defaultsAt     func(path string) Source
	out            []finding
}

func (c *combined) add(fe *field.Error, hint string, related ...string) {
	c.out = append(c.out, finding{err: problem(fe, hint), related: related})
}

// from says where an inherited value comes from: the TenantDefaults if it
// sets the value, else the built-ins.
func (c *combined) from(inheritedSets bool, path string) string {
	if !inheritedSets {
		return "bulkhead's built-in default"
	}
	if c.defaultsAt == nil {
		return "set by the TenantDefaults"
	}
	if src := c.defaultsAt(path).String(); src != "" {
		return "set by the TenantDefaults at " + src
	}
	return "set by the TenantDefaults"
}

// limitLists are the LimitRange lists, smallest first: a default request
// above the default limit, or either above the max, is refused by the API
// server.
var limitLists = []struct{ name, desc string }{
	{"defaultRequest", "the default request"},
	{"default", "the default limit"},
	{"max", "the max"},
}

func limitList(l *v1alpha1.Limits, name string) corev1.ResourceList {
	switch {
	case l == nil:
		return nil
	case name == "defaultRequest":
		return l.DefaultRequest
	case name == "default":
		return l.Default
	}
	return l.Max
}

func (c *combined) checkLimits() {
	r := c.resolved.Limits
	keys := map[corev1.ResourceName]bool{}
	for _, l := range []corev1.ResourceList{r.DefaultRequest, r.Default, r.Max} {
		for k := range l {
			keys[k] = true
		}
	}
	p := field.NewPath("spec", "limits")
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		for _, pair := range [][2]int{{0, 1}, {1, 2}, {0, 2}} {
			if _, ok := r.Default[k]; ok && pair == [2]int{0, 2} {
				continue // follows from the other two
			}
			lo, hi := limitLists[pair[0]], limitLists[pair[1]]
			loValue, okLo := limitList(r, lo.name)[k]
			hiValue, okHi := limitList(r, hi.name)[k]
			if !okLo || !okHi || loValue.Cmp(hiValue) <= 0 {
				continue
			}
			if hi.name == "max" && hiValue.IsZero() && isContainerResource(k) {
				continue // checkZeroMax says why a max of 0 is wrong
			}
			_, loOwn := limitList(c.own.Limits, lo.name)[k]
			_, hiOwn := limitList(c.own.Limits, hi.name)[k]
			loPath, hiPath := p.Child(lo.name).Key(string(k)), p.Child(hi.name).Key(string(k))
			switch {
			case loOwn:
				where := hiPath.String()
				if !hiOwn {
					_, set := limitList(c.inherited.Limits, hi.name)[k]
					where = c.from(set, hiPath.String())
				}
				c.add(field.Invalid(loPath, loValue.String(), fmt.Sprintf("must not be more than %s, %s (%s)", hi.desc, hiValue.String(), where)),
					fmt.Sprintf("lower it to %s or less, or raise %s", hiValue.String(), hi.desc), loPath.String(), hiPath.String())
			case hiOwn:
				_, set := limitList(c.inherited.Limits, lo.name)[k]
				c.add(field.Invalid(hiPath, hiValue.String(), fmt.Sprintf("must not be less than %s, %s (%s)", lo.desc, loValue.String(), c.from(set, loPath.String()))),
					fmt.Sprintf("raise it to %s or more, or set %s to %s or less", loValue.String(), loPath, hiValue.String()), loPath.String(), hiPath.String())
			}
		}
	}
}

// checkGPUResource refuses an extendedResources entry for the GPU resource:
// quota.gpus caps that resource already, and one cap would silently replace
// the other.
func (c *combined) checkGPUResource() {
	q, own := c.resolved.Quota, c.own.Quota
	if _, ok := q.ExtendedResources[q.GPUResource]; !ok || own == nil {
		return
	}
	p := field.NewPath("spec", "quota")
	keyPath, gpuPath := p.Child("extendedResources").Key(string(q.GPUResource)), p.Child("gpuResource")
	if _, ownKey := own.ExtendedResources[q.GPUResource]; ownKey {
		where := gpuPath.String()
		if own.GPUResource == "" {
			where = c.from(c.inherited.Quota != nil && c.inherited.Quota.GPUResource != "", gpuPath.String())
		}
		c.add(field.Duplicate(keyPath, string(q.GPUResource)), fmt.Sprintf(
			"it is the GPU resource (%s), which quota.gpus caps; set quota.gpus instead", where), keyPath.String())
		return
	}
	if own.GPUResource != "" {
		c.add(field.Duplicate(gpuPath, string(q.GPUResource)), fmt.Sprintf(
			"extendedResources caps it already (%s); cap it with quota.gpus only, or choose another gpuResource",
			c.from(true, keyPath.String())))
	}
}

// checkNetwork finds settings that contradict the network's mode or egress.
// Resolving has dropped inherited settings that would; what is left was set
// by this document itself.
func (c *combined) checkNetwork() {
	own, n, inh := c.own.Network, c.resolved.Network, c.inherited.Network
	if own == nil {
		return
	}
	p := field.NewPath("spec", "network")
	modeFrom := ""
	if own.Mode == "" {
		modeFrom = " (" + c.from(inh != nil && inh.Mode != "", p.Child("mode").String()) + ")"
	}
	if n.Mode == v1alpha1.NetworkOpen {
		if len(own.AllowFrom) > 0 {
			c.add(field.Forbidden(p.Child("allowFrom"), "the network mode is open"+modeFrom+", which admits every peer already"),
				"remove allowFrom, or set mode: isolated")
		}
		if own.Egress == v1alpha1.EgressRestricted {
			c.add(field.Forbidden(p.Child("egress"), "egress cannot be restricted when the network mode is open"+modeFrom+
				", which renders no NetworkPolicy at all"), "set mode: isolated, or remove egress")
		}
	}
	// An unknown egress is reported on its own; the CIDRs may well be right.
	if len(own.EgressCIDRs) == 0 || n.Egress == v1alpha1.EgressRestricted || !slices.Contains(v1alpha1.EgressModes, n.Egress) {
		return
	}
	why := "egress is " + string(n.Egress)
	switch {
	case own.Egress != "":
	case n.Mode == v1alpha1.NetworkOpen:
		why += " since the network mode is open" + modeFrom
	default:
		why += " (" + c.from(inh != nil && inh.Egress != "", p.Child("egress").String()) + ")"
	}
	c.add(field.Forbidden(p.Child("egressCIDRs"), "egressCIDRs only apply to restricted egress, and "+why),
		"set egress: restricted, or remove egressCIDRs")
}
