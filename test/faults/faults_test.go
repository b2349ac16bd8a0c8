package faults

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// faultTenants is large enough that apply is still writing when the fault
// hits.
const faultTenants = 500

// change is a spec change applied under a fault: the first tenants exist
// with an admin, an editor and a member about to leave; the change demotes
// the admin to view, removes the leaver and adds the other tenants.
type change struct {
	prefix     string
	before     string // spec file applied first, without faults
	after      string // the change
	tenants    []string
	demoted    []string // tenants whose admin is demoted
	wantBefore world
	want       world
}

func newChange(t *testing.T, prefix string) *change {
	t.Helper()
	c := &change{prefix: prefix, tenants: names(prefix, 1, faultTenants), demoted: names(prefix, 1, 10)}
	var before, after strings.Builder
	for _, name := range c.demoted {
		before.WriteString(tenantDoc(name, member{"lead", "admin"}, member{"worker", "edit"}, member{"leaver", "edit"}))
		after.WriteString(tenantDoc(name, member{"lead", "view"}, member{"worker", "edit"}))
	}
	for _, name := range c.tenants[len(c.demoted):] {
		after.WriteString(tenantDoc(name, member{"lead", "admin"}, member{"worker", "edit"}))
	}
	c.before = writeFile(t, prefix+"-before.yaml", before.String())
	c.after = writeFile(t, prefix+"-after.yaml", after.String())
	c.want = rendered(t, c.after)
	// The test means something only if the change takes access away.
	for _, name := range c.demoted {
		admin := 0
		for _, o := range c.want[name] {
			if o.Kind == "RoleBinding" && strings.Contains(strings.Join(o.Subjects, ","), "/lead") && strings.Contains(o.RoleRef, "admin") {
				admin++
			}
		}
		if admin != 0 {
			t.Fatalf("render of the change still binds %s's lead to an admin role: the test is wrong", name)
		}
	}
	must(t, bulkhead(t, "apply", "-f", c.before).wait(), 0)
	return c
}

// startDuring starts the apply of the change and returns once a part of its
// tenants' namespaces exist (and most do not yet).
func (c *change) startDuring(t *testing.T, args ...string) *proc {
	t.Helper()
	run := bulkhead(t, append([]string{"apply", "-f", c.after}, args...)...)
	eventually(t, 3*time.Minute, "apply has created some of the tenants' namespaces", func() (bool, string) {
		if run.exited() {
			t.Fatalf("apply ended before the fault (the run is too small to interrupt): %s", run.wait())
		}
		n := namespacesOf(t, c.prefix)
		return n >= len(c.demoted)+40, fmt.Sprintf("%d namespaces", n)
	})
	// Namespaces come first (the cluster stage): all of them may exist
	// while the run still writes the rest, so only its exit counts.
	n := namespacesOf(t, c.prefix)
	if run.exited() {
		t.Fatalf("apply ended before the fault (the run is too small to interrupt): %s", run.wait())
	}
	t.Logf("injecting the fault with %d of %d namespaces there", n, faultTenants)
	return run
}

// converges: the same command again exits 0 and the cluster holds exactly
// what the change renders: the demoted admins' bindings gone, the leavers'
// ServiceAccounts and tokens gone, nothing stray.
func (c *change) converges(t *testing.T) {
	t.Helper()
	r := must(t, bulkhead(t, "apply", "-f", c.after).wait(), 0)
	t.Logf("the second run: %s", lastLine(r.stderr))
	sameAsRender(t, c.want, c.tenants)
	plan := must(t, bulkhead(t, "plan", "-f", c.after).wait(), 0)
	if !strings.Contains(plan.stdout, "No changes") {
		t.Errorf("plan after convergence has changes:\n%s", tail(plan.stdout))
	}
}

// undoneRE is the line of apply's error naming the tenants it did not finish.
var undoneRE = regexp.MustCompile(`(\d+) tenants? not fully applied: (.+)`)

// saysWhatIsUndone checks the first run's output: a run that did not finish
// exits non-zero and names the tenants it did not finish; a run that did
// finish says 0 failed.
func (c *change) saysWhatIsUndone(t *testing.T, r result, mustFail bool) {
	t.Helper()
	if r.code == 0 {
		if mustFail {
			t.Fatalf("apply under the fault: want a non-zero exit, got %s", r)
		}
		if !strings.Contains(lastLine(r.stderr), " 0 failed") {
			t.Errorf("apply exited 0 but does not say 0 failed: %s", lastLine(r.stderr))
		}
		t.Logf("apply rode out the fault: %s", lastLine(r.stderr))
		return
	}
	if r.code != 1 {
		t.Fatalf("apply under the fault: want exit 0 or 1, got %s", r)
	}
	t.Logf("apply under the fault:\n%s", strings.Join(messageLines(r.stderr), "\n"))
	m := undoneRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("apply failed and does not name the tenants it left undone (\"N tenants not fully applied: a, b, ...\"):\n%s", r)
	}
	n, _ := strconv.Atoi(m[1])
	named := strings.Split(strings.TrimSuffix(regexp.MustCompile(` and \d+ more.*$`).ReplaceAllString(m[2], ""), "."), ", ")
	if n == 0 || n > faultTenants || len(named) == 0 || len(named) > n {
		t.Errorf("apply says %d tenants not fully applied and names %d: %q", n, len(named), m[0])
	}
	for _, name := range named {
		if !slices.Contains(c.tenants, strings.TrimSpace(name)) {
			t.Errorf("apply names %q as not fully applied, which is no tenant of the spec", name)
		}
	}
	if !strings.Contains(strings.ToLower(r.stderr), "run the same command again") {
		t.Errorf("apply failed and does not say how to finish (run the same command again):\n%s", tail(r.stderr))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

var progressRE = regexp.MustCompile(`^\d+/\d+ objects`)

// messageLines are stderr's non-empty lines other than progress.
func messageLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && !progressRE.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// etcd frozen for 10 s: the API server cannot read or write anything.
func TestEtcdPausedMidApply(t *testing.T) {
	need(t)
	c := newChange(t, "etcd")
	run := c.startDuring(t, "--retry-timeout", "5s")
	if err := e2e.cluster.PauseEtcd(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = e2e.cluster.ResumeEtcd()
		}
	})
	time.Sleep(10 * time.Second)
	if err := e2e.cluster.ResumeEtcd(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	c.saysWhatIsUndone(t, run.wait(), false)
	c.converges(t)
}

// The API server SIGKILLed and away for longer than --retry-timeout: the
// run gives up, says so, and the same command finishes the job.
func TestAPIServerKilledMidApply(t *testing.T) {
	need(t)
	c := newChange(t, "kill")
	run := c.startDuring(t, "--retry-timeout", "3s")
	if err := e2e.cluster.KillAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e2e.cluster.StartAPIServer(t.Context()) })
	select {
	case <-run.done:
	case <-time.After(15 * time.Second):
	}
	if err := e2e.cluster.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.saysWhatIsUndone(t, run.wait(), true)
	c.converges(t)
}

// The API server killed and back within --retry-timeout: the run waits it
// out.
func TestAPIServerRestartedMidApply(t *testing.T) {
	need(t)
	c := newChange(t, "restart")
	run := c.startDuring(t)
	if err := e2e.cluster.KillAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e2e.cluster.StartAPIServer(t.Context()) })
	time.Sleep(2 * time.Second)
	if err := e2e.cluster.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.saysWhatIsUndone(t, run.wait(), false)
	c.converges(t)
}
