package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// APIResource is one resource or subresource RBAC rules can name.
type APIResource struct {
	Group       string // "" for the core group
	Resource    string // plural, e.g. "pods"
	Subresource string // e.g. "exec"; "" for the resource itself
	Namespaced  bool
	Verbs       []string
	// Virtual resources are never served; only authorizers check them
	// (impersonation targets, CSR signers, kubelet endpoints).
	Virtual bool
}

// Name is what a rule's resources list would say: "pods" or "pods/exec".
func (r APIResource) Name() string {
	if r.Subresource == "" {
		return r.Resource
	}
	return r.Resource + "/" + r.Subresource
}

// StandardResources lists the built-in resources of Kubernetes 1.34 with
// default feature gates, as a fresh slice. It is the default for offline
// snapshots; a live cluster's CRDs and enabled beta APIs come from
// ResourcesFromDiscovery.
func StandardResources() []APIResource {
	var out []APIResource
	for _, line := range strings.Split(standardTable, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		r := APIResource{Namespaced: f[2] == "ns", Virtual: len(f) > 4 && f[4] == "virtual"}
		if f[0] != "core" {
			r.Group = f[0]
		}
		r.Resource, r.Subresource, _ = strings.Cut(f[1], "/")
		r.Verbs = expandVerbs(f[3])
		out = append(out, r)
	}
	return out
}

func expandVerbs(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		switch v {
		case "crud":
			out = append(out, "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
		case "gpu":
			out = append(out, "get", "patch", "update")
		default:
			out = append(out, v)
		}
	}
	return out
}

// ResourcesFromDiscovery turns discovery results (from
// discovery.ServerGroupsAndResources, all versions) into the list Snapshot
// takes, one entry per group and resource across versions, plus what
// discovery cannot show: the authorization-only verbs of built-in resources
// and the virtual resources of StandardResources.
func ResourcesFromDiscovery(lists []*metav1.APIResourceList) []APIResource {
	type key struct{ group, name string }
	at := map[key]int{}
	var out []APIResource
	add := func(r APIResource) {
		k := key{r.Group, r.Name()}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, r)
			return
		}
		for _, v := range r.Verbs {
			if !contains(out[i].Verbs, v) {
				out[i].Verbs = append(out[i].Verbs, v)
			}
		}
	}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue // discovery only returns valid group versions
		}
		for _, ar := range l.APIResources {
			r := APIResource{Group: gv.Group, Namespaced: ar.Namespaced, Verbs: append([]string(nil), ar.Verbs...)}
			r.Resource, r.Subresource, _ = strings.Cut(ar.Name, "/")
			add(r)
		}
	}
	authzOnly := authorizationOnlyVerbs()
	for _, std := range StandardResources() {
		if std.Virtual {
			add(std)
			continue
		}
		if _, served := at[key{std.Group, std.Name()}]; !served {
			continue
		}
		extra := std
		extra.Verbs = nil
		for _, v := range std.Verbs {
			if contains(authzOnly, v) {
				extra.Verbs = append(extra.Verbs, v)
			}
		}
		add(extra)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name() < out[j].Name()
	})
	return out
}

// Resources returns the resource list "*" expands to (see Snapshot.Resources).
func (e *Engine) Resources() []APIResource {
	return append([]APIResource(nil), e.resources...)
}

// Coverage is what one rule grants on one known resource.
type Coverage struct {
	Resource APIResource
	Verbs    []string // the rule's verbs the resource has; all of them for "*"
	Names    []string // the rule's resourceNames; empty means every object
}

// Expand lists the known resources a rule covers, with the same matching as
// Allowed: "*" groups and resources, "*/scale" and exact "pods/exec". Verbs
// the resource does not have are dropped, so a rule whose verbs fit nothing
// on a resource does not list it. Non-resource rules expand to nothing.
func (e *Engine) Expand(rule rbacv1.PolicyRule) []Coverage {
	c := compileRule(rule)
	var out []Coverage
	for _, r := range e.resources {
		if !c.allGroups && !contains(c.groups, r.Group) {
			continue
		}
		if !c.matchesResource(r.Name(), r.Subresource) {
			continue
		}
		var verbs []string
		for _, v := range r.Verbs {
			if c.allVerbs || contains(c.verbs, v) {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) == 0 {
			continue
		}
		out = append(out, Coverage{Resource: r, Verbs: verbs, Names: rule.ResourceNames})
	}
	return out
}

// ParseResource reads a resource the way kubectl auth can-i takes it:
// "pods", "pods/exec", "deployments.apps", "deployments.apps/scale", or a
// non-resource URL starting with "/". Without a group, the core group is
// meant if it has the resource, else the one group that does.
func (e *Engine) ParseResource(arg string) (Attributes, error) {
	if strings.HasPrefix(arg, "/") {
		return Attributes{NonResourceURL: arg}, nil
	}
	arg = strings.ToLower(arg)
	full, sub, _ := strings.Cut(arg, "/")
	resource, group, hasGroup := strings.Cut(full, ".")
	if resource == "" {
		return Attributes{}, fmt.Errorf("resource %q: give a plural resource such as pods, pods/exec or deployments.apps", arg)
	}
	if v, rest, ok := strings.Cut(group, "."); ok && isVersion(v) {
		group = rest // deployments.v1.apps, as kubectl also takes it
	} else if isVersion(group) {
		group = "" // pods.v1
	}
	if hasGroup || resource == "*" {
		return Attributes{Group: group, Resource: resource, Subresource: sub}, nil
	}
	groups := e.groupsOf(resource)
	if len(groups) == 0 {
		for _, plural := range []string{resource + "s", resource + "es", strings.TrimSuffix(resource, "y") + "ies"} {
			if len(e.groupsOf(plural)) > 0 {
				return Attributes{}, fmt.Errorf("resource %q is not known; did you mean %s? (resources are plural)", resource, plural)
			}
		}
		return Attributes{}, fmt.Errorf("resource %q is not known; for a custom resource give RESOURCE.GROUP, e.g. %s.example.com", resource, resource)
	}
	switch {
	case slices.Contains(groups, ""):
		return Attributes{Resource: resource, Subresource: sub}, nil
	case len(groups) > 1:
		return Attributes{}, fmt.Errorf("resource %q exists in groups %s; say which, e.g. %s.%s", resource, strings.Join(groups, ", "), resource, groups[0])
	}
	return Attributes{Group: groups[0], Resource: resource, Subresource: sub}, nil
}

func (e *Engine) groupsOf(resource string) []string {
	var groups []string
	for _, r := range e.resources {
		if r.Resource == resource && r.Subresource == "" && !slices.Contains(groups, r.Group) {
			groups = append(groups, r.Group)
		}
	}
	return groups
}

// isVersion reports whether s looks like an API version: v1, v2beta1.
func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	return !strings.ContainsAny(s, ".-")
}

// ParseSubject reads a subject as the who-can and can verbs take it:
// "system:serviceaccount:NS:NAME", "serviceaccount:NS/NAME", "user:NAME" or
// "group:NAME", and returns the identity a real request of it carries.
func ParseSubject(arg string) (Subject, UserInfo, error) {
	s, ok := parseSubject(arg)
	if !ok {
		return Subject{}, UserInfo{}, fmt.Errorf("subject %q: write system:serviceaccount:NAMESPACE:NAME, serviceaccount:NAMESPACE/NAME, user:NAME or group:NAME", arg)
	}
	return s, s.RequestUser(), nil
}

func parseSubject(arg string) (Subject, bool) {
	kind, rest, ok := strings.Cut(arg, ":")
	switch {
	case strings.HasPrefix(arg, saUserPrefix):
		ns, name, ok := strings.Cut(strings.TrimPrefix(arg, saUserPrefix), ":")
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, ok && ns != "" && name != ""
	case ok && strings.EqualFold(kind, "serviceaccount"):
		ns, name, ok := strings.Cut(rest, "/")
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, ok && ns != "" && name != ""
	case ok && strings.EqualFold(kind, "user") && strings.HasPrefix(rest, saUserPrefix):
		return parseSubject(rest) // a ServiceAccount's user name carries its groups
	case ok && strings.EqualFold(kind, "user"):
		return Subject{Kind: rbacv1.UserKind, Name: rest}, rest != ""
	case ok && strings.EqualFold(kind, "group"):
		return Subject{Kind: rbacv1.GroupKind, Name: rest}, rest != ""
	}
	return Subject{}, false
}

// Namespaced reports whether the engine's resource list has the resource
// (group "" is the core group), and whether it is namespaced.
func (e *Engine) Namespaced(group, resource string) (namespaced, known bool) {
	for _, r := range e.resources {
		if r.Group == group && r.Resource == resource && r.Subresource == "" {
			return r.Namespaced, true
		}
	}
	return false, false
}
