package audit

import (
	"fmt"
	"strings"
)

// Severity orders findings. Cross-tenant access is Critical; a right that
// lets a tenant lift its own guardrails is High.
type Severity int

// Severities, lowest first.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = []string{"", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Low || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads "low", "medium", "high" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use low, medium, high or critical", s)
}

// MarshalText makes JSON carry the name, not the number.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is ParseSeverity.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Finding is one way isolation breaks. Rule is a stable identifier; Pattern
// is the item of ISOLATION.md it belongs to.
type Finding struct {
	Rule      string   `json:"rule"`
	Pattern   int      `json:"pattern,omitempty"` // 0: not an ISOLATION.md item (network, quota)
	Severity  Severity `json:"severity"`
	Tenant    string   `json:"tenant,omitempty"`    // the tenant whose subject or namespace is concerned
	Subject   string   `json:"subject,omitempty"`   // "ServiceAccount bob/bob-user", "User alice", "Group x"
	Namespace string   `json:"namespace,omitempty"` // where the access applies; "" for the cluster scope
	Objects   []string `json:"objects"`             // the objects that cause it, "RoleBinding alice/alice-user"
	Message   string   `json:"message"`
	Fix       string   `json:"fix"`
	// Pasteable is Subject as bulkhead can and who-can read it
	// (system:serviceaccount:ns:name, user:alice, group:x), one per subject.
	Pasteable []string `json:"pasteable,omitempty"`
	// Path, for a finding reached through identities the subject acts as,
	// is the hops from the subject, first hop first.
	Path []string `json:"path,omitempty"`
	// Consequences are the findings this one causes: what the subject
	// reaches through the same grant, told here rather than as findings of
	// their own. Severity is the worst of them and the finding's own.
	Consequences []Consequence `json:"consequences,omitempty"`

	key   string // what makes two findings the same (see auditor.add)
	cause *cause // the first hop, when the finding is reached through identities
}

// Consequence is a finding folded under the one that causes it.
type Consequence struct {
	Rule      string   `json:"rule"`
	Pattern   int      `json:"pattern,omitempty"`
	Severity  Severity `json:"severity"`
	Namespace string   `json:"namespace,omitempty"`
	Path      []string `json:"path,omitempty"`
	Objects   []string `json:"objects"`
	Message   string   `json:"message"`
}

// Report is the output of Run. Its JSON form is documented in
// docs/audit-json.md and only grows: fields are never renamed or removed
// within apiVersion bulkhead.dev/v1alpha1.
type Report struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Source     string          `json:"source"`
	Summary    Summary         `json:"summary"`
	Tenants    []TenantSummary `json:"tenants"`
	Findings   []Finding       `json:"findings"`
	// Access is the sparse tenant × namespace matrix: one cell for each
	// namespace where some subject of the tenant, directly or through what it
	// can act as, holds any right. Namespace "*" means every namespace.
	Access []Cell `json:"access"`
	// Subjects is the per-subject drill-down: every subject of every tenant.
	Subjects []SubjectAccess `json:"subjects"`
	// RuleLists are the distinct rule lists the drill-down's grants name by
	// index (Access.RuleList): thousands of tenants share a few roles.
	RuleLists [][]string `json:"ruleLists"`
	// BlindSpots says what this analysis cannot see (ISOLATION.md item 17).
	BlindSpots []string   `json:"blindSpots"`
	Live       *LiveCheck `json:"live,omitempty"`
	// Warnings are problems in the input that grant nothing (a binding
	// without namespace, a bad aggregation selector), as the API server
	// would silently ignore them.
	Warnings []string `json:"warnings,omitempty"`
	// Baseline, with --baseline, is the comparison with an earlier report:
	// Findings then holds only the findings that are new since it.
	Baseline *BaselineComparison `json:"baseline,omitempty"`
	// Suppressed, with --ignore-file, are the findings an unexpired entry
	// hides; they are not in Findings.
	Suppressed []SuppressedFinding `json:"suppressed,omitempty"`
	// KubernetesVersion is the API server version the analysis assumed
	// (the cluster's, or --kubernetes-version for manifests).
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
}

// Summary counts findings by severity and sizes the snapshot.
type Summary struct {
	Critical         int `json:"critical"`
	High             int `json:"high"`
	Medium           int `json:"medium"`
	Low              int `json:"low"`
	Tenants          int `json:"tenants"`
	Namespaces       int `json:"namespaces"`
	Subjects         int `json:"subjects"`
	Bindings         int `json:"bindings"`
	Roles            int `json:"roles"`
	CrossTenantCells int `json:"crossTenantCells"`
	// Questions counts the (subject, verb, resource, namespace) questions
	// the audit answered: what it would take as many SubjectAccessReviews.
	Questions int `json:"questions"`
}

// TenantSummary is one tenant and its worst finding.
type TenantSummary struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Managed   bool      `json:"managed"` // provisioned by bulkhead
	Subjects  int       `json:"subjects"`
	Findings  int       `json:"findings"`
	Worst     *Severity `json:"worst,omitempty"`
}

// Level is how much a cell of the access matrix allows.
type Level string

// Levels, weakest first.
const (
	LevelRead  Level = "read"  // get, list or watch something
	LevelWrite Level = "write" // create, change or delete something
	LevelAdmin Level = "admin" // change RBAC, or every verb on every resource
)

// rank orders levels, weakest first; 0 for anything else.
func (l Level) rank() int {
	switch l {
	case LevelRead:
		return 1
	case LevelWrite:
		return 2
	case LevelAdmin:
		return 3
	}
	return 0
}

// Cell is one non-empty cell of the access matrix.
type Cell struct {
	Tenant    string `json:"tenant"`
	Namespace string `json:"namespace"`
	Level     Level  `json:"level"`
	// Cross is set when Namespace is not the tenant's own.
	Cross bool `json:"cross,omitempty"`
	// Via is one subject of the tenant that holds the access, and how.
	Via string `json:"via"`
}

// SubjectAccess is one subject's rights, for the drill-down.
type SubjectAccess struct {
	Subject string `json:"subject"`
	Tenant  string `json:"tenant"`
	// ActsAs lists the identities this subject can become (creating pods,
	// minting tokens, reading token Secrets, impersonating), to a fixed point.
	ActsAs []string `json:"actsAs,omitempty"`
	Grants []Access `json:"grants"`
}

// Access is what a subject holds in one namespace ("*" for cluster-wide).
type Access struct {
	Namespace string `json:"namespace"`
	Level     Level  `json:"level"`
	Via       string `json:"via"` // the binding
	// RuleList indexes Report.RuleLists: the rules, one line each
	// ("get,list pods,services").
	RuleList int `json:"ruleList"`
	// Rules, when set, are the rules themselves (reports built by hand);
	// Run leaves it empty and sets RuleList.
	Rules []string `json:"rules,omitempty"`

	ruleSet int32
}

// LiveCheck is the result of --live: a sample of the engine's answers,
// each asked again as a SubjectAccessReview on the cluster.
type LiveCheck struct {
	Checks        int      `json:"checks"`
	Agreements    int      `json:"agreements"`
	Disagreements []string `json:"disagreements,omitempty"`
	// Wider counts reviews the cluster allowed and RBAC objects did not:
	// access from authorizers audit cannot read (ISOLATION.md item 17).
	Wider int `json:"wider"`
	// WiderCases are the first of them, as "subject request".
	WiderCases []string `json:"widerCases,omitempty"`
}

// Count returns how many findings are at or above min.
func (r *Report) Count(min Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= min {
			n++
		}
	}
	return n
}
