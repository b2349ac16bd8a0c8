package audit

import (
	"path/filepath"
	"strings"
	"testing"
)

// namedRuleCases are the classes of issue 10 item 3 and the dangling
// subjects of item 4: rights limited by resourceNames to the objects that
// matter, and subjects in namespaces that do not exist.
var namedRuleCases = []ruleCase{
	{
		name: "named-objects/writes limited by resourceNames to security objects",
		dir:  "named-objects",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("admission-write").sev(Critical).pat(15).of("team-a", "User alice").clusterWide().
				via("ClusterRoleBinding alice-webhook-tuner").saying("patch", "validatingwebhookconfigurations/pod-security-webhook").
				fixing("ClusterRole webhook-tuner"),
			expect("admission-write").sev(Critical).pat(15).of("team-a", "User bob").clusterWide().
				via("ClusterRoleBinding bob-policy-editor").saying("validatingadmissionpolicies/bulkhead-tenant-rolebindings", "delete"),
			expect("guardrail-write").sev(High).pat(20).of("team-a", "User erin").in("team-a").
				via("RoleBinding team-a/erin-quota-tweaker").saying("ResourceQuota bulkhead", "LimitRange bulkhead", "NetworkPolicy bulkhead-isolate-ingress"),
			expect("bind-escalate").sev(High).pat(10).of("team-a", "User frank").in("team-a").
				via("RoleBinding team-a/frank-admin-binder").saying("make itself admin", "ClusterRole admin", "escalation check"),
			expect("bind-escalate").sev(Critical).pat(10).of("team-a", "User ivan").clusterWide().
				via("ClusterRoleBinding ivan-cluster-admin-binder").saying("make itself admin of the whole cluster", "cluster-admin"),
			expect("bind-escalate").atLeastSev(High).by("User jane").in("team-b").via("RoleBinding team-b/jane-admin-binder"),
		},
		nones: []*findingMatch{
			expect("").by("User carl").atLeastSev(High),
			expect("admission-write").by("User carl"),
			expect("").by("User dave").atLeastSev(High),
			expect("guardrail-write").by("User fay"),
			expect("bind-escalate").by("User gina"),
			expect("bind-escalate").by("User hank"),
			expect("").by("User kim").atLeastSev(High),
			expect("admission-write").by("User lee"),
		},
	},
	{
		name: "dangling-subject/ServiceAccounts of namespaces that do not exist",
		dir:  "dangling-subject",
		opts: tenantNamed("team-a", "team-b"),
		wants: []*findingMatch{
			expect("dangling-subject").sev(High).pat(20).of("team-a", "ServiceAccount teamb/deployer").in("team-a").
				via("RoleBinding team-a/team-b-deployer").saying("namespace teamb does not exist", "typo for namespace team-b").
				fixing("team-b, not teamb"),
			expect("dangling-subject").sev(Critical).of("", "ServiceAccount team-aa/ci").clusterWide().
				via("ClusterRoleBinding team-a-ci-admin").saying("typo for namespace team-a"),
			expect("dangling-subject").sev(Medium).by("ServiceAccount platform-ci/pusher").in("team-b").
				saying("defined in manifests not read"),
		},
		check: func(t *testing.T, r *Report) {
			n := 0
			for _, f := range r.Findings {
				if f.Rule == "dangling-subject" && f.Subject == "ServiceAccount teamb/deployer" {
					n++
					if len(f.Objects) != 2 || !strings.Contains(f.Message, "2 bindings") {
						t.Errorf("want both bindings in the one finding: %v %s", f.Objects, f.Message)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d dangling-subject findings for teamb/deployer, want 1", n)
			}
		},
		nones: []*findingMatch{
			expect("dangling-subject").via("team-b-deployer-ok"),
			expect("missing-subject").by("ServiceAccount teamb/deployer"),
			expect("dangling-subject").by("ServiceAccount monitoring/prometheus"),
		},
	},
	{
		name: "aggregated-source/fixes name the labelled source ClusterRole",
		dir:  "aggregated-source",
		opts: tenantNamed("team-a"),
		wants: []*findingMatch{
			expect("admission-write").sev(Critical).of("team-a", "User alice").clusterWide().via("ClusterRoleBinding alice-platform-tools").
				saying("mutatingwebhookconfigurations/sidecar-injector").
				fixing("In ClusterRole platform-tools-webhooks (aggregated into ClusterRole platform-tools", "does not last"),
		},
		check: func(t *testing.T, r *Report) {
			// A source without the named rule is not blamed.
			for _, f := range r.Findings {
				if f.Rule == "admission-write" && strings.Contains(f.Fix, "platform-tools-configmaps") {
					t.Errorf("fix blames a source that does not hold the rule: %s", f.Fix)
				}
			}
		},
	},
	{
		name: "aggregated-role/the fix names the labelled sources",
		dir:  "aggregated",
		wants: []*findingMatch{
			expect("aggregated-role").of("team-a", "User alice").via("RoleBinding team-a/alice-ml").
				fixing("ClusterRole ml-user-notebooks, labelled to aggregate into ml-user", "rewrites it"),
		},
	},
	{
		name: "cluster-rbac-write/the fix says what the escalation check still prevents",
		dir:  "rbac-write-escalation",
		opts: tenantNamed("team-a"),
		wants: []*findingMatch{
			expect("cluster-rbac-write").sev(Critical).of("team-a", "User bob").clusterWide().via("ClusterRoleBinding bob-binding-writer").
				fixing("escalation check still refuses", "not currently held", "own rights to anyone"),
			expect("bind-escalate").sev(Critical).of("team-a", "User carl").clusterWide(),
		},
		check: func(t *testing.T, r *Report) {
			for _, f := range r.Findings {
				if f.Subject == "User carl" && strings.Contains(f.Fix, "escalation check still refuses") {
					t.Errorf("carl holds bind, yet the fix says the escalation check stands: %s", f.Fix)
				}
			}
		},
	},
}

func TestNamedRules(t *testing.T) {
	for _, c := range namedRuleCases {
		t.Run(c.name, func(t *testing.T) {
			r := rtAudit(t, c.dir, c.opts)
			for _, w := range c.wants {
				w.find(t, r)
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
}

// TestControllerRBACReported audits bulkhead's own controller ClusterRole,
// as make generate writes it: escalate and bind limited to bulkhead's Role
// names still let it make itself admin of every namespace, which
// docs/controller-rbac.md says the audit reports.
func TestControllerRBACReported(t *testing.T) {
	snap, _, err := ReadFiles([]string{filepath.Join("..", "..", "config", "rbac", "role.yaml"), filepath.Join(rulesDir, "controller-rbac")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustAudit(t, snap, tenantNamed("team-a"))
	expect("operator-deputy").sev(High).pat(16).of("", "ServiceAccount bulkhead-system/bulkhead-controller").
		via("ClusterRoleBinding bulkhead-controller").
		saying("Roles named bulkhead-admin, bulkhead-edit, bulkhead-view", "make itself admin of every namespace").find(t, r)
	if t.Failed() {
		t.Logf("all findings:\n%s", listFindings(r))
	}
}

// TestDanglingSubjectComplete: on a whole cluster an absent Namespace
// object means the namespace does not exist, whatever objects mention it.
func TestDanglingSubjectComplete(t *testing.T) {
	snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, "dangling-subject")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap.Complete = true
	r := mustAudit(t, snap, tenantNamed("team-a", "team-b"))
	expect("dangling-subject").sev(High).by("ServiceAccount platform-ci/pusher").in("team-b").saying("on the cluster").find(t, r)
	expect("dangling-subject").sev(Low).by("ServiceAccount monitoring/prometheus").in("team-b").find(t, r)
	expect("dangling-subject").by("ServiceAccount team-b/deployer").absent(t, r)
	if t.Failed() {
		t.Logf("all findings:\n%s", listFindings(r))
	}
}
