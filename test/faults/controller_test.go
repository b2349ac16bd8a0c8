package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// controller is one `bulkhead controller` process, its log in a file.
type controller struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startController starts the controller with its endpoints off (the
// tests watch the cluster, not the process); it is stopped when the test
// ends, and its log printed if the test failed.
func startController(t *testing.T, name string, args ...string) *controller {
	t.Helper()
	c := &controller{log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	f, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"controller", "--kubeconfig", e2e.kubeconfig, "--metrics-bind-address", "0",
		"--health-probe-bind-address", "0", "--audit-debounce", "-1s"}, args...)
	c.cmd = exec.Command(e2e.bulkhead, all...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(c.log)
			t.Logf("log of %s:\n%s", name, tail(string(b)))
		}
	})
	return c
}

// kill ends the controller with SIGKILL: no cleanup at all.
func (c *controller) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
}

// waitReady waits until every named Tenant says Ready=True for its
// current generation: the controller's account of what it did.
func waitReady(t *testing.T, tenants []string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "every Tenant is Ready for its generation", func() (bool, string) {
		var list v1alpha1.TenantList
		if err := e2e.tenants.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		byName := map[string]*v1alpha1.Tenant{}
		for i := range list.Items {
			byName[list.Items[i].Name] = &list.Items[i]
		}
		var notReady []string
		for _, name := range tenants {
			tn := byName[name]
			if tn == nil {
				notReady = append(notReady, name+" (missing)")
				continue
			}
			c := apimeta.FindStatusCondition(tn.Status.Conditions, v1alpha1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != tn.Generation {
				notReady = append(notReady, fmt.Sprintf("%s (%v)", name, c))
			}
		}
		if len(notReady) > 3 {
			notReady = append(notReady[:3], fmt.Sprintf("... %d in all", len(notReady)))
		}
		return len(notReady) == 0, strings.Join(notReady, "; ")
	})
}

// The controller SIGKILLed while it reconciles a change of many Tenants
// (admins demoted, a member removed): the next one finishes the job, and
// the cluster holds exactly what the changed Tenants render.
func TestControllerKilledMidReconcile(t *testing.T) {
	need(t)
	const n = 60
	tenants := names("ctlkill", 1, n)
	var before, after strings.Builder
	for _, name := range tenants {
		before.WriteString(tenantDoc(name, member{"lead", "admin"}, member{"worker", "edit"}, member{"leaver", "edit"}))
		after.WriteString(tenantDoc(name, member{"lead", "view"}, member{"worker", "edit"}))
	}
	beforeFile := writeFile(t, "before.yaml", before.String())
	afterFile := writeFile(t, "after.yaml", after.String())
	wantBefore, want := rendered(t, beforeFile), rendered(t, afterFile)

	first := startController(t, "controller-1", "--concurrency", "1")
	must(t, kubectl(t, "apply", "-f", beforeFile), 0)
	waitSameAsRender(t, wantBefore, tenants, 4*time.Minute)
	waitReady(t, tenants, 2*time.Minute)

	must(t, kubectl(t, "apply", "-f", afterFile), 0)
	// Killed once some tenants have their admins demoted, and not all.
	done := 0
	eventually(t, 3*time.Minute, "the controller has demoted some admins", func() (bool, string) {
		done = 0
		for _, name := range tenants {
			if _, err := e2e.client.RbacV1().RoleBindings(name).Get(t.Context(), "bulkhead-admin-sa-lead", metav1.GetOptions{}); err != nil {
				done++
			}
		}
		return done > 0, fmt.Sprintf("%d of %d", done, n)
	})
	if done == n {
		t.Fatalf("all %d tenants were changed before the test could kill the controller", n)
	}
	first.kill(t)
	t.Logf("killed the controller with %d of %d tenants demoted", done, n)

	startController(t, "controller-2")
	waitSameAsRender(t, want, tenants, 4*time.Minute)
	waitReady(t, tenants, 2*time.Minute)
}
