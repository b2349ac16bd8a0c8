package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// decodeAll parses a YAML stream into objects keyed by kind/namespace/name.
func decodeAll(t *testing.T, b []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var obj map[string]any
		err := d.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		// Through unstructured's JSON decoding, so numbers are int64.
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		u := unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.Object
	}
}

func TestRenderIsKubectlKustomize(t *testing.T) {
	m, err := Render(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := decodeAll(t, kubectl(t, nil, "kustomize", "../../config/default"))
	got := decodeAll(t, m.YAML)
	if len(want) == 0 {
		t.Fatal("kubectl kustomize rendered nothing")
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("install does not render %s", k)
		}
	}
	for k, obj := range got {
		if !reflect.DeepEqual(obj, want[k]) {
			t.Errorf("%s differs from kubectl kustomize:\ngot  %v\nwant %v", k, obj, want[k])
		}
	}
	if len(m.Objects) != len(got) {
		t.Errorf("%d objects, but the YAML holds %d", len(m.Objects), len(got))
	}
}

func TestRenderImage(t *testing.T) {
	cases := []struct{ image, want, wantErr string }{
		{"", "ghcr.io/bulkhead-dev/bulkhead:latest", ""},
		{"registry.example.com/bulkhead:v0.2.0", "registry.example.com/bulkhead:v0.2.0", ""},
		{"localhost:5000/bulkhead", "localhost:5000/bulkhead", ""},
		{"bulkhead@sha256:" + strings.Repeat("ab", 32), "bulkhead@sha256:" + strings.Repeat("ab", 32), ""},
		{":v1", "", "has no name"},
	}
	for _, c := range cases {
		m, err := Render(Options{Image: c.image})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("image %q: error %v, want %q", c.image, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("image %q: %v", c.image, err)
			continue
		}
		var images []string
		for _, u := range m.Objects {
			if u.GetKind() != "Deployment" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				images = append(images, c.(map[string]any)["image"].(string))
			}
		}
		if !reflect.DeepEqual(images, []string{c.want}) {
			t.Errorf("image %q: the Deployment runs %v, want %s", c.image, images, c.want)
		}
	}
}

// The controller's pod meets the restricted Pod Security level of its
// namespace, and the Deployment is what the README promises.
func TestRenderedDeployment(t *testing.T) {
	m, err := Render(Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, m.YAML)
	ns := objs["Namespace//bulkhead-system"]
	if got, _, _ := unstructured.NestedString(ns, "metadata", "labels", "pod-security.kubernetes.io/enforce"); got != "restricted" {
		t.Errorf("namespace bulkhead-system enforces %q, want restricted", got)
	}
	d := objs["Deployment/bulkhead-system/bulkhead-controller"]
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"spec", "replicas"}, int64(2)},
		{[]string{"spec", "template", "spec", "serviceAccountName"}, "bulkhead-controller"},
		{[]string{"spec", "template", "spec", "securityContext", "runAsNonRoot"}, true},
		{[]string{"spec", "template", "spec", "securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
	}
	for _, c := range checks {
		got, _, _ := unstructured.NestedFieldNoCopy(d, c.path...)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Deployment %s: %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	cs, _, _ := unstructured.NestedSlice(d, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	c := cs[0].(map[string]any)
	for path, want := range map[string]any{
		"securityContext.allowPrivilegeEscalation": false,
		"securityContext.readOnlyRootFilesystem":   true,
		"securityContext.capabilities.drop":        []any{"ALL"},
		"livenessProbe.httpGet.path":               "/healthz",
		"readinessProbe.httpGet.path":              "/readyz",
		"env":                                      []any{map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}}},
		"args":                                     []any{"controller", "--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"},
	} {
		got, _, _ := unstructured.NestedFieldNoCopy(c, strings.Split(path, ".")...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("container %s: %v, want %v", path, got, want)
		}
	}
	if got, _, _ := unstructured.NestedFieldNoCopy(objs["PodDisruptionBudget/bulkhead-system/bulkhead-controller"], "spec", "minAvailable"); got != int64(1) {
		t.Errorf("PodDisruptionBudget minAvailable %v, want 1", got)
	}
}
