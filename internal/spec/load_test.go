package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

func sa(name string, role v1alpha1.RoleName) v1alpha1.Member {
	return v1alpha1.Member{Name: name, Kind: v1alpha1.ServiceAccountMember, Role: role}
}

// summary is what the tests compare of a loaded tenant.
type summary struct {
	source    string
	name      string
	namespace string
	members   []v1alpha1.Member
}

func summarize(tenants []Tenant) []summary {
	out := make([]summary, 0, len(tenants))
	for _, t := range tenants {
		out = append(out, summary{t.Source.String(), t.Name, t.Spec.Namespace, t.Spec.Members})
	}
	return out
}

func mustLoad(t *testing.T, paths []string, stdin string) []Tenant {
	t.Helper()
	tenants, err := Load(paths, strings.NewReader(stdin))
	if err != nil {
		t.Fatalf("Load(%q): %v", paths, err)
	}
	return tenants
}

func TestLoadDirectory(t *testing.T) {
	got := summarize(mustLoad(t, []string{"testdata/valid"}, ""))
	// Lexical order, recursing into nested/; the hidden .ignored.yaml (which
	// is broken) and nested/README.md are not read. gpu-lab.yaml holds a
	// TenantDefaults besides its tenant.
	want := []summary{
		{"testdata/valid/01-minimal.yaml:2", "bob", "bob", []v1alpha1.Member{sa("bob-user", v1alpha1.EditRole)}},
		{"testdata/valid/02-multi-doc.yaml:3", "alice", "alice-dev", []v1alpha1.Member{sa("alice-user", v1alpha1.EditRole)}},
		{"testdata/valid/02-multi-doc.yaml:13", "carol", "carol", []v1alpha1.Member{
			sa("carol-ci", v1alpha1.EditRole), sa("carol-dashboard", v1alpha1.ViewRole)}},
		{"testdata/valid/03-team.yml:3", "payments", "team-payments", []v1alpha1.Member{
			{Name: "dana@example.com", Kind: v1alpha1.UserMember, Role: v1alpha1.EditRole},
			{Name: "oidc:payments-oncall", Kind: v1alpha1.GroupMember, Role: v1alpha1.EditRole},
			{Name: "auditors", Kind: v1alpha1.GroupMember, Role: v1alpha1.ViewRole},
			sa("payments-deployer", v1alpha1.EditRole)}},
		{"testdata/valid/gpu-lab.yaml:14", "vision", "vision", []v1alpha1.Member{{Name: "lead", Kind: v1alpha1.UserMember, Role: v1alpha1.AdminRole}}},
		{"testdata/valid/nested/deeper/ml.yml:2", "ml", "ml", []v1alpha1.Member{sa("trainer", v1alpha1.ViewRole)}},
		{"testdata/valid/nested/search.yaml:1", "search", "search-prod", []v1alpha1.Member{
			sa("indexer", v1alpha1.EditRole), {Name: "search-admins", Kind: v1alpha1.GroupMember, Role: v1alpha1.EditRole}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", got, want)
	}
}

// TestDefaultsApplyToTenantsThatNameThem: the TenantDefaults in gpu-lab.yaml
// applies to the tenants that name it, wherever it is read, and to no other.
func TestDefaultsApplyToTenantsThatNameThem(t *testing.T) {
	in, err := LoadAll([]string{"testdata/valid"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Defaults) != 1 || in.Defaults[0].Source.String() != "testdata/valid/gpu-lab.yaml:1" {
		t.Fatalf("defaults %v", in.Defaults)
	}
	inheriting := 0
	for _, tn := range in.Tenants {
		got := tn.Spec.PodSecurity == v1alpha1.PodSecurityRestricted && len(tn.Spec.Network.AllowFrom) == 2
		if want := tn.Spec.Defaults == "gpu-lab"; got != want {
			t.Errorf("%s (%s) names defaults %q, inherited them: %v", tn.Name, tn.Source, tn.Spec.Defaults, got)
		}
		if got {
			inheriting++
		}
		if missing := incomplete(tn.Spec.Guardrails); missing != "" {
			t.Errorf("guardrails of %s lack %s", tn.Name, missing)
		}
	}
	if inheriting == 0 {
		t.Error("no tenant inherited gpu-lab")
	}
}

func TestLoadKeepsMetadata(t *testing.T) {
	tenants := mustLoad(t, []string{"testdata/valid/02-multi-doc.yaml"}, "")
	carol := tenants[1]
	if carol.Labels["cost-center"] != "4711" || carol.Annotations["bulkhead.dev/owner"] != "carol@example.com" {
		t.Errorf("labels %v, annotations %v", carol.Labels, carol.Annotations)
	}
	if carol.APIVersion != "bulkhead.dev/v1alpha1" || carol.Kind != "Tenant" {
		t.Errorf("type meta %+v", carol.TypeMeta)
	}
}

func TestLoadFilesInArgumentOrder(t *testing.T) {
	got := summarize(mustLoad(t, []string{"testdata/valid/nested/search.yaml", "testdata/valid/01-minimal.yaml"}, ""))
	if len(got) != 2 || got[0].name != "search" || got[1].name != "bob" {
		t.Errorf("got %+v, want search then bob", got)
	}
}

func TestLoadStdin(t *testing.T) {
	const doc = "# from a pipe\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: piped}\n"
	tenants := mustLoad(t, []string{"testdata/valid/01-minimal.yaml", "-"}, doc)
	if len(tenants) != 2 || tenants[1].Name != "piped" || tenants[1].Source.String() != "<stdin>:2" {
		t.Fatalf("got %+v", summarize(tenants))
	}

	_, err := Load([]string{"-"}, strings.NewReader("apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: Piped}\n"))
	if errs := problems(t, err); errs[0].File != StdinName || errs[0].Line != 3 {
		t.Errorf("stdin problem reported as %v", errs[0])
	}

	_, err = Load([]string{"-", "-"}, strings.NewReader(doc))
	if !strings.Contains(err.Error(), "given more than once") {
		t.Errorf("stdin twice: %v", err)
	}
	_, err = Load([]string{"-"}, nil)
	if !strings.Contains(err.Error(), "<stdin>: standard input (-) is not available") {
		t.Errorf("no stdin: %v", err)
	}
}

// TestLoadIsAllOrNothing: one bad file means no tenants at all, so that a
// caller cannot apply half a spec.
func TestLoadIsAllOrNothing(t *testing.T) {
	tenants, err := Load([]string{"testdata/valid/01-minimal.yaml", "testdata/invalid/bad-name.yaml"}, nil)
	if tenants != nil {
		t.Errorf("got %d tenants, want none", len(tenants))
	}
	if errs := problems(t, err); len(errs) != 1 || errs[0].File != "testdata/invalid/bad-name.yaml" {
		t.Errorf("got %v", err)
	}
}

func TestLoadConflictsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: bob\n")
	write(t, dir, "b.yaml", "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: bob\n")
	_, err := Load([]string{dir}, nil)
	errs := problems(t, err)
	want := filepath.Join(dir, "b.yaml") + `:4: metadata.name: Duplicate value: "bob"; tenant "bob" is already defined at ` +
		filepath.Join(dir, "a.yaml") + ":4"
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLoadPathProblems(t *testing.T) {
	empty := t.TempDir()
	write(t, empty, "notes.txt", "not a spec")
	write(t, empty, ".hidden.yaml", "apiVersion: bulkhead.dev/v1alpha1\n")
	cases := []struct {
		paths []string
		want  string
	}{
		{nil, "no input given"},
		{[]string{"testdata/does-not-exist.yaml"}, "testdata/does-not-exist.yaml: no such file or directory"},
		{[]string{empty}, empty + ": directory holds no *.yaml or *.yml files"},
	}
	for _, tc := range cases {
		tenants, err := Load(tc.paths, nil)
		if tenants != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %d tenants, %v; want an error with %q", tc.paths, len(tenants), err, tc.want)
		}
	}
}

func TestLoadReportsEveryPath(t *testing.T) {
	_, err := Load([]string{"missing-1.yaml", "testdata/invalid/bad-name.yaml", "missing-2.yaml"}, nil)
	errs := problems(t, err)
	var files []string
	for _, e := range errs {
		files = append(files, e.File)
	}
	want := []string{"missing-1.yaml", "testdata/invalid/bad-name.yaml", "missing-2.yaml"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("problems in %q, want %q (input order)", files, want)
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // tenant names
	}{
		{"lone marker", "---\n" + minimal("a"), []string{"a"}},
		{"trailing markers", minimal("a") + "---\n---\n", []string{"a"}},
		{"comment after marker", "--- # first\n" + minimal("a") + "--- # second\n" + minimal("b"), []string{"a", "b"}},
		{"content on marker line", "--- {apiVersion: bulkhead.dev/v1alpha1, kind: Tenant, metadata: {name: a}}\n", []string{"a"}},
		{"end marker", minimal("a") + "...\n---\n" + minimal("b"), []string{"a", "b"}},
		{"null document", "--- null\n---\n" + minimal("a"), []string{"a"}},
		{"CRLF", strings.ReplaceAll("---\r\n"+minimal("a")+"---\r\n"+minimal("b"), "\n", "\r\n"), []string{"a", "b"}},
		{"block scalar with dashes", minimal("a") + "  annotations:\n    note: |\n      ---- not a marker\n       ---\n", []string{"a"}},
		{"aliases", "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: &n a}\nspec:\n  members: [{name: *n}]\n", []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenants, err := Parse("in.yaml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tn := range tenants {
				names = append(names, tn.Name)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("got tenants %q, want %q", names, tc.want)
			}
		})
	}
}

func TestParseLinesAfterEarlierDocuments(t *testing.T) {
	src := minimal("a") + "---\n# comment\n\n" + minimal("B")
	_, err := Parse("in.yaml", []byte(src))
	errs := problems(t, err)
	if len(errs) != 1 || errs[0].Line != 11 || errs[0].Field != "metadata.name" {
		t.Errorf("got %v, want in.yaml:11: metadata.name", err)
	}
}

func minimal(name string) string {
	return "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: " + name + "\n"
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
