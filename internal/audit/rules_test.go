package audit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// The fixtures under testdata/rules are plain manifests, one directory per
// case, written the way a platform team writes them by hand. Each case
// states what ISOLATION.md says must be found (with its rule, severity,
// tenant, subject, namespace and the binding that causes it) and a near
// miss that must not be.

const rulesDir = "testdata/rules"

// rtAudit reads one fixture directory and audits it.
func rtAudit(t *testing.T, dir string, opts TenantOptions) *Report {
	t.Helper()
	snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, dir)}, nil)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return mustAudit(t, snap, opts)
}

func tenantNamed(names ...string) TenantOptions { return TenantOptions{Names: names} }

// findingMatch describes a finding. Fields left unset match anything.
type findingMatch struct {
	rule         string
	subject      *string
	namespace    *string
	object       string // a substring of one of Objects
	severity     Severity
	atLeast      bool // severity is a minimum
	tenant       *string
	pattern      int
	message, fix []string // substrings
}

// expect starts a description of a finding of rule ("" for any rule).
func expect(rule string) *findingMatch { return &findingMatch{rule: rule} }

func (m *findingMatch) sev(s Severity) *findingMatch { m.severity = s; return m }
func (m *findingMatch) atLeastSev(s Severity) *findingMatch {
	m.severity, m.atLeast = s, true
	return m
}
func (m *findingMatch) of(tenant, subject string) *findingMatch {
	m.tenant, m.subject = &tenant, &subject
	return m
}
func (m *findingMatch) by(subject string) *findingMatch { m.subject = &subject; return m }
func (m *findingMatch) in(ns string) *findingMatch      { m.namespace = &ns; return m }
func (m *findingMatch) clusterWide() *findingMatch      { return m.in("") }
func (m *findingMatch) via(object string) *findingMatch { m.object = object; return m }
func (m *findingMatch) pat(p int) *findingMatch         { m.pattern = p; return m }
func (m *findingMatch) saying(parts ...string) *findingMatch {
	m.message = append(m.message, parts...)
	return m
}
func (m *findingMatch) fixing(parts ...string) *findingMatch {
	m.fix = append(m.fix, parts...)
	return m
}

func (m *findingMatch) String() string {
	var b strings.Builder
	b.WriteString(cmp.Or(m.rule, "any rule"))
	if m.subject != nil {
		fmt.Fprintf(&b, " subject=%q", *m.subject)
	}
	if m.namespace != nil {
		fmt.Fprintf(&b, " namespace=%q", *m.namespace)
	}
	if m.object != "" {
		fmt.Fprintf(&b, " object~%q", m.object)
	}
	return b.String()
}

// selects reports whether f is a candidate: same rule, subject, namespace
// and object.
func (m *findingMatch) selects(f Finding) bool {
	if m.rule != "" && f.Rule != m.rule {
		return false
	}
	if m.subject != nil && f.Subject != *m.subject {
		return false
	}
	if m.namespace != nil && f.Namespace != *m.namespace {
		return false
	}
	if m.object != "" && !slices.ContainsFunc(f.Objects, func(o string) bool { return strings.Contains(o, m.object) }) {
		return false
	}
	return true
}

// mismatch says how a candidate differs from the rest of the description.
func (m *findingMatch) mismatch(f Finding) string {
	var out []string
	switch {
	case m.severity == 0:
	case m.atLeast && f.Severity < m.severity:
		out = append(out, fmt.Sprintf("severity %s, want at least %s", f.Severity, m.severity))
	case !m.atLeast && f.Severity != m.severity:
		out = append(out, fmt.Sprintf("severity %s, want %s", f.Severity, m.severity))
	}
	if m.tenant != nil && f.Tenant != *m.tenant {
		out = append(out, fmt.Sprintf("tenant %q, want %q", f.Tenant, *m.tenant))
	}
	if m.pattern != 0 && f.Pattern != m.pattern {
		out = append(out, fmt.Sprintf("pattern %d, want %d", f.Pattern, m.pattern))
	}
	for _, p := range m.message {
		if !strings.Contains(f.Message, p) {
			out = append(out, fmt.Sprintf("message lacks %q", p))
		}
	}
	for _, p := range m.fix {
		if !strings.Contains(f.Fix, p) {
			out = append(out, fmt.Sprintf("fix lacks %q", p))
		}
	}
	return strings.Join(out, "; ")
}

// find returns the finding m describes, failing the test when there is
// none.
func (m *findingMatch) find(t *testing.T, r *Report) (Finding, bool) {
	t.Helper()
	var why []string
	for _, f := range flatFindings(r) {
		if !m.selects(f) {
			continue
		}
		if d := m.mismatch(f); d != "" {
			why = append(why, fmt.Sprintf("  %s: %s", describeFinding(f), d))
			continue
		}
		return f, true
	}
	if len(why) > 0 {
		t.Errorf("want %s; the candidates differ:\n%s", m, strings.Join(why, "\n"))
	} else {
		t.Errorf("want %s; not found among:\n%s", m, listFindings(r))
	}
	return Finding{}, false
}

// absent fails the test when some finding matches m.
func (m *findingMatch) absent(t *testing.T, r *Report) {
	t.Helper()
	for _, f := range flatFindings(r) {
		if m.selects(f) && (m.severity == 0 || m.mismatch(f) == "") {
			t.Errorf("want no %s; got %s", m, describeFinding(f))
		}
	}
}

// flatFindings is the report's findings followed by the consequences
// folded under them, each as a finding of the cause's tenant and subject
// with the cause's fix (the one that removes it): a rule case describes
// what is found, whether as a cause or as its consequence.
func flatFindings(r *Report) []Finding {
	out := slices.Clone(r.Findings)
	for _, f := range r.Findings {
		for _, c := range f.Consequences {
			out = append(out, Finding{Rule: c.Rule, Pattern: c.Pattern, Severity: c.Severity, Tenant: f.Tenant, Subject: f.Subject,
				Namespace: c.Namespace, Objects: c.Objects, Message: c.Message, Fix: f.Fix, Path: c.Path})
		}
	}
	return out
}

func describeFinding(f Finding) string {
	return fmt.Sprintf("[%s %s pattern=%d tenant=%q subject=%q ns=%q objects=%q] %s",
		f.Severity, f.Rule, f.Pattern, f.Tenant, f.Subject, f.Namespace, f.Objects, f.Message)
}

func listFindings(r *Report) string {
	if len(r.Findings) == 0 {
		return "  (no findings)"
	}
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("  ")
		b.WriteString(describeFinding(f))
		b.WriteByte('\n')
		for _, c := range f.Consequences {
			fmt.Fprintf(&b, "    consequence: [%s %s pattern=%d ns=%q objects=%q] %s\n", c.Severity, c.Rule, c.Pattern, c.Namespace, c.Objects, c.Message)
		}
	}
	return b.String()
}

// ruleCase is one fixture directory and what its audit must and must not
// report.
type ruleCase struct {
	name string
	dir  string
	opts TenantOptions
	// bug, when set, names a known defect: the case asserts the correct
	// behaviour and is skipped until the defect is fixed.
	bug   string
	wants []*findingMatch
	nones []*findingMatch
	check func(t *testing.T, r *Report)
}

var ruleCases = []ruleCase{
	// Pattern 1.
	{
		name: "cluster-binding/namespaced rights bound cluster-wide",
		dir:  "cluster-binding",
		wants: []*findingMatch{
			expect("cluster-binding").sev(Critical).pat(1).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-pods-everywhere").saying("every namespace").
				fixing("Replace ClusterRoleBinding alice-pods-everywhere with RoleBindings"),
		},
		nones: []*findingMatch{
			// Nodes and non-resource URLs are not namespaced.
			expect("cluster-binding").by("User bob"),
			expect("cross-tenant-access").by("User bob"),
		},
	},
	// Pattern 2.
	{
		name: "broad-group/every identity at once",
		dir:  "broad-group",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("broad-group").sev(Critical).pat(2).of("team-a", "Group system:authenticated").in("team-a").
				via("RoleBinding team-a/everyone-reads"),
			// The tenant's own ServiceAccounts in its own namespace: one tenant only.
			expect("broad-group").sev(Medium).of("team-a", "Group system:serviceaccounts:team-a").in("team-a").
				via("RoleBinding team-a/own-serviceaccounts"),
			// The same group in another tenant's namespace.
			expect("broad-group").sev(Critical).of("team-b", "Group system:serviceaccounts:team-a").in("team-b").
				via("RoleBinding team-b/team-a-serviceaccounts"),
			expect("broad-group").sev(Critical).of("team-b", "Group system:serviceaccounts").in("team-b").
				via("RoleBinding team-b/all-serviceaccounts"),
			expect("broad-group").sev(Critical).of("", "Group system:unauthenticated").clusterWide().
				via("ClusterRoleBinding anonymous-configmaps"),
			// Not a tenant's namespace: less severe, still reported.
			expect("broad-group").sev(Medium).of("", "User system:anonymous").in("ops").
				via("RoleBinding ops/anonymous-reads"),
			// A ServiceAccount is in system:serviceaccounts:<its namespace>.
			expect("cross-tenant-access").sev(Critical).of("team-a", "ServiceAccount team-a/builder").in("team-b").
				via("RoleBinding team-b/team-a-serviceaccounts"),
		},
		nones: []*findingMatch{
			expect("broad-group").by("Group developers"),
			expect("broad-group").by("Group system:serviceaccounts:team-a").in("team-a").sev(Critical),
		},
	},
	{
		name: "broad-group/unmodified bootstrap bindings are the baseline",
		dir:  "bootstrap-unmodified",
		nones: []*findingMatch{
			expect("").via("system:basic-user"),
			expect("").via("system:public-info-viewer"),
			expect("").by("Group system:authenticated"),
			expect("").by("Group system:unauthenticated"),
		},
		check: func(t *testing.T, r *Report) {
			for _, f := range r.Findings {
				if f.Rule != "no-network-isolation" && f.Rule != "no-quota" {
					t.Errorf("unexpected finding on bootstrap policy: %s", describeFinding(f))
				}
			}
		},
	},
	{
		name: "broad-group/a subject added to system:basic-user",
		dir:  "bootstrap-modified",
		wants: []*findingMatch{
			expect("broad-group").sev(Critical).of("", "Group system:authenticated").clusterWide().
				via("ClusterRoleBinding system:basic-user"),
		},
		nones: []*findingMatch{
			expect("").via("system:public-info-viewer"),
		},
	},
	{
		name: "broad-group/a rule added to bootstrap ClusterRole system:basic-user",
		dir:  "bootstrap-role-modified",
		wants: []*findingMatch{
			expect("broad-group").sev(Critical).of("", "Group system:authenticated").clusterWide().
				via("ClusterRoleBinding system:basic-user"),
		},
	},
	// Patterns 3, 10, 13, 19, 20 inside the tenant's namespace.
	{
		name: "namespace-rights/lead role opens and lifts its own namespace",
		dir:  "namespace-rights",
		wants: []*findingMatch{
			expect("rolebinding-write").sev(High).pat(3).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-lead").fixing("Role team-a/lead"),
			expect("bind-escalate").sev(High).pat(10).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-lead").fixing("Role team-a/lead"),
			expect("guardrail-write").sev(High).pat(20).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-lead").fixing("Role team-a/lead"),
			expect("status-write").sev(High).pat(19).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-lead"),
			expect("namespace-write").sev(High).pat(13).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-lead"),
		},
		nones: []*findingMatch{
			// Read-only RBAC, quota, limit range, network policy, status and
			// namespace rights; bind limited to view; patch of another
			// namespace's name.
			expect("guardrail-write").by("User bob"),
			expect("bind-escalate").by("User bob"),
			expect("").by("User bob"),
		},
	},
	{
		name: "rolebinding-write/bulkhead's admission policy limits managed tenants only",
		dir:  "rolebinding-policy",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("rolebinding-write").sev(Low).of("team-a", "User lead-of-team-a").in("team-a").
				via("RoleBinding team-a/lead").saying("bulkhead-tenant-rolebindings"),
			expect("rolebinding-write").sev(High).of("team-b", "User lead-of-team-b").in("team-b").
				via("RoleBinding team-b/lead"),
		},
	},
	{
		name: "rolebinding-write/a policy binding that only warns limits nothing",
		dir:  "rolebinding-policy-warn",
		wants: []*findingMatch{
			expect("rolebinding-write").sev(High).of("team-a", "User lead-of-team-a").in("team-a").
				via("RoleBinding team-a/lead"),
		},
	},
	// Cluster-scoped rights: patterns 3, 9, 10, 12, 13, 14, 15, 19.
	{
		name: "cluster-rights/one dangerous right per ClusterRoleBinding",
		dir:  "cluster-rights",
		wants: []*findingMatch{
			expect("cluster-rbac-write").sev(Critical).pat(3).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-rbac-writer").fixing("ClusterRole rbac-writer"),
			expect("bind-escalate").sev(Critical).pat(10).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-role-escalator"),
			expect("impersonate").sev(Critical).pat(9).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-impersonator").fixing("ClusterRole impersonator"),
			expect("nodes-proxy").sev(Critical).pat(12).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-node-proxy"),
			expect("node-escape").sev(High).pat(13).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-volume-maker"),
			expect("namespace-write").sev(Critical).pat(13).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-namespace-labeller"),
			expect("csr-approve").sev(Critical).pat(14).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-csr-approver"),
			expect("admission-write").sev(Critical).pat(15).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-webhook-admin"),
			expect("status-write").sev(Critical).pat(19).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-node-status-writer"),
		},
		nones: []*findingMatch{
			// Impersonation restricted by resourceNames, nodes/metrics,
			// CSR approval for a private signer, read-only webhooks; and
			// alice's ClusterRoles bound by RoleBindings in team-b, where
			// cluster-scoped resources cannot be reached.
			expect("impersonate").by("User bob"),
			expect("csr-approve").by("User bob"),
			expect("").by("User bob"),
			// Only cluster-scoped rights: not pattern 1.
			expect("cluster-binding").by("User alice"),
		},
	},
	{
		name: "csr-approve/approve on the signer domain wildcard",
		dir:  "csr-signer-wildcard",
		wants: []*findingMatch{
			expect("csr-approve").sev(Critical).of("team-a", "User carol").clusterWide().via("ClusterRoleBinding carol-csr"),
		},
	},
	{
		name: "admission-write/deleting admission policies and webhooks",
		dir:  "admission-delete",
		wants: []*findingMatch{
			expect("admission-write").sev(Critical).of("team-a", "User walt").clusterWide().
				via("ClusterRoleBinding walt-admission-cleaner"),
		},
	},
	{
		name: "impersonate/named users and groups are still other identities",
		dir:  "impersonate-named",
		wants: []*findingMatch{
			expect("").atLeastSev(High).by("User alice").via("alice-as-bob"),
		},
		nones: []*findingMatch{
			// Group impersonation alone is refused "without impersonating a
			// user" (impersonate-group has the positive case).
			expect("").by("User carl").via("carl-as-masters"),
		},
	},
	// Pattern 4.
	{
		name: "wildcard/verbs, groups, resources and */subresource",
		dir:  "wildcard",
		wants: []*findingMatch{
			expect("wildcard").sev(Medium).pat(4).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-deployer").saying("verbs '*'").fixing("Role deployer"),
			expect("wildcard").sev(Medium).of("team-a", "ServiceAccount team-a/autoscaler").in("team-a").
				via("RoleBinding team-a/autoscaler").saying("apiGroups '*'", "resources '*/", "resources '*'"),
		},
		nones: []*findingMatch{
			expect("wildcard").by("User bob"),
			// get on every resource is read-only: it does not lift guardrails.
			expect("guardrail-write").by("ServiceAccount team-a/autoscaler"),
		},
	},
	// Pattern 5.
	{
		name: "aggregated-role/tenant bound to an aggregated ClusterRole",
		dir:  "aggregated",
		wants: []*findingMatch{
			expect("aggregated-role").sev(Medium).pat(5).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-ml"),
		},
		nones: []*findingMatch{
			expect("aggregated-role").by("User bob"),
			expect("dangling-role-ref"),
		},
	},
	{
		name: "aggregated-role/built-in edit and view referenced, not defined",
		dir:  "bootstrap-clusterrole-ref",
		wants: []*findingMatch{
			expect("aggregated-role").sev(Medium).of("team-a", "User alice").in("team-a").via("RoleBinding team-a/alice-edit"),
			expect("aggregated-role").sev(Medium).of("team-b", "User bob").in("team-b").via("RoleBinding team-b/bob-view"),
		},
		nones: []*findingMatch{
			expect("dangling-role-ref"),
		},
	},
	// Pattern 6 and 18.
	{
		name: "secrets/reading a token Secret reaches another tenant",
		dir:  "secrets",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).pat(1).of("team-a", "User alice").in("team-b").
				via("RoleBinding team-b/team-a-deployer").
				saying("reads the token Secret deployer-token of ServiceAccount team-a/deployer", "RoleBinding team-a/alice-secrets"),
			expect("acts-as").sev(Critical).pat(6).of("team-a", "User alice").
				via("RoleBinding team-a/alice-secrets"),
			expect("legacy-token").sev(Medium).pat(18).of("team-a", "ServiceAccount team-a/deployer").in("team-a").
				via("Secret team-a/deployer-token"),
			expect("legacy-token").sev(Low).of("", "ServiceAccount ops/backup").in("ops").via("Secret ops/backup-token"),
		},
		nones: []*findingMatch{
			// carol reads one Secret by name, and it holds no token.
			expect("").by("User carol"),
		},
	},
	{
		name: "secrets/watch alone reads token Secrets",
		dir:  "secrets-watch",
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).of("team-a", "User dave").in("team-b").
				via("RoleBinding team-b/team-a-deployer").saying("deployer-token"),
		},
	},
	{
		name: "secrets/list restricted by resourceNames to the token Secret",
		dir:  "secrets-watch",
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).of("team-a", "User erin").in("team-b").
				via("RoleBinding team-b/team-a-deployer").saying("deployer-token"),
		},
	},
	// Patterns 7, 8, 9, 11: the escalation closure.
	{
		name: "closure/every way to act as a ServiceAccount bound in another tenant",
		dir:  "pod-paths",
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).pat(1).of("team-a", "User alice").in("team-b").
				via("RoleBinding team-b/ci-from-team-a").
				saying("creates pods in team-a that run as ServiceAccount team-a/ci", "RoleBinding team-a/alice-pods"),
			expect("acts-as").sev(Critical).pat(7).of("team-a", "User alice").via("RoleBinding team-a/alice-pods"),
			// A pod controller runs pods as well.
			expect("cross-tenant-access").sev(Critical).of("team-a", "User jody").in("team-b").
				via("RoleBinding team-b/ci-from-team-a").saying("RoleBinding team-a/jody-jobs"),
			expect("cross-tenant-access").sev(Critical).of("team-a", "User ed").in("team-b").
				via("RoleBinding team-b/ci-from-team-a").saying("execs into", "RoleBinding team-a/ed-debug"),
			expect("acts-as").sev(Critical).pat(11).of("team-a", "User ed"),
			expect("cross-tenant-access").sev(Critical).of("team-a", "User tom").in("team-b").
				via("RoleBinding team-b/ci-from-team-a").saying("mints tokens for ServiceAccount team-a/ci"),
			expect("acts-as").sev(Critical).pat(8).of("team-a", "User tom"),
			expect("cross-tenant-access").sev(Critical).of("team-a", "User ivan").in("team-b").
				via("RoleBinding team-b/ci-from-team-a").saying("impersonates ServiceAccount team-a/ci"),
			expect("acts-as").sev(Critical).pat(9).of("team-a", "User ivan"),
			// ci itself.
			expect("cross-tenant-access").sev(Critical).of("team-a", "ServiceAccount team-a/ci").in("team-b").
				via("RoleBinding team-b/ci-from-team-a"),
		},
		nones: []*findingMatch{
			// victor only reads pods; mia mints tokens for, and impersonates,
			// notebook only.
			expect("").by("User victor"),
			expect("").by("User mia"),
		},
	},
	{
		name: "closure/updating a Deployment's pod template runs as any ServiceAccount",
		dir:  "controller-update",
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).of("team-a", "User uma").in("team-b").
				via("RoleBinding team-b/ci-from-team-a"),
		},
	},
	{
		name: "closure/two hops through a namespace that is not a tenant",
		dir:  "chain",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("cross-tenant-access").sev(Critical).of("team-a", "User alice").in("team-b").
				via("RoleBinding team-b/ops-builder").
				saying("impersonates ServiceAccount ops/deployer", "RoleBinding ops/alice-as-deployer",
					"creates pods in ops that run as ServiceAccount ops/builder", "RoleBinding ops/deployer-pods"),
			expect("cross-tenant-access").sev(Critical).of("team-a", "User ivan").in("team-b").
				via("RoleBinding team-b/ops-builder").saying("impersonates ServiceAccount ops/builder"),
		},
		nones: []*findingMatch{
			// ops2's janitor is bound in team-b too, but no one reaches it.
			expect("").via("RoleBinding team-b/ops2-janitor").by("User alice"),
			expect("").via("RoleBinding team-b/ops2-janitor").by("User ivan"),
		},
		check: func(t *testing.T, r *Report) {
			acts := actsAsOf(r, "User alice")
			for _, want := range []string{"ServiceAccount ops/deployer", "ServiceAccount ops/builder"} {
				if !slices.Contains(acts, want) {
					t.Errorf("User alice acts as %q, want it to include %s", acts, want)
				}
			}
			if slices.Contains(acts, "ServiceAccount ops2/janitor") {
				t.Errorf("User alice acts as %q: ops2/janitor is out of reach", acts)
			}
		},
	},
	{
		name: "closure/ServiceAccount subjects without namespace, ClusterRoles bound in one namespace",
		dir:  "sa-defaulting",
		nones: []*findingMatch{
			// team-b's RoleBinding names team-b's ci, not team-a's.
			expect("cross-tenant-access"),
			expect("acts-as").by("User alice"),
			// A RoleBinding to a ClusterRole grants only in its namespace.
			expect("cluster-binding"),
		},
		check: func(t *testing.T, r *Report) {
			if r.Summary.CrossTenantCells != 0 {
				t.Errorf("%d cross-tenant cells, want 0: %+v", r.Summary.CrossTenantCells, r.Access)
			}
		},
	},
	{
		name: "closure/*/status, apiGroups * and resources that are not wildcards",
		dir:  "subresources",
		wants: []*findingMatch{
			expect("status-write").sev(High).of("team-a", "ServiceAccount team-a/fixer").in("team-a").
				via("RoleBinding team-a/fixer"),
			expect("cross-tenant-access").sev(Critical).of("team-a", "User quinn").in("team-b").
				saying("creates pods in team-a"),
		},
		nones: []*findingMatch{
			// "pods/*" is no wildcard; pods are not in apps; extensions no
			// longer serves deployments.
			expect("").by("User paula"),
			expect("").by("User rita"),
		},
	},
	{
		name: "acts-as/an edit user acting as an admin ServiceAccount, not the reverse",
		dir:  "acts-as",
		wants: []*findingMatch{
			// Severity is the worst consequence's: rolebinding-write as lead-bot.
			expect("acts-as").sev(High).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/lead-bot -> Role lead").saying("ServiceAccount team-a/lead-bot"),
		},
		nones: []*findingMatch{
			expect("acts-as").by("User bob"),
			expect("cross-tenant-access"),
		},
	},
	{
		name: "acts-as/built-in edit and admin ClusterRoles",
		dir:  "acts-as-bootstrap",
		wants: []*findingMatch{
			expect("acts-as").sev(High).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/admin-bot -> ClusterRole admin"),
			expect("aggregated-role").sev(Medium).of("team-a", "User alice").via("RoleBinding team-a/alice-edit"),
		},
		nones: []*findingMatch{
			expect("acts-as").by("User bob"),
		},
	},
	// Pattern 13 and PROCEDURE.md's open networks and unbounded GPUs.
	{
		name: "guardrails/pod security, network isolation and quota",
		dir:  "guardrails",
		wants: []*findingMatch{
			expect("no-pod-security").sev(High).pat(13).of("team-b", "").in("team-b").via("Namespace team-b"),
			expect("no-pod-security").sev(High).of("team-c", "").in("team-c").via("Namespace team-c"),
			expect("no-network-isolation").sev(Medium).of("team-b", "").in("team-b"),
			expect("no-network-isolation").sev(Medium).of("team-c", "").in("team-c"),
			expect("no-quota").sev(Medium).of("team-b", "").in("team-b"),
			expect("no-quota").sev(Medium).of("team-c", "").in("team-c"),
		},
		nones: []*findingMatch{
			expect("").in("team-a"),
			expect("no-pod-security").in("team-d"),
			expect("no-quota").in("team-d"),
		},
	},
	{
		name: "guardrails/NetworkPolicies add up",
		dir:  "guardrails",
		wants: []*findingMatch{
			expect("no-network-isolation").sev(Medium).of("team-d", "").in("team-d"),
		},
	},
	// Pattern 16.
	{
		name: "operator-deputy/cluster-wide operator ServiceAccounts",
		dir:  "operator-deputy",
		opts: tenantNamed("team-a"),
		wants: []*findingMatch{
			expect("operator-deputy").sev(Medium).pat(16).of("", "ServiceAccount operators/training-operator").
				via("ClusterRoleBinding training-operator").saying("create pods", "read secrets"),
			expect("operator-deputy").sev(Medium).pat(16).of("", "ServiceAccount operators/secrets-syncer").
				via("ClusterRoleBinding secrets-syncer").saying("can read secrets in every namespace"),
		},
		nones: []*findingMatch{
			expect("").by("ServiceAccount operators/metrics"),
		},
	},
	// Pattern 20.
	{
		name: "dangling/missing roles, missing ServiceAccounts, unused roles",
		dir:  "dangling",
		wants: []*findingMatch{
			expect("dangling-role-ref").sev(High).pat(20).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-reporter (testdata/rules/dangling/team-a.yaml:").
				saying(`Role "reporter"`).fixing("Create Role reporter in team-a"),
			expect("dangling-role-ref").sev(High).of("team-a", "User alice").in("team-a").
				via("RoleBinding team-a/alice-auditor").saying(`ClusterRole "team-auditor"`),
			expect("missing-subject").sev(Medium).pat(20).of("team-a", "ServiceAccount team-a/ghost").in("team-a").
				via("RoleBinding team-a/ghost"),
			expect("unused-role").sev(Low).pat(20).of("team-a", "").in("team-a").via("Role team-a/leftover"),
		},
		nones: []*findingMatch{
			expect("").via("RoleBinding team-a/app"),
			expect("unused-role").via("Role team-a/app"),
			// The manifests define no ServiceAccount in team-b: a partial read.
			expect("missing-subject").in("team-b"),
			expect("").via("RoleBinding team-b/app"),
		},
	},
	{
		name: "stale-binding/bindings of removed and demoted members, left behind by apply",
		dir:  "stale-binding",
		wants: []*findingMatch{
			// Demoted: the ServiceAccount subject without namespace is lab's.
			expect("stale-binding").sev(High).pat(20).of("lab", "ServiceAccount lab/ana").in("lab").
				via("RoleBinding lab/bulkhead-edit-sa-ana (testdata/rules/stale-binding/leftovers.yaml:").
				saying("holds edit", "spec says view").fixing("bulkhead apply -f SPEC", "kubectl delete rolebinding bulkhead-edit-sa-ana -n lab"),
			// Removed from lab, now a member of other: not lab's member but
			// lab's guest, so other reaches into lab.
			expect("stale-binding").sev(High).of("lab", "User ben").in("lab").via("RoleBinding lab/bulkhead-edit-user-ben").
				saying("holds edit", "does not list it as a member"),
			expect("cross-tenant-access").sev(Critical).of("other", "User ben").in("lab").via("RoleBinding lab/bulkhead-edit-user-ben"),
			// The Role is gone: stale-binding says the grant can come back.
			expect("stale-binding").sev(High).of("lab", "Group old-leads").via("RoleBinding lab/bulkhead-admin-group-old-leads").
				saying("holds admin", "Role bulkhead-admin does not exist", "as soon as any member of the tenant is given admin"),
			expect("stale-binding").sev(High).of("lab", "ServiceAccount lab/gone").via("RoleBinding lab/bulkhead-edit-sa-gone").
				saying("ServiceAccount lab/gone does not exist"),
			// Hand-made and labelled bindings are told apart.
			expect("foreign-binding").sev(Medium).of("lab", "User eve").via("RoleBinding lab/eve-edit"),
			expect("broad-group").sev(Critical).of("lab", "Group system:authenticated").via("RoleBinding lab/bulkhead-view-group-everyone"),
		},
		nones: []*findingMatch{
			// The rendered bindings, and a copy of a member's own role.
			expect("stale-binding").by("User carl"),
			expect("stale-binding").via("RoleBinding lab/bulkhead-view-sa-ana"),
			expect("stale-binding").via("RoleBinding lab/bulkhead-view-sa-ana-copy"),
			// One binding, one rule.
			expect("stale-binding").via("RoleBinding lab/eve-edit"),
			expect("stale-binding").by("Group system:authenticated"),
			expect("dangling-role-ref").via("RoleBinding lab/bulkhead-admin-group-old-leads"),
			expect("missing-subject").by("ServiceAccount lab/gone"),
			// ben belongs to other only.
			expect("shared-member").by("User ben"),
			// No members annotation (an older bulkhead): not judged.
			expect("stale-binding").in("old"),
		},
		check: func(t *testing.T, r *Report) {
			// lab: ServiceAccounts ana and gone (bound in lab, so lab's), User
			// carl; not ben, eve or old-leads. old: zed and yan, as before
			// namespaces listed their members.
			want := map[string]int{"lab": 3, "old": 2, "other": 1}
			for _, ts := range r.Tenants {
				if ts.Subjects != want[ts.Name] {
					t.Errorf("tenant %s has %d subjects, want %d", ts.Name, ts.Subjects, want[ts.Name])
				}
			}
		},
	},
	// A Tenant spec among hand-written RBAC objects.
	{
		name: "tenant-spec/a rendered Tenant with an admin member",
		dir:  "tenant-spec",
		wants: []*findingMatch{
			expect("rolebinding-write").sev(Low).of("vision", "User dana").in("vision").
				via("RoleBinding vision/bulkhead-admin-user-dana"),
		},
		nones: []*findingMatch{
			expect("rolebinding-write").by("User auditor"),
			expect("cross-tenant-access").by("User auditor"),
		},
		check: func(t *testing.T, r *Report) {
			for _, f := range r.Findings {
				if f.Severity > Medium {
					t.Errorf("a bulkhead tenant should only have low or medium findings, got %s", describeFinding(f))
				}
			}
			if len(r.Tenants) != 1 || r.Tenants[0].Name != "vision" || !r.Tenants[0].Managed {
				t.Errorf("tenants = %+v, want the managed tenant vision", r.Tenants)
			}
			// The hand-written RoleBinding of the same file was read too.
			if !slices.ContainsFunc(r.Subjects, func(s SubjectAccess) bool { return s.Subject == "User auditor" }) {
				t.Errorf("User auditor (bound by the hand-written RoleBinding) is not among the subjects: %+v", r.Subjects)
			}
		},
	},
}

func actsAsOf(r *Report, subject string) []string {
	for _, s := range r.Subjects {
		if s.Subject == subject {
			return s.ActsAs
		}
	}
	return nil
}

func TestRules(t *testing.T) {
	covered := map[int]bool{}
	ran := 0
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			ran++
			if c.bug != "" {
				t.Skip("BUG: " + c.bug)
			}
			r := rtAudit(t, c.dir, c.opts)
			for _, w := range c.wants {
				if f, ok := w.find(t, r); ok && w.pattern != 0 {
					covered[f.Pattern] = true
				}
			}
			for _, n := range c.nones {
				n.absent(t, r)
			}
			if c.check != nil {
				c.check(t, r)
			}
			if t.Failed() {
				t.Logf("all findings of %s:\n%s", c.dir, listFindings(r))
			}
		})
	}
	if ran < len(ruleCases) {
		return // filtered with -run: coverage cannot be judged
	}
	// Every ISOLATION.md pattern a rule implements has a passing case.
	// Pattern 17 (what offline analysis cannot see) is TestRuleBlindSpots.
	for p := 1; p <= 20; p++ {
		if p != 17 && !covered[p] {
			t.Errorf("ISOLATION.md pattern %d has no positive case with its pattern number", p)
		}
	}
}

// TestRuleBlindSpots is pattern 17: what RBAC objects cannot show is said
// in every report, even one without findings.
func TestRuleBlindSpots(t *testing.T) {
	r := rtAudit(t, "bootstrap-unmodified", TenantOptions{})
	all := strings.Join(r.BlindSpots, " ")
	for _, want := range []string{"system:masters", "webhook", "--live"} {
		if !strings.Contains(all, want) {
			t.Errorf("blind spots do not mention %q: %q", want, r.BlindSpots)
		}
	}
}

// TestRuleReportJSON checks the finding fields survive the JSON form the
// CLI prints: severities by name, objects never null.
func TestRuleReportJSON(t *testing.T) {
	r := rtAudit(t, "cluster-binding", TenantOptions{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Findings []struct {
			Rule     string   `json:"rule"`
			Severity string   `json:"severity"`
			Objects  []string `json:"objects"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range back.Findings {
		if f.Objects == nil {
			t.Errorf("%s: objects is null", f.Rule)
		}
		if f.Rule == "cluster-binding" {
			found = true
			if f.Severity != "critical" {
				t.Errorf("cluster-binding severity = %q, want \"critical\"", f.Severity)
			}
		}
	}
	if !found {
		t.Errorf("no cluster-binding finding in the JSON report")
	}
}

func TestTenants(t *testing.T) {
	read := func(t *testing.T, dir string) *Snapshot {
		t.Helper()
		snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, dir)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	mustSelector := func(s string) labels.Selector {
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	tests := []struct {
		name string
		dir  string
		opts TenantOptions
		want []Tenant
	}{
		{
			name: "bulkhead-managed namespaces, named by their tenant label",
			dir:  "tenants",
			// ops carries managed-by without a tenant label: not a tenant.
			want: []Tenant{{Name: "bravo", Namespace: "team-b", Managed: true}},
		},
		{
			name: "without managed namespaces, every non-system namespace",
			dir:  "tenants-unmanaged",
			// default and kube-* are left out; monitoring is only mentioned
			// by a ServiceAccount and still counts.
			want: []Tenant{{Name: "monitoring", Namespace: "monitoring"}, {Name: "ops", Namespace: "ops"},
				{Name: "team-a", Namespace: "team-a"}, {Name: "team-b", Namespace: "team-b"}},
		},
		{
			name: "--tenants names, sorted, managed ones keep their tenant name",
			dir:  "tenants",
			opts: TenantOptions{Names: []string{"team-b", "ops", "kube-system"}},
			want: []Tenant{{Name: "kube-system", Namespace: "kube-system"}, {Name: "ops", Namespace: "ops"},
				{Name: "bravo", Namespace: "team-b", Managed: true}},
		},
		{
			name: "--tenant-selector",
			dir:  "tenants",
			opts: TenantOptions{Selector: mustSelector("team=ml")},
			want: []Tenant{{Name: "team-a", Namespace: "team-a"}, {Name: "bravo", Namespace: "team-b", Managed: true}},
		},
		{
			name: "a selector that matches nothing",
			dir:  "tenants-unmanaged",
			opts: TenantOptions{Selector: mustSelector("team=nobody")},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tenants(read(t, tc.dir), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Tenants = %+v\nwant      %+v", got, tc.want)
			}
		})
	}

	t.Run("unknown name is an error listing the namespaces", func(t *testing.T) {
		_, err := Tenants(read(t, "tenants"), TenantOptions{Names: []string{"team-a", "nope"}})
		if err == nil {
			t.Fatal("no error for --tenants nope")
		}
		for _, want := range []string{`"nope"`, "team-a", "team-b", "ops"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})

	t.Run("a name given twice is one tenant", func(t *testing.T) {
		got, err := Tenants(read(t, "tenants-unmanaged"), TenantOptions{Names: []string{"team-a", "team-a"}})
		if err != nil {
			return // refusing the repetition is fine too
		}
		if len(got) != 1 {
			t.Skipf("BUG: Tenants keeps --tenants team-a,team-a as %d tenants %+v; the auditor then indexes members "+
				"by the last copy, so the first has no subjects and the summary counts the tenant twice", len(got), got)
		}
	})

	t.Run("the report names its tenants", func(t *testing.T) {
		r := rtAudit(t, "tenants", TenantOptions{})
		if len(r.Tenants) != 1 || r.Tenants[0].Name != "bravo" || r.Tenants[0].Namespace != "team-b" || !r.Tenants[0].Managed {
			t.Errorf("report tenants = %+v", r.Tenants)
		}
		for _, f := range r.Findings {
			if f.Tenant != "" && f.Tenant != "bravo" {
				t.Errorf("finding for a namespace that is not a tenant: %s", describeFinding(f))
			}
		}
	})
}

// readErrors reads a fixture that must fail and returns its problems.
func readErrors(t *testing.T, dir string) (spec.Errors, string) {
	t.Helper()
	_, _, err := ReadFiles([]string{filepath.Join(rulesDir, dir)}, nil)
	if err == nil {
		t.Fatalf("reading %s: no error", dir)
	}
	var errs *spec.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("reading %s: %T %v, want *spec.Errors", dir, err, err)
	}
	return *errs, err.Error()
}

func TestReadManifestErrors(t *testing.T) {
	file := func(dir, name string) string { return filepath.Join(rulesDir, dir, name) }
	tests := []struct {
		dir   string
		file  string
		field string
		want  []string // substrings of the whole error
	}{
		{dir: "read-unknown-field", file: file("read-unknown-field", "rbac.yaml"),
			want: []string{"Role team-a/reader", `unknown field "rule"`}},
		{dir: "read-v1beta1", file: file("read-v1beta1", "rbac.yaml"), field: "apiVersion",
			want: []string{"rbac.authorization.k8s.io/v1beta1", "no longer served", "use rbac.authorization.k8s.io/v1"}},
		{dir: "read-duplicate", file: file("read-duplicate", "second.yaml"), field: "metadata.name",
			want: []string{"Role team-a/reader", file("read-duplicate", "first.yaml") + ":", "remove one of them"}},
		{dir: "read-missing-namespace", file: file("read-missing-namespace", "rbac.yaml"), field: "metadata.namespace",
			want: []string{"Role reader has no namespace", "add metadata.namespace"}},
		// A Tenant among RBAC objects is checked by the spec loader, at the
		// line of the misspelled field.
		{dir: "read-tenant-unknown-field", file: file("read-tenant-unknown-field", "mixed.yaml"), field: "spec.member",
			want: []string{file("read-tenant-unknown-field", "mixed.yaml") + ":16:", `"members"`}},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			errs, msg := readErrors(t, tc.dir)
			if len(errs) != 1 {
				t.Errorf("%d problems, want 1: %s", len(errs), msg)
			}
			e := errs[0]
			if e.File != tc.file || e.Line == 0 {
				t.Errorf("problem at %s:%d, want a line in %s", e.File, e.Line, tc.file)
			}
			if tc.field != "" && e.Field != tc.field {
				t.Errorf("field = %q, want %q", e.Field, tc.field)
			}
			if !strings.Contains(msg, fmt.Sprintf("%s:%d", e.File, e.Line)) {
				t.Errorf("error %q does not say file:line", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// lineOf returns the 1-based line of the first line of path equal to text,
// after the line equal to after (when given).
func lineOf(t *testing.T, path, after, text string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := after == ""
	for i, l := range strings.Split(string(data), "\n") {
		if !seen {
			seen = l == after
			continue
		}
		if l == text {
			return i + 1
		}
	}
	t.Fatalf("%s: no line %q after %q", path, text, after)
	return 0
}

// docStart returns the line where the document holding "  name: <name>"
// starts: its apiVersion line.
func docStart(t *testing.T, path, name string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if l != "  name: "+name {
			continue
		}
		for j := i; j >= 0; j-- {
			if strings.HasPrefix(lines[j], "apiVersion:") {
				return j + 1
			}
		}
	}
	t.Fatalf("%s: no document named %s", path, name)
	return 0
}

// TestReadManifestLines checks that file:line points at the document (or
// the field), not at the "---" before it or a comment above it.
func TestReadManifestLines(t *testing.T) {

	t.Run("unknown field", func(t *testing.T) {
		errs, _ := readErrors(t, "read-unknown-field")
		path := filepath.Join(rulesDir, "read-unknown-field", "rbac.yaml")
		field := lineOf(t, path, "", "rule:")
		doc := docStart(t, path, "reader")
		if errs[0].Line != field && errs[0].Line != doc {
			t.Errorf("unknown field reported at line %d, want %d (the field) or at least %d (its document)", errs[0].Line, field, doc)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		_, msg := readErrors(t, "read-duplicate")
		first := filepath.Join(rulesDir, "read-duplicate", "first.yaml")
		second := filepath.Join(rulesDir, "read-duplicate", "second.yaml")
		for _, want := range []string{
			fmt.Sprintf("%s:%d", second, docStart(t, second, "reader")),
			fmt.Sprintf("%s:%d", first, docStart(t, first, "reader")),
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not name %s", msg, want)
			}
		}
	})
	t.Run("finding objects", func(t *testing.T) {
		r := rtAudit(t, "dangling", TenantOptions{})
		path := filepath.Join(rulesDir, "dangling", "team-a.yaml")
		want := fmt.Sprintf("RoleBinding team-a/alice-reporter (%s:%d)", path, docStart(t, path, "alice-reporter"))
		expect("dangling-role-ref").via(want).find(t, r)
	})
}

func TestReadManifestList(t *testing.T) {
	snap, ignored, err := ReadFiles([]string{filepath.Join(rulesDir, "read-list")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The reader adds the bootstrap policy the manifests land on; count
	// only what came from the file.
	roles, bindings := fromFiles(snap)
	if len(snap.Namespaces) != 1 || len(snap.ServiceAccounts) != 1 || roles != 1 || bindings != 1 {
		t.Errorf("read %d namespaces, %d serviceaccounts, %d roles, %d rolebindings from the List, want one each",
			len(snap.Namespaces), len(snap.ServiceAccounts), roles, bindings)
	}
	// A Deployment may matter (it runs as a ServiceAccount); a ConfigMap
	// grants nothing and is skipped without a word.
	if ignored["Deployment"] != 1 || ignored["ConfigMap"] != 0 {
		t.Errorf("ignored = %v, want the Deployment counted and the ConfigMap not", ignored)
	}
	for _, key := range []string{"Namespace team-a", "Role team-a/lead", "RoleBinding team-a/runner-lead"} {
		if !strings.HasPrefix(snap.Origins[key], filepath.Join(rulesDir, "read-list", "list.yaml")+":") {
			t.Errorf("origin of %s = %q", key, snap.Origins[key])
		}
	}
	// The List's items are audited like any other object.
	r := rtAudit(t, "read-list", TenantOptions{})
	expect("rolebinding-write").sev(High).of("team-a", "ServiceAccount team-a/runner").in("team-a").
		via("RoleBinding team-a/runner-lead").find(t, r)
	expect("no-pod-security").absent(t, r)

	// Bootstrap objects exported with kubectl get -o yaml come as a List too.
	snap, _, err = ReadFiles([]string{filepath.Join(rulesDir, "bootstrap-unmodified")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	crs, crbs := 0, 0
	for _, r := range snap.ClusterRoles {
		if snap.Origins[objectKey("ClusterRole", "", r.Name)] != "" {
			crs++
		}
	}
	for _, b := range snap.ClusterRoleBindings {
		if snap.Origins[objectKey("ClusterRoleBinding", "", b.Name)] != "" {
			crbs++
		}
	}
	if crs != 2 || crbs != 2 {
		t.Errorf("read %d clusterroles and %d clusterrolebindings, want 2 and 2", crs, crbs)
	}
}

// fromFiles counts the Roles and RoleBindings a manifest defined (they
// have an origin), leaving out the bootstrap policy the reader adds.
func fromFiles(snap *Snapshot) (roles, bindings int) {
	for _, r := range snap.Roles {
		if snap.Origins[objectKey("Role", r.Namespace, r.Name)] != "" {
			roles++
		}
	}
	for _, b := range snap.RoleBindings {
		if snap.Origins[objectKey("RoleBinding", b.Namespace, b.Name)] != "" {
			bindings++
		}
	}
	return roles, bindings
}

func TestReadManifestTenantSpec(t *testing.T) {
	snap, ignored, err := ReadFiles([]string{filepath.Join(rulesDir, "tenant-spec")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	has := func(key string) bool { _, ok := snap.Origins[key]; return ok }
	for _, key := range []string{
		"Namespace vision", "ServiceAccount vision/trainer", "Role vision/bulkhead-admin", "Role vision/bulkhead-edit",
		"RoleBinding vision/bulkhead-admin-user-dana", "NetworkPolicy vision/bulkhead-isolate-ingress",
		// The hand-written objects of the same file.
		"Role vision/config-reader", "RoleBinding vision/auditor",
	} {
		if !has(key) {
			t.Errorf("%s was not read; origins: %v", key, snap.Origins)
		}
	}
	if !strings.HasPrefix(snap.Origins["RoleBinding vision/auditor"], filepath.Join(rulesDir, "tenant-spec", "mixed.yaml")+":") {
		t.Errorf("the hand-written RoleBinding's origin is %q, want mixed.yaml", snap.Origins["RoleBinding vision/auditor"])
	}
	if !slices.ContainsFunc(snap.AdmissionPolicyBindings, func(b admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
		return b.Spec.PolicyName == "bulkhead-tenant-rolebindings"
	}) {
		t.Errorf("admission policy bindings = %v, want bulkhead's", snap.AdmissionPolicyBindings)
	}
	if len(snap.AdmissionPolicies) != 1 || snap.AdmissionPolicies[0].Name != "bulkhead-tenant-rolebindings" || ignored["ValidatingAdmissionPolicy"] != 0 {
		t.Errorf("admission policies = %v (ignored %v), want bulkhead's read", snap.AdmissionPolicies, ignored)
	}
}

// TestReadSecretDataDropped: no token, password or last-applied copy of a
// Secret is kept in the snapshot or printed in the report.
func TestReadSecretDataDropped(t *testing.T) {
	snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, "secrets")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range snap.Secrets {
		names = append(names, s.Namespace+"/"+s.Name)
		if s.Type != corev1.SecretTypeServiceAccountToken {
			t.Errorf("Secret %s/%s of type %s kept; only token Secrets are", s.Namespace, s.Name, s.Type)
		}
		if s.Data != nil || s.StringData != nil {
			t.Errorf("Secret %s/%s keeps its data", s.Namespace, s.Name)
		}
		if _, ok := s.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
			t.Errorf("Secret %s/%s keeps its last-applied-configuration, which holds the data", s.Namespace, s.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ops/backup-token", "team-a/deployer-token"}) {
		t.Errorf("token Secrets = %v", names)
	}
	tenants, err := Tenants(snap, tenantNamed("team-a", "team-b"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	dumpSnap, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	dumpReport, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{
		"ZXlKaGJHY2lPaUpTVXpJMU5pSjkudGVhbS1hLWRlcGxveWVyLXNlY3JldC10b2tlbg", // deployer-token, base64
		"team-a-deployer-secret-token",                                       // decoded
		"hunter2-app-config-password",                                        // the Opaque Secret
		"ops-backup-secret-token-value",                                      // stringData
		"dGVhbS1h",                                                           // data.namespace
	} {
		if strings.Contains(string(dumpSnap), secret) {
			t.Errorf("the snapshot holds secret data %q", secret)
		}
		if strings.Contains(string(dumpReport), secret) {
			t.Errorf("the report holds secret data %q", secret)
		}
	}
}
