package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The SARIF 2.1.0 schema (OASIS, errata01), vendored from
// github.com/oasis-tcs/sarif-spec sarif-2.1/schema/sarif-schema-2.1.0.json.
const sarifSchemaFile = "testdata/sarif/sarif-schema-2.1.0.json"

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	return s
}

// sarifOf writes r as SARIF, validates it against the schema and decodes it.
func sarifOf(t *testing.T, schema *jsonschema.Schema, r *Report) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, r, SARIFOptions{ToolVersion: "v0.0.0-test"}); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF output does not validate against SARIF 2.1.0: %v\n%s", err, buf.String())
	}
	var log map[string]any
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	return log
}

// path walks decoded JSON: path(v, "runs", 0, "results").
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func procedureReport(t *testing.T) (*Report, *Snapshot) {
	t.Helper()
	snap, _, err := ReadFiles([]string{"testdata/procedure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mustAudit(t, snap, TenantOptions{}), snap
}

func TestSARIFFromManifestsValidatesAndLocatesLines(t *testing.T) {
	schema := sarifSchema(t)
	r, snap := procedureReport(t)
	log := sarifOf(t, schema, r)
	if path(log, "version") != "2.1.0" {
		t.Errorf("version = %v", path(log, "version"))
	}
	rules, _ := path(log, "runs", 0, "tool", "driver", "rules").([]any)
	ruleIdx := map[string]int{}
	for i, rl := range rules {
		id := path(rl, "id").(string)
		ruleIdx[id] = i
		for _, field := range []string{"name", "shortDescription", "fullDescription", "help"} {
			if path(rl, field) == nil {
				t.Errorf("rule %s has no %s", id, field)
			}
		}
		if path(rl, "properties", "security-severity") == nil || path(rl, "defaultConfiguration", "level") == nil {
			t.Errorf("rule %s lacks a severity: %v", id, rl)
		}
	}
	if got := path(rules[ruleIdx["cross-tenant-access"]], "properties", "security-severity"); got != "9.5" {
		t.Errorf("cross-tenant-access security-severity = %v, want 9.5", got)
	}
	if got := path(rules[ruleIdx["no-quota"]], "defaultConfiguration", "level"); got != "warning" {
		t.Errorf("no-quota level = %v, want warning", got)
	}
	results, _ := path(log, "runs", 0, "results").([]any)
	if len(results) != len(r.Findings) {
		t.Fatalf("%d results for %d findings", len(results), len(r.Findings))
	}
	for i, res := range results {
		f := r.Findings[i]
		if path(res, "ruleId") != f.Rule || int(path(res, "ruleIndex").(float64)) != ruleIdx[f.Rule] {
			t.Errorf("result %d: ruleId %v index %v, want %s at %d", i, path(res, "ruleId"), path(res, "ruleIndex"), f.Rule, ruleIdx[f.Rule])
		}
		wantLevel := map[Severity]string{Critical: "error", High: "error", Medium: "warning", Low: "note"}[f.Severity]
		if path(res, "level") != wantLevel {
			t.Errorf("%s: level %v, want %s", f.Rule, path(res, "level"), wantLevel)
		}
		msg, _ := path(res, "message", "text").(string)
		if !strings.Contains(msg, f.Message) || !strings.Contains(msg, f.Fix) {
			t.Errorf("%s: message lacks the finding's message or fix: %q", f.Rule, msg)
		}
		if path(res, "partialFingerprints", fingerprintKey) != Fingerprint(f) {
			t.Errorf("%s: fingerprint %v", f.Rule, path(res, "partialFingerprints"))
		}
		if path(res, "baselineState") != nil || path(res, "suppressions") != nil {
			t.Errorf("%s: baselineState or suppressions without --baseline/--ignore-file", f.Rule)
		}
	}
	// Every located object's file and line is the one Snapshot.Origins has.
	var misplaced map[string]any
	for i, f := range r.Findings {
		if f.Rule == "misplaced-role" {
			misplaced, _ = results[i].(map[string]any)
		}
	}
	if misplaced == nil {
		t.Fatal("no misplaced-role finding in the procedure's manifests")
	}
	origin := snap.Origins["Role bob/alice-user-full-access"] // testdata/procedure/alice.yaml:14
	file, line, _ := manifestLine(origin)
	loc := path(misplaced, "locations", 0, "physicalLocation")
	if path(loc, "artifactLocation", "uri") != filepath.ToSlash(file) || int(path(loc, "region", "startLine").(float64)) != line {
		t.Errorf("misplaced-role located at %v, want %s line %d", loc, file, line)
	}
	if path(misplaced, "locations", 0, "logicalLocations", 0, "fullyQualifiedName") != "Role bob/alice-user-full-access" {
		t.Errorf("logical location %v", path(misplaced, "locations", 0, "logicalLocations"))
	}
	binding := snap.Origins["RoleBinding alice/alice-user-full-access"]
	_, bline, _ := manifestLine(binding)
	if got := path(misplaced, "relatedLocations", 0, "physicalLocation", "region", "startLine"); got != float64(bline) {
		t.Errorf("related location line %v, want %d (%s)", got, bline, binding)
	}
}

func TestSARIFFromClusterHasLogicalLocationsOnly(t *testing.T) {
	r, _ := procedureReport(t)
	for i := range r.Findings { // as ReadCluster leaves them: no origins
		for j, o := range r.Findings[i].Objects {
			r.Findings[i].Objects[j], _, _ = splitLocation(o)
		}
	}
	log := sarifOf(t, sarifSchema(t), r)
	results, _ := path(log, "runs", 0, "results").([]any)
	for _, res := range results {
		if path(res, "locations", 0, "physicalLocation") != nil {
			t.Errorf("a cluster finding has a file: %v", path(res, "locations"))
		}
		if name, _ := path(res, "locations", 0, "logicalLocations", 0, "name").(string); name == "" {
			t.Errorf("%v: no logical location", path(res, "ruleId"))
		}
	}
}

func TestSARIFBaselineAndSuppressionsValidate(t *testing.T) {
	schema := sarifSchema(t)
	base, _ := procedureReport(t)
	r, _ := procedureReport(t)
	// One finding resolved since the baseline, one new.
	gone := r.Findings[0]
	r.Findings = r.Findings[1:]
	r.Findings = append(r.Findings, Finding{Rule: "wildcard", Severity: Medium, Tenant: "alice", Namespace: "alice",
		Objects: []string{"Role alice/new (testdata/procedure/alice.yaml:99)"}, Message: "m", Fix: "f"})
	list, err := ParseSuppressions("ignore.yaml", []byte(`suppressions:
- rule: legacy-token
  object: Secret bob/bob-user-token
  reason: rotated by hand (SEC-1)
  expires: 2999-12-31
- rule: no-quota
  object: Namespace alice
  reason: quota comes with the GPU pool
  expires: 2020-01-01
`))
	if err != nil {
		t.Fatal(err)
	}
	Suppress(r, list, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	CompareBaseline(r, base, "base.json")
	log := sarifOf(t, schema, r)
	results, _ := path(log, "runs", 0, "results").([]any)
	states := map[string][]string{}
	var suppressed, expired []any
	for _, res := range results {
		st, _ := path(res, "baselineState").(string)
		if st == "" {
			t.Errorf("result %v has no baselineState (SARIF: all or none)", path(res, "ruleId"))
		}
		states[st] = append(states[st], path(res, "ruleId").(string))
		if path(res, "suppressions") != nil {
			suppressed = append(suppressed, res)
		}
		if path(res, "ruleId") == ExpiredSuppression {
			expired = append(expired, res)
		}
	}
	if !slices.Contains(states["absent"], gone.Rule) || len(states["absent"]) != 1 {
		t.Errorf("absent = %v, want [%s]", states["absent"], gone.Rule)
	}
	if !slices.Contains(states["new"], "wildcard") || !slices.Contains(states["new"], ExpiredSuppression) {
		t.Errorf("new = %v, want the new wildcard and the expired suppression", states["new"])
	}
	if len(suppressed) != 1 || path(suppressed[0], "ruleId") != "legacy-token" ||
		!strings.Contains(path(suppressed[0], "suppressions", 0, "justification").(string), "rotated by hand (SEC-1)") {
		t.Errorf("suppressed results: %v", suppressed)
	}
	if len(expired) != 1 || path(expired[0], "locations", 0, "physicalLocation", "artifactLocation", "uri") != "ignore.yaml" ||
		path(expired[0], "locations", 0, "physicalLocation", "region", "startLine") != float64(6) {
		t.Errorf("expired suppression should point at ignore.yaml:6: %v", expired)
	}
}

// TestCatalogCoversEveryRule: every rule a fixture produces has its own
// catalogue entry (help text and severity for SARIF), not the fallback.
func TestCatalogCoversEveryRule(t *testing.T) {
	dirs, err := os.ReadDir(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, d.Name())}, nil)
		if err != nil {
			continue // the fixtures of invalid input
		}
		for _, f := range mustAudit(t, snap, TenantOptions{}).Findings {
			seen[f.Rule] = true
		}
	}
	if len(seen) < 15 {
		t.Fatalf("only %d rules seen in the fixtures: %v", len(seen), seen)
	}
	for id := range seen {
		if _, ok := ruleInfo(id, nil); !ok {
			t.Errorf("rule %s is not in catalog.go: add its description, help and severity", id)
		}
	}
	ids := map[string]bool{}
	for _, r := range Rules() {
		if ids[r.ID] || r.Short == "" || r.Full == "" || r.Help == "" || r.Severity == 0 {
			t.Errorf("catalogue entry %s is duplicated or incomplete", r.ID)
		}
		ids[r.ID] = true
	}
}

func TestSARIFUnknownRuleFallsBack(t *testing.T) {
	r := &Report{Findings: []Finding{{Rule: "some-new-rule", Severity: Critical, Objects: []string{"ClusterRole x"}, Message: "m", Fix: "f"}}}
	log := sarifOf(t, sarifSchema(t), r)
	rules, _ := path(log, "runs", 0, "tool", "driver", "rules").([]any)
	last := rules[len(rules)-1]
	if path(last, "id") != "some-new-rule" || path(last, "properties", "security-severity") != "9.5" {
		t.Errorf("fallback rule %v", last)
	}
	if int(path(log, "runs", 0, "results", 0, "ruleIndex").(float64)) != len(rules)-1 {
		t.Errorf("ruleIndex does not point at the fallback rule")
	}
}

// TestSARIFSchemaRejectsWhatIsInvalid keeps the validation honest: the
// schema refuses a level SARIF does not define and a result without message.
func TestSARIFSchemaRejectsWhatIsInvalid(t *testing.T) {
	schema := sarifSchema(t)
	r, _ := procedureReport(t)
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, r, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"level":   strings.Replace(buf.String(), `"level": "error"`, `"level": "critical"`, 1),
		"message": strings.Replace(buf.String(), `"message": {`, `"msg": {`, 1),
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("the schema accepts a result with a bad %s", name)
		}
	}
}

// TestSARIFRenderedObjectsHaveNoFile: objects bulkhead renders from a
// Tenant spec exist in no file, so they get no physical location (code
// scanning would point at a file that does not exist).
func TestSARIFRenderedObjectsHaveNoFile(t *testing.T) {
	r := rtAudit(t, "tenant-spec", TenantOptions{})
	log := sarifOf(t, sarifSchema(t), r)
	rendered := 0
	for i, res := range path(log, "runs", 0, "results").([]any) {
		for _, o := range r.Findings[i].Objects {
			if strings.Contains(o, "("+renderedFrom) {
				rendered++
			}
		}
		for _, l := range append([]any{path(res, "locations", 0)}, func() []any { v, _ := path(res, "relatedLocations").([]any); return v }()...) {
			if uri, _ := path(l, "physicalLocation", "artifactLocation", "uri").(string); strings.Contains(uri, "rendered") {
				t.Errorf("%v points at %q", path(res, "ruleId"), uri)
			}
		}
	}
	if rendered == 0 {
		t.Fatal("the tenant-spec fixture has no finding on a rendered object; the test checks nothing")
	}
}
