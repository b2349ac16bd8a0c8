package audit

import (
	"path/filepath"
	"testing"
)

// closureCases are issue 10's escalation-closure classes: what an
// identity a subject acts as holds is the subject's (cluster powers
// included), exec by get on clusters up to v1.34, token Secrets a subject
// creates, and rights a subject can grant itself. Each has near misses.
var closureCases = []ruleCase{
	{
		name: "closure/acting as an identity carries its cluster powers",
		dir:  "closure-powers",
		opts: tenantNamed("team-a"),
		wants: []*findingMatch{
			// A Deployment or CronJob runs as ci, which creates and approves CSRs.
			expect("csr-approve").sev(Critical).pat(14).of("team-a", "User dev").clusterWide().
				via("RoleBinding team-a/dev").via("ClusterRoleBinding ci-csr").
				saying("creates pods in team-a that run as ServiceAccount team-a/ci", "acting as ServiceAccount team-a/ci"),
			expect("csr-approve").sev(Critical).of("team-a", "User cron").via("ClusterRoleBinding ci-csr"),
			// get pods/exec is exec on v1.34 (the default version).
			expect("admission-write").sev(Critical).pat(15).of("team-a", "User execer").via("ClusterRoleBinding webhooker-admission").
				saying("execs into"),
			// A token minted for one named ServiceAccount.
			expect("nodes-proxy").sev(Critical).pat(12).of("team-a", "User minter").via("ClusterRoleBinding nodeproxy-proxy").
				fixing("RoleBinding team-a/minter"),
			// create secrets and get secrets: a token Secret for any ServiceAccount.
			expect("nodes-proxy").sev(Critical).of("team-a", "User sam").via("ClusterRoleBinding nodeproxy-proxy").
				saying("creates a token Secret in team-a and reads it back"),
			// Three hops: impersonate a, a's token Secret of ops/c... via b's jobs.
			expect("cluster-rbac-write").sev(Critical).of("team-a", "User hopper").via("ClusterRoleBinding c-cluster").
				via("RoleBinding team-a/hopper").saying("impersonates ServiceAccount team-a/a"),
			expect("node-escape").sev(High).of("team-a", "User hopper").via("ClusterRoleBinding c-cluster"),
		},
		nones: []*findingMatch{
			expect("").by("User viewer"),
			expect("").by("User minter2"),
			expect("").by("User sue"),
			// a2 creates Secrets in ops but cannot read them back.
			expect("cluster-rbac-write").by("User hopper2"),
			expect("node-escape").by("User hopper2"),
		},
	},
	{
		name: "closure/version: get pods/exec is no exec from v1.35",
		dir:  "closure-powers",
		opts: tenantNamed("team-a"),
		check: func(t *testing.T, _ *Report) {
			snap, _, err := ReadFiles([]string{filepath.Join(rulesDir, "closure-powers")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{"v1.35.0", "1.36"} {
				snap.KubernetesVersion = v
				r := mustAudit(t, snap, tenantNamed("team-a"))
				expect("").by("User execer").absent(t, r)
				expect("csr-approve").by("User dev").find(t, r)
			}
			snap.KubernetesVersion = "v1.33.2"
			expect("admission-write").by("User execer").find(t, mustAudit(t, snap, tenantNamed("team-a")))
		},
	},
	{
		name: "closure/rights a subject can grant itself",
		dir:  "self-grant",
		opts: tenantNamed("team-a", "team-p", "team-q", "team-m"),
		wants: []*findingMatch{
			expect("node-escape").sev(Critical).pat(13).of("team-p", "User pat").in("team-p").saying("no pod-security.kubernetes.io/enforce label"),
			expect("node-escape").sev(Critical).of("team-q", "User quin").in("team-q").saying("enforce=privileged"),
			expect("bind-escalate").sev(High).pat(10).of("team-a", "User esc").in("team-a").saying("Role team-a/esc-role"),
			expect("bind-escalate").sev(Critical).of("team-a", "User cesc").saying("ClusterRole self-edit"),
			expect("nodes-proxy").sev(Critical).of("team-a", "User maker").via("ClusterRoleBinding ghost-proxy").
				saying("creates the missing ServiceAccount"),
			expect("impersonate").sev(Critical).of("team-a", "User gina").saying("system:masters"),
			// A RoleBinding to edit she may bind, then pods as builder.
			expect("nodes-proxy").sev(Critical).of("team-a", "User bea").via("ClusterRoleBinding builder-proxy").
				saying("binds itself ClusterRole edit in team-a and creates pods that run as ServiceAccount team-a/builder"),
			// A RoleBinding names a ServiceAccount that does not exist yet.
			expect("cross-tenant-access").sev(Critical).of("team-m", "User mona").in("team-a").
				via("RoleBinding team-a/robot-edit").saying("creates the missing ServiceAccount named by a binding, then runs as ServiceAccount team-m/robot"),
		},
		nones: []*findingMatch{
			expect("node-escape").by("User rob"),
			expect("").by("User esc2"),
			expect("").by("User esc3"),
			expect("").by("User binder"),
			expect("bind-escalate").by("User binder2"),
			expect("").by("User maker2"),
			expect("").by("User gabe"),
			expect("").by("User nina"),
			expect("").by("User bert"),
			expect("nodes-proxy").by("User bill"),
		},
	},
}

func TestClosureRules(t *testing.T) {
	for _, c := range closureCases {
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

func TestExecByGet(t *testing.T) {
	for v, want := range map[string]bool{"v1.34.4": true, "v1.33.0": true, "1.34": true, "v1.35.0": false, "v1.35.0-rc.1": false,
		"v2.0.0": false, "": true, "v0.0.0-master+$Format": true, "garbage": true} {
		if got := execByGet(v); got != want {
			t.Errorf("execByGet(%q) = %v, want %v", v, got, want)
		}
	}
}
