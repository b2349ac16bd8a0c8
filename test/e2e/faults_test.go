package e2e

// The API server restarts, or goes away for good, in the middle of a large
// apply. What bulkhead promises then:
//
//   - `apply --retry-timeout D` (default 30s) retries each request's transient
//     failures for up to D, so a restart costs a pause, not failures;
//   - stderr ends with the result line
//     "N tenants, M objects: C created, G configured, U unchanged, R removed, F failed in 12.3s";
//   - when the server stays away longer than D, apply exits 1 with one summary
//     ("the API server stopped answering ... W of M objects written, P not ...
//     run the same command again to converge") instead of a line per object,
//     and the same command converges once the server is back.
//
// Each test runs its own control plane (faultCluster), so the faults and
// the 500 tenants it leaves touch no other test.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// faultTenants is large enough that apply is still writing when the fault
// hits: 7 objects per tenant.
const faultTenants = 500

func TestApplySurvivesAPIServerRestart(t *testing.T) {
	c := startFaultCluster(t)
	file := writeSpec(t, tenantsYAML(tenantNames("fault", faultTenants)...))

	run := c.start(t, "apply", "-f", file)
	run.waitUntilWriting(t)
	if err := c.RestartAPIServer(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	r := run.wait()
	if r.code != 0 {
		t.Fatalf("apply across an API server restart: want exit 0, got %s", r)
	}
	s := parseResult(t, r)
	t.Logf("apply across a restart: %s", lastLine(r.stderr))
	if s.tenants != faultTenants || s.failed != 0 || s.created+s.configured+s.unchanged != s.objects {
		t.Errorf("apply across a restart: %+v, want %d tenants, every object written, 0 failed:\n%s", s, faultTenants, r)
	}
	assertNoKlog(t, r)

	c.assertConverged(t, file, "fault", faultTenants)
}

func TestApplyStopsWhenTheServerStaysAway(t *testing.T) {
	c := startFaultCluster(t)
	file := writeSpec(t, tenantsYAML(tenantNames("away", faultTenants)...))

	run := c.start(t, "apply", "-f", file, "--retry-timeout", "5s")
	run.waitUntilWriting(t)
	if err := c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	// Away for four times the retry budget, unless apply gives up sooner, as
	// it should; an apply that outwaits the outage succeeds and fails below.
	select {
	case <-run.done:
	case <-time.After(20 * time.Second):
	}
	if err := c.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := run.wait()
	if r.code != 1 {
		t.Fatalf("apply while the API server stays away past --retry-timeout: want exit 1, got %s", r)
	}
	t.Logf("apply with the server away:\n%s", strings.Join(messageLines(r.stderr), "\n"))
	stderr := strings.ToLower(r.stderr)
	for _, want := range []string{"the api server stopped answering", "run the same command again to converge"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary does not say %q:\n%s", want, r.stderr)
		}
	}
	if m := writtenRE.FindStringSubmatch(r.stderr); m == nil {
		t.Errorf("summary does not say how many objects were written (\"W of M objects written, P not\"):\n%s", r.stderr)
	} else if written, total, notWritten := atoi(m[1]), atoi(m[2]), atoi(m[3]); written+notWritten != total || notWritten == 0 {
		t.Errorf("summary says %d of %d objects written, %d not: want the two to add up, some not written", written, total, notWritten)
	}
	if lines := messageLines(r.stderr); len(lines) >= 20 {
		t.Errorf("stderr has %d lines (progress aside), want one summary, not a line per object:\n%s", len(lines), r.stderr)
	}
	assertNoKlog(t, r)

	again := c.run(t, "apply", "-f", file)
	if again.code != 0 {
		t.Fatalf("apply once the server is back: want exit 0, got %s", again)
	}
	if s := parseResult(t, again); s.tenants != faultTenants || s.failed != 0 {
		t.Errorf("apply once the server is back: %+v, want %d tenants, 0 failed", s, faultTenants)
	}
	c.assertConverged(t, file, "away", faultTenants)
}

// faultCluster is a control plane of the test's own. Faults would disturb
// the tests sharing e2e's cluster, and so would 500 tenants left behind:
// the namespace controller takes minutes to delete them, and until then
// tests that discover every tenant on the cluster (prune, verify without
// -f) would find them. Thrown away with the test, it needs no cleanup.
type faultCluster struct {
	*localcluster.Cluster
	client kubernetes.Interface
}

func startFaultCluster(t *testing.T) *faultCluster {
	t.Helper()
	c, err := localcluster.Start(t.Context(), localcluster.Options{DataDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &faultCluster{Cluster: c, client: client}
}

// testLog forwards localcluster's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// run runs bulkhead against the cluster and waits for it.
func (c *faultCluster) run(t *testing.T, args ...string) result {
	t.Helper()
	return c.start(t, args...).wait()
}

// assertConverged: plan sees nothing to do, and every kind of object is
// there for each tenant and for no other: the retries left no orphans and
// no tenant with more or fewer objects than the others.
func (c *faultCluster) assertConverged(t *testing.T, file, prefix string, tenants int) {
	t.Helper()
	plan := c.run(t, "plan", "-f", file)
	if plan.code != 0 || !strings.Contains(plan.stdout, "No changes") {
		t.Errorf("plan after apply: want exit 0 and no changes, got %s", plan)
	}
	ctx := t.Context()
	opts := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector + "," + v1alpha1.TenantLabel}
	core, rbac, networking := c.client.CoreV1(), c.client.RbacV1(), c.client.NetworkingV1()
	for _, kind := range []struct {
		name string
		list func() (runtime.Object, error)
	}{
		{"namespaces", func() (runtime.Object, error) { return core.Namespaces().List(ctx, opts) }},
		{"serviceaccounts", func() (runtime.Object, error) { return core.ServiceAccounts("").List(ctx, opts) }},
		{"resourcequotas", func() (runtime.Object, error) { return core.ResourceQuotas("").List(ctx, opts) }},
		{"limitranges", func() (runtime.Object, error) { return core.LimitRanges("").List(ctx, opts) }},
		{"roles", func() (runtime.Object, error) { return rbac.Roles("").List(ctx, opts) }},
		{"rolebindings", func() (runtime.Object, error) { return rbac.RoleBindings("").List(ctx, opts) }},
		{"networkpolicies", func() (runtime.Object, error) { return networking.NetworkPolicies("").List(ctx, opts) }},
	} {
		list, err := kind.list()
		if err != nil {
			t.Fatalf("list %s: %v", kind.name, err)
		}
		perTenant := map[string]int{}
		if err := meta.EachListItem(list, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err != nil {
				return err
			}
			if tenant := m.GetLabels()[v1alpha1.TenantLabel]; strings.HasPrefix(tenant, prefix+"-") {
				perTenant[tenant]++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(perTenant) != tenants {
			t.Errorf("%s of %d %s-* tenants, want %d", kind.name, len(perTenant), prefix, tenants)
		}
		first := perTenant[fmt.Sprintf("%s-%04d", prefix, 1)]
		for tenant, n := range perTenant {
			if n != first {
				t.Errorf("tenant %s has %d %s, %s-0001 has %d", tenant, n, kind.name, prefix, first)
			}
		}
	}
}

var (
	// resultRE is the last line of apply's stderr.
	resultRE = regexp.MustCompile(`^(\d+) tenants, (\d+) objects: (\d+) created, (\d+) configured, (\d+) unchanged, (\d+) removed, (\d+) failed in \S+$`)
	// writtenRE is the part of the "server went away" summary with counts.
	writtenRE = regexp.MustCompile(`(\d+) of (\d+) objects written, (\d+) not`)
	// klogRE matches client-go's log lines ("E1202 01:37:24.414994 ..."),
	// which are not for users' eyes.
	klogRE = regexp.MustCompile(`(?m)^[EWI]\d{4} `)
	// progressRE matches apply's progress lines, which are not messages.
	progressRE = regexp.MustCompile(`^\d+/\d+ objects`)
)

// counts is apply's result line.
type counts struct {
	tenants, objects, created, configured, unchanged, removed, failed int
}

func parseResult(t *testing.T, r result) counts {
	t.Helper()
	m := resultRE.FindStringSubmatch(lastLine(r.stderr))
	if m == nil {
		t.Fatalf("stderr does not end with \"N tenants, M objects: C created, G configured, U unchanged, R removed, F failed in D\":\n%s", r)
	}
	return counts{atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err) // only called on \d+ matches
	}
	return n
}

func assertNoKlog(t *testing.T, r result) {
	t.Helper()
	if l := klogRE.FindString(r.stderr); l != "" {
		t.Errorf("client-go log lines on stderr (first at %q):\n%s", l, r.stderr)
	}
}

// messageLines are stderr's non-empty lines other than progress.
func messageLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		// A terminal progress bar redraws with \r; pipes get whole lines.
		if l = strings.TrimSpace(l); l != "" && !progressRE.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func tenantNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
	}
	return names
}

// background is a bulkhead command that runs while the test does
// something to the cluster.
type background struct {
	stdout, stderr *lineBuffer
	writing        chan struct{} // closed once the command shows it is writing
	done           chan struct{} // closed once it exited
	result         result        // valid after done
}

// start starts bulkhead as the cluster's admin; it is killed if the test
// ends first.
func (c *faultCluster) start(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, e2e.bulkhead, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath(), "NO_COLOR=1")
	cmd.Dir = e2e.root
	b := &background{writing: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	writing := func() { once.Do(func() { close(b.writing) }) }
	// Results on stdout, or progress on stderr: either says the writes
	// have begun.
	b.stdout = &lineBuffer{onLine: func(n int, _ string) {
		if n >= 1000 {
			writing()
		}
	}}
	b.stderr = &lineBuffer{onLine: func(_ int, line string) {
		if progressRE.MatchString(line) {
			writing()
		}
	}}
	cmd.Stdout, cmd.Stderr = b.stdout, b.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start bulkhead %v: %v", args, err)
	}
	go func() {
		defer close(b.done)
		defer cancel()
		err := cmd.Wait()
		b.result = result{stdout: b.stdout.String(), stderr: b.stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			b.result.code = ee.ExitCode()
		} else if err != nil {
			b.result.code = -1
			b.result.stderr += fmt.Sprintf("\n(test: wait for bulkhead: %v)", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// waitUntilWriting returns once the command is writing objects, or after a
// second if its output does not show it (500 tenants take a few seconds);
// it fails the test if the command exited first, since a fault injected
// after that tests nothing.
func (b *background) waitUntilWriting(t *testing.T) {
	t.Helper()
	select {
	case <-b.writing:
	case <-b.done:
	case <-time.After(time.Second):
	}
	select {
	case <-b.done:
		t.Fatalf("bulkhead exited before the fault could be injected (if it succeeded, the run is too small to interrupt):\n%s", b.result)
	default:
	}
}

func (b *background) wait() result {
	<-b.done
	return b.result
}

// lineBuffer keeps everything written to it and calls onLine with each
// complete line and the number of lines so far.
type lineBuffer struct {
	onLine func(n int, line string)

	mu      sync.Mutex
	buf     bytes.Buffer
	lines   int
	partial []byte
}

func (w *lineBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines++
		w.onLine(w.lines, string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *lineBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
