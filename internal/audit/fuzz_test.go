package audit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// FuzzParseFiles feeds the manifest reader arbitrary streams: it must never
// panic, and what it accepts must be auditable and hold no Secret data.
// Seeds: the procedure fixtures, plus testdata/fuzz/FuzzParseFiles.
func FuzzParseFiles(f *testing.F) {
	for _, name := range []string{"bob.yaml", "alice.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "procedure", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"))
	f.Add([]byte(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"x"},` +
		`"roleRef":{"kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"Group","name":"system:authenticated"}]}`))
	f.Add([]byte("apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: t}\n---\napiVersion: v1\nkind: Secret\n" +
		"type: kubernetes.io/service-account-token\nmetadata: {name: s, namespace: t}\ndata: {token: c2VjcmV0}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, _, err := ParseFiles([]spec.File{{Name: "fuzz.yaml", Data: data}})
		if err != nil {
			var errs *spec.Errors
			if !errors.As(err, &errs) || len(*errs) == 0 {
				t.Fatalf("error of type %T, want one listing problems (*spec.Errors): %v", err, err)
			}
			return
		}
		for _, s := range snap.Secrets {
			if len(s.Data) > 0 || len(s.StringData) > 0 {
				t.Fatalf("Secret %s/%s kept its data", s.Namespace, s.Name)
			}
		}
		tenants, err := Tenants(snap, TenantOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(snap, tenants); err != nil {
			t.Fatal(err)
		}
	})
}
