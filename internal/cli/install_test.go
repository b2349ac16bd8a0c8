package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// objectsOf parses a YAML stream into objects keyed by kind/namespace/name.
func objectsOf(t *testing.T, b []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var obj map[string]any
		if err := d.Decode(&obj); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		j, _ := json.Marshal(obj)
		u := unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.Object
	}
}

func TestInstallPrintIsKubectlKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if _, ci := os.LookupEnv("CI"); ci {
			t.Fatalf("kubectl is not on the PATH: %v", err)
		}
		t.Skipf("kubectl is not on the PATH: %v", err)
	}
	want, err := exec.Command(kubectl, "kustomize", "../../config/default").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v", err)
	}
	out, errOut, code := run(t, "", "install", "--print")
	if code != ExitOK {
		t.Fatalf("install --print: exit %d: %s", code, errOut)
	}
	got, wantObjs := objectsOf(t, []byte(out)), objectsOf(t, want)
	if len(wantObjs) == 0 || !reflect.DeepEqual(got, wantObjs) {
		t.Errorf("install --print and kubectl kustomize config/default differ:\n%s\n---\n%s", out, want)
	}
}

func TestInstallInvalidFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "--dry-run=client"}, "use --print"},
		{[]string{"install", "--dry-run=all"}, "--dry-run must be none or server"},
		{[]string{"install", "--print", "--dry-run=server"}, "exclude each other"},
		{[]string{"install", "extra"}, "unknown command"},
		{[]string{"install", "--print", "--image", ":v1"}, "has no name"},
	} {
		_, errOut, code := run(t, "", c.args...)
		if code == ExitOK || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want a failure saying %q", c.args, code, errOut, c.want)
		}
	}
}
