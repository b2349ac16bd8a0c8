package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// guardrails is the spec of the TenantDefaults document: every guardrail
// bulkhead renders (GPU quota, container limits, baseline Pod Security,
// isolated network), so each tenant becomes its namespace, ServiceAccount,
// Role(s) and RoleBinding plus a ResourceQuota, a LimitRange and a
// NetworkPolicy (7-9 objects, depending on the render). gpuResource is
// bulkhead's default, stated because a binary that reads guardrails only
// inline does not default it.
const guardrails = `quota: {gpus: 1, gpuResource: nvidia.com/gpu, cpu: "8", memory: 32Gi}
limits:
  defaultRequest: {cpu: 500m, memory: 1Gi}
  default: {cpu: "1", memory: 2Gi}
  max: {cpu: "8", memory: 32Gi}
podSecurity: baseline
network: {mode: isolated}
`

// Spec forms: the guardrails stated once in a TenantDefaults document, or
// (for a binary that does not read TenantDefaults yet) written into every
// Tenant. Both render the same objects.
const (
	formDefaults = "TenantDefaults"
	formInline   = "inline guardrails"
)

// writeSpec writes n tenants named prefix-0001... to path.
func writeSpec(path, prefix string, n int, form string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if form == formDefaults {
		fmt.Fprintf(w, "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata:\n  name: bench\nspec:\n%s", indent(guardrails))
	}
	for i := 1; i <= n; i++ {
		if i > 1 || form == formDefaults {
			fmt.Fprintln(w, "---")
		}
		fmt.Fprintf(w, "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: %s-%04d\n", prefix, i)
		if form == formDefaults {
			fmt.Fprintf(w, "spec:\n  defaults: bench\n")
		}
		if form == formInline {
			fmt.Fprintf(w, "spec:\n%s", indent(guardrails))
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// specForm asks the binary which form it reads: TenantDefaults if `render`
// accepts a one-tenant spec with it, inline guardrails if it rejects the
// kind, an error for anything else.
func specForm(ctx context.Context, bin, dir string) (string, error) {
	path := filepath.Join(dir, "probe.yaml")
	if err := writeSpec(path, "probe", 1, formDefaults); err != nil {
		return "", err
	}
	res, err := timed(ctx, "render probe", filepath.Join(dir, "probe.out"), bin, "render", "-f", path)
	if err == nil {
		return formDefaults, nil
	}
	if strings.Contains(res.stderr, "TenantDefaults") {
		return formInline, nil
	}
	return "", err
}
