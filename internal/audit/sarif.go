package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// SARIF 2.1.0 (OASIS), the format GitHub code scanning, GitLab and most CI
// dashboards read. Only the parts audit fills are modelled.

// SARIFVersion and SARIFSchema identify the format written.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// fingerprintKey names audit's partialFingerprints entry; the version
	// changes if Identity ever does.
	fingerprintKey = "bulkheadFinding/v1"
)

// SARIFOptions say what WriteSARIF cannot learn from the report.
type SARIFOptions struct {
	ToolVersion string // bulkhead's version, for tool.driver.version
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool      `json:"tool"`
	Results    []sarifResult  `json:"results"`
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	BaselineState       string             `json:"baselineState,omitempty"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               *int                   `json:"id,omitempty"`
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string         `json:"kind"`
	Status        string         `json:"status"`
	Justification string         `json:"justification"`
	Location      *sarifLocation `json:"location,omitempty"`
}

// sarifLevel maps a severity to SARIF's level: what fails a build is an
// error, what deserves a look a warning, the rest a note.
func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s == Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the 0–10 score GitHub code scanning reads from
// properties.security-severity: above 9 critical, 7–8.9 high, 4–6.9
// medium, below low.
func securitySeverity(s Severity) string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	}
	return "3.0"
}

// WriteSARIF prints the report as one SARIF 2.1.0 run: a rule per rule id
// (the whole catalogue, so viewers can show help for any), a result per
// finding. Objects that came from a manifest carry their file and line
// (" (file.yaml:12)" in Finding.Objects), so code scanning annotates the
// line; every object is also a logical location, the only kind a live
// cluster's objects have. With r.Baseline, results carry baselineState
// (new, unchanged, and absent for resolved ones); suppressed findings are
// results with a suppression and the entry's reason.
func WriteSARIF(w io.Writer, r *Report, opts SARIFOptions) error {
	run := sarifRun{
		Tool:       sarifTool{Driver: sarifDriver{Name: "bulkhead", Version: opts.ToolVersion}},
		Results:    []sarifResult{},
		Properties: map[string]any{"source": r.Source},
	}
	index := map[string]int{}
	addRule := func(id string, example *Finding) int {
		if i, ok := index[id]; ok {
			return i
		}
		info, _ := ruleInfo(id, example)
		index[id] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(info))
		return index[id]
	}
	for _, info := range ruleCatalog {
		addRule(info.ID, nil)
	}
	add := func(f Finding, state string, sup *Suppression) {
		res := sarifResultOf(f, addRule(f.Rule, &f))
		res.BaselineState = state
		if sup != nil {
			s := sarifSuppression{Kind: "external", Status: "accepted",
				Justification: fmt.Sprintf("%s (expires %s)", sup.Reason, sup.Expires)}
			if file, line, ok := manifestLine(sup.At); ok {
				s.Location = &sarifLocation{PhysicalLocation: physical(file, line)}
			}
			res.Suppressions = []sarifSuppression{s}
		}
		run.Results = append(run.Results, res)
	}
	newState := ""
	if r.Baseline != nil {
		newState = "new"
	}
	for _, f := range r.Findings {
		add(f, newState, nil)
	}
	if r.Baseline != nil {
		for _, f := range r.Baseline.Unchanged {
			add(f, "unchanged", nil)
		}
		for _, f := range r.Baseline.Resolved {
			add(f, "absent", nil)
		}
	}
	for _, s := range r.Suppressed {
		add(s.Finding, s.BaselineState, &s.By)
	}
	if r.Baseline != nil {
		run.Properties["baseline"] = r.Baseline.Source
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

func sarifRuleOf(info RuleInfo) sarifRule {
	sev := info.Severity
	if sev == 0 {
		sev = Medium
	}
	tags := []string{"security", "kubernetes", "rbac", "multi-tenancy"}
	props := map[string]any{"security-severity": securitySeverity(sev), "tags": tags, "precision": "high"}
	if info.Pattern > 0 {
		props["pattern"] = info.Pattern
	}
	full := info.Full
	if full == "" {
		full = info.Short
	}
	help := info.Help
	if help == "" {
		help = "Each finding's message says what to change."
	}
	md := fmt.Sprintf("**%s** (default severity %s", info.Short, sev)
	if info.Pattern > 0 {
		md += fmt.Sprintf(", docs/isolation.md item %d", info.Pattern)
	}
	md += ")\n\n" + full + "\n\n**Fix:** " + help
	return sarifRule{
		ID:                   info.ID,
		Name:                 info.Name(),
		ShortDescription:     sarifText{Text: info.Short},
		FullDescription:      sarifText{Text: full},
		Help:                 sarifText{Text: full + " Fix: " + help, Markdown: md},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(sev)},
		Properties:           props,
	}
}

func sarifResultOf(f Finding, ruleIndex int) sarifResult {
	res := sarifResult{
		RuleID:              f.Rule,
		RuleIndex:           ruleIndex,
		Level:               sarifLevel(f.Severity),
		Message:             sarifText{Text: f.Message + consequencesText(f) + " Fix: " + f.Fix},
		PartialFingerprints: map[string]string{fingerprintKey: Fingerprint(f)},
		Properties:          map[string]any{"severity": f.Severity.String(), "security-severity": securitySeverity(f.Severity)},
	}
	for k, v := range map[string]string{"tenant": f.Tenant, "subject": f.Subject, "namespace": f.Namespace} {
		if v != "" {
			res.Properties[k] = v
		}
	}
	if len(f.Pasteable) > 0 {
		res.Properties["pasteable"] = f.Pasteable
	}
	// The first object with a file is the primary location (code scanning
	// annotates only the first); the others are related locations.
	var locs []sarifLocation
	primary := -1
	for _, o := range f.Objects {
		plain, file, line := splitLocation(o)
		loc := sarifLocation{LogicalLocations: []sarifLogicalLocation{logical(plain)}}
		if isFile(file) {
			loc.PhysicalLocation = physical(file, line)
			if primary < 0 {
				primary = len(locs)
			}
		}
		locs = append(locs, loc)
	}
	if len(locs) == 0 {
		return res
	}
	if primary < 0 {
		primary = 0
	}
	res.Locations = []sarifLocation{locs[primary]}
	for i, l := range locs {
		if i != primary {
			id := len(res.RelatedLocations) + 1
			l.ID = &id
			res.RelatedLocations = append(res.RelatedLocations, l)
		}
	}
	return res
}

// manifestLine splits "file:line".
func manifestLine(at string) (string, int, bool) {
	i := strings.LastIndexByte(at, ':')
	if i < 0 {
		return "", 0, false
	}
	line, err := strconv.Atoi(at[i+1:])
	return at[:i], line, err == nil && line > 0 && isFile(at[:i])
}

// isFile reports whether a manifest origin names a file code scanning can
// open: not stdin, and not the objects ReadFiles renders from Tenant specs
// ("rendered from alice, bob"), which exist in no file.
func isFile(name string) bool {
	return name != "" && name != spec.StdinName && !strings.HasPrefix(name, renderedFrom)
}

// physical is a file and line as SARIF wants them: a URI reference, relative
// to where audit ran (code scanning resolves it against the checkout).
func physical(file string, line int) *sarifPhysicalLocation {
	file = filepath.ToSlash(filepath.Clean(file))
	u := (&url.URL{Path: file}).String()
	if strings.HasPrefix(file, "/") {
		u = (&url.URL{Scheme: "file", Path: file}).String()
	}
	return &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: u}, Region: sarifRegion{StartLine: max(line, 1)}}
}

// logical names an object: "RoleBinding alice/x -> Role y" is the resource
// alice/x, fully RoleBinding alice/x.
func logical(object string) sarifLogicalLocation {
	key, _, _ := strings.Cut(object, " -> ")
	_, name, found := strings.Cut(key, " ")
	if !found {
		name = key
	}
	return sarifLogicalLocation{Name: name, FullyQualifiedName: key, Kind: "resource"}
}

// consequencesText lists what a finding's grant goes on to cause, for the
// one message a SARIF result has: " Consequences: critical csr-approve: …".
func consequencesText(f Finding) string {
	if len(f.Consequences) == 0 {
		return ""
	}
	parts := make([]string, len(f.Consequences))
	for i, c := range f.Consequences {
		parts[i] = c.Severity.String() + " " + c.Rule + ": " + c.Message
	}
	return " Consequences: " + strings.Join(parts, " ")
}
