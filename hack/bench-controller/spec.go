package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// guardrails is hack/bench's TenantDefaults spec: every guardrail bulkhead
// renders, so each tenant becomes its namespace, ServiceAccount, Role(s)
// and RoleBinding plus a ResourceQuota, a LimitRange and a NetworkPolicy.
const guardrails = `quota: {gpus: 1, gpuResource: nvidia.com/gpu, cpu: "8", memory: 32Gi}
limits:
  defaultRequest: {cpu: 500m, memory: 1Gi}
  default: {cpu: "1", memory: 2Gi}
  max: {cpu: "8", memory: 32Gi}
podSecurity: baseline
network: {mode: isolated}
`

// writeSpec writes a TenantDefaults "bench" and n tenants named
// prefix-0001... that reference it, as hack/bench does.
func writeSpec(path, prefix string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata:\n  name: bench\nspec:\n%s", indent(guardrails))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: %s\nspec:\n  defaults: bench\n", tenantName(prefix, i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func tenantName(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// readSpec decodes the spec file into the objects the controller reads:
// the same file bulkhead apply took, as a user would kubectl apply it.
func readSpec(path string, scheme *runtime.Scheme) ([]client.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []client.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, len(out)+1, err)
		}
		o, ok := obj.(client.Object)
		if !ok {
			return nil, fmt.Errorf("%s: document %d: %T is not an object", path, len(out)+1, obj)
		}
		out = append(out, o)
	}
}
