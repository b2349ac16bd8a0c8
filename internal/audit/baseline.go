package audit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
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
