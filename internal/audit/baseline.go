package audit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rbacDefaults is the bootstrap RBAC policy of a fresh API server of the
// version bulkhead builds (hack/baseline.sh regenerates it). Objects that
// still equal it are the cluster's own baseline, not findings.
//
//go:embed baseline/rbac-defaults.json
var rbacDefaults []byte

type baselineObject struct {
	Kind            string                  `json:"kind"`
	Name            string                  `json:"name"`
	Namespace       string                  `json:"namespace"`
	Labels          map[string]string       `json:"labels,omitempty"`
	Rules           []rbacv1.PolicyRule     `json:"rules,omitempty"`
	AggregationRule *rbacv1.AggregationRule `json:"aggregationRule,omitempty"`
	RoleRef         *rbacv1.RoleRef         `json:"roleRef,omitempty"`
	Subjects        []rbacv1.Subject        `json:"subjects,omitempty"`
}

// baseline answers "is this object the untouched bootstrap policy?".
type baseline struct {
	version string
	objects map[string]baselineObject // by objectKey
}

// loadBaseline parses the embedded policy once per process.
var loadBaseline = sync.OnceValues(parseBaseline)

func parseBaseline() (*baseline, error) {
	var doc struct {
		Version string           `json:"version"`
		Items   []baselineObject `json:"items"`
	}
	if err := json.Unmarshal(rbacDefaults, &doc); err != nil {
		return nil, fmt.Errorf("reading the embedded bootstrap policy: %w", err)
	}
	b := &baseline{version: doc.Version, objects: make(map[string]baselineObject, len(doc.Items))}
	for _, o := range doc.Items {
		b.objects[objectKey(o.Kind, o.Namespace, o.Name)] = o
	}
	return b, nil
}

// role reports whether a Role or ClusterRole is bootstrap policy, unchanged.
// An aggregated ClusterRole is compared by its selectors: its rules are
// whatever the selected roles hold, and those are judged on their own.
func (b *baseline) role(kind, namespace, name string, rules []rbacv1.PolicyRule, agg *rbacv1.AggregationRule) bool {
	o, ok := b.objects[objectKey(kind, namespace, name)]
	if !ok {
		return false
	}
	if o.AggregationRule != nil || agg != nil {
		return equalJSON(o.AggregationRule, agg)
	}
	return equalJSON(o.Rules, rules)
}

// binding reports whether a RoleBinding or ClusterRoleBinding is bootstrap
// policy, unchanged: same role, same subjects.
func (b *baseline) binding(kind, namespace, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) bool {
	o, ok := b.objects[objectKey(kind, namespace, name)]
	return ok && o.RoleRef != nil && *o.RoleRef == ref && equalJSON(o.Subjects, subjects)
}

// has reports whether the bootstrap policy defines the object at all.
func (b *baseline) has(kind, namespace, name string) bool {
	_, ok := b.objects[objectKey(kind, namespace, name)]
	return ok
}

// equalJSON compares through JSON so that nil and empty lists agree, as
// they do on the wire.
func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == "null" || string(ja) == "[]" {
		ja = nil
	}
	if string(jb) == "null" || string(jb) == "[]" {
		jb = nil
	}
	return reflect.DeepEqual(ja, jb)
}

// addTo puts the bootstrap objects snap does not define into it: manifests
// land on a cluster that has them, and bindings to the built-in edit or view
// must resolve as they will there.
func (b *baseline) addTo(snap *Snapshot) {
	defined := map[string]bool{}
	for _, r := range snap.ClusterRoles {
		defined[objectKey("ClusterRole", "", r.Name)] = true
	}
	for _, r := range snap.ClusterRoleBindings {
		defined[objectKey("ClusterRoleBinding", "", r.Name)] = true
	}
	for _, r := range snap.Roles {
		defined[objectKey("Role", r.Namespace, r.Name)] = true
	}
	for _, r := range snap.RoleBindings {
		defined[objectKey("RoleBinding", r.Namespace, r.Name)] = true
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if defined[k] {
			continue
		}
		o := b.objects[k]
		meta := metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: o.Labels}
		switch o.Kind {
		case "ClusterRole":
			snap.ClusterRoles = append(snap.ClusterRoles, rbacv1.ClusterRole{ObjectMeta: meta, Rules: o.Rules, AggregationRule: o.AggregationRule})
		case "ClusterRoleBinding":
			snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: *o.RoleRef, Subjects: o.Subjects})
		case "Role":
			snap.Roles = append(snap.Roles, rbacv1.Role{ObjectMeta: meta, Rules: o.Rules})
		case "RoleBinding":
			snap.RoleBindings = append(snap.RoleBindings, rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: *o.RoleRef, Subjects: o.Subjects})
		}
	}
}
