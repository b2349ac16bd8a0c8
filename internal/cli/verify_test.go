package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

func TestVerifyHelpSaysWhatReviewsLeaveOut(t *testing.T) {
	out, errOut, code := run(t, "", "verify", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"--reviews", "SubjectAccessReview", "No token is\nissued", "admission"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify --help lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := run(t, "", "verify", "--reviews", "-o", "yaml"); code != ExitInvalid || !strings.Contains(errOut, "--output must be table or json") {
		t.Errorf("verify --reviews -o yaml: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestVerifyReviews runs `verify --reviews` on a local control plane of
// its own (the only test of this package that needs one): it answers the
// checks plain verify makes, in the same formats.
func TestVerifyReviews(t *testing.T) {
	switch mayskip, err := localcluster.TestBinaries(); {
	case err == nil:
	case mayskip:
		t.Skipf("BULKHEAD_SKIP_E2E=1: %v", err)
	default:
		t.Fatalf("%v (outside CI, BULKHEAD_SKIP_E2E=1 skips this test)", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(t.TempDir(), "cluster"), Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	bulkhead := func(stdin string, args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		err := Run(ctx, Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
			append([]string{"--kubeconfig", cluster.KubeconfigPath()}, args...))
		return out.String(), errOut.String(), ExitCode(err)
	}
	const spec = `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata: {name: vr-a}
spec:
  members:
  - {name: ana, role: edit}
  - {name: lead@example.com, kind: User, role: admin}
---
apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata: {name: vr-b}
`
	if _, errOut, code := bulkhead(spec, "apply", "-f", "-"); code != ExitOK {
		t.Fatalf("apply: exit %d: %s", code, errOut)
	}

	reports := map[string]verify.Report{}
	for _, mode := range []string{"run", "reviews"} {
		args := []string{"verify", "-o", "json"}
		if mode == "reviews" {
			args = append(args, "--reviews")
		}
		out, errOut, code := bulkhead("", args...)
		// The admission policy apply created takes effect once the API
		// server has loaded it: plain verify proves it, and retries until then.
		for deadline := time.Now().Add(time.Minute); mode == "run" && code != ExitOK && time.Now().Before(deadline); {
			time.Sleep(time.Second)
			out, errOut, code = bulkhead("", args...)
		}
		var r verify.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitOK {
			t.Fatalf("verify %s: exit %d, %v\nstdout:\n%s\nstderr:\n%s", mode, code, err, out, errOut)
		}
		reports[mode] = r
	}
	run, reviews := reports["run"].Checks, reports["reviews"].Checks
	if len(run) != len(reviews) || len(run) == 0 {
		t.Fatalf("verify made %d checks, verify --reviews %d", len(run), len(reviews))
	}
	states := 0
	for i, c := range reviews {
		r := run[i]
		if c.Tenant != r.Tenant || c.Member != r.Member || c.Scope != r.Scope || c.Namespace != r.Namespace || c.Action != r.Action || c.Got != r.Got {
			t.Errorf("check %d: verify %+v, verify --reviews %+v", i, r, c)
		}
		if strings.HasPrefix(c.Detail, "state check") {
			states++
		}
	}
	if states == 0 {
		t.Errorf("verify --reviews -o json says of no check that it is a state check")
	}

	out, errOut, code := bulkhead("", "verify", "--reviews")
	if want := fmt.Sprintf("all %d checks passed", len(reviews)); code != ExitOK || !strings.Contains(out, want) || !strings.Contains(out, "NS vr-a") {
		t.Errorf("verify --reviews: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestNearestTenantName(t *testing.T) {
	known := []string{"alice", "bob", "carol", "named-a", "named-b", "vision"}
	for _, tc := range []struct{ typed, want string }{
		{"alcie", "alice"},     // swapped letters
		{"nmaed-b", "named-b"}, // one swap
		{"named-c", "named-a"}, // a tie: the first in order
		{"visoin", "vision"},
		{"bo", "bob"},
		{"zzz", ""}, // nothing within two edits
		{"caroline", ""},
	} {
		if got := nearest(tc.typed, known); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}
