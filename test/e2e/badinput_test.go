package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// neighbour is a valid tenant put beside each bad input: it must not be
// applied either. It asks for no GPU cap, so the end of the test also
// shows that unlimitedGPUs renders a quota without a GPU line.
const neighbour = `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: badinput-neighbour
spec:
  quota:
    unlimitedGPUs: true
`

// TestApplyRefusesBadInput runs the bad-input corpus (the fixtures of
// internal/spec/testdata/bad-input.golden) through `bulkhead apply -f`,
// each beside a valid tenant, once as a directory of two files and once as
// one file with the valid tenant after the bad document. Every run must
// exit 2, print exactly the fixture's one problem, and write nothing: no
// namespace managed by bulkhead appears.
func TestApplyRefusesBadInput(t *testing.T) {
	cases := readGolden(t, filepath.Join(e2e.root, "internal/spec/testdata/bad-input.golden"))
	if len(cases) < 30 {
		t.Fatalf("the corpus has %d cases, want at least 30", len(cases))
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(e2e.root, "internal/spec/testdata/invalid", name))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			// "zz-" sorts the valid tenant after the bad file, so the
			// directory is read in the same order as the single file.
			write(t, filepath.Join(dir, name), string(data))
			write(t, filepath.Join(dir, "zz-neighbour.yaml"), neighbour)
			single := filepath.Join(t.TempDir(), name)
			write(t, single, strings.TrimRight(string(data), "\n")+"\n---\n"+neighbour)

			for _, run := range []struct {
				arg, file string // arg is passed to -f; file is named in the message
			}{
				{dir, filepath.Join(dir, name)},
				{single, single},
			} {
				before := managedNamespaces(t)
				r := bulkhead(t, "", "apply", "-f", run.arg)
				want := "error: 1 problem in the tenant spec:\n  " + strings.ReplaceAll(cases[name], "{dir}", filepath.Dir(run.file)) + "\n"
				if r.code != 2 || r.stderr != want {
					t.Errorf("apply -f %s: want exit 2 and stderr\n%s\ngot %s", run.arg, want, r)
				}
				if r.stdout != "" {
					t.Errorf("apply -f %s printed output, as if it applied something:\n%s", run.arg, r.stdout)
				}
				if after := managedNamespaces(t); !slices.Equal(before, after) {
					t.Errorf("apply -f %s wrote to the cluster: managed namespaces were %v, now %v", run.arg, before, after)
				}
			}
		})
	}
	if t.Failed() {
		return
	}

	// The neighbour is valid on its own: the runs above failed for the bad
	// input alone, and the namespace check sees what apply creates.
	file := filepath.Join(t.TempDir(), "neighbour.yaml")
	write(t, file, neighbour)
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().Namespaces().Delete(t.Context(), "badinput-neighbour", metav1.DeleteOptions{})
	})
	must(t, bulkhead(t, "", "apply", "-f", file), 0)
	if !slices.Contains(managedNamespaces(t), "badinput-neighbour") {
		t.Fatalf("the neighbour's namespace is not among the managed namespaces %v", managedNamespaces(t))
	}
	q, err := e2e.client.CoreV1().ResourceQuotas("badinput-neighbour").Get(t.Context(), v1alpha1.GuardrailName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := q.Spec.Hard[corev1.ResourceName("requests.nvidia.com/gpu")]; ok {
		t.Errorf("unlimitedGPUs: the quota caps GPUs at %s", v.String())
	}
	if _, ok := q.Spec.Hard[corev1.ResourceRequestsCPU]; !ok {
		t.Errorf("the quota lost its other caps: %v", q.Spec.Hard)
	}
}

// readGolden parses the corpus: fixture name -> its problem, "{dir}/name:
// line: field: detail", {dir} standing for the fixture's directory.
func readGolden(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "{dir}/"), ":")
		out[name] = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// managedNamespaces lists the namespaces bulkhead manages, sorted.
func managedNamespaces(t *testing.T) []string {
	t.Helper()
	list, err := e2e.client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return out
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
