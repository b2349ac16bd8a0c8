package faults

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// throttledRE is a request answered 429 in client-go's -v 6 log.
var throttledRE = regexp.MustCompile(`status="?429`)

// API Priority and Fairness puts bulkhead's user in a priority level with
// a tiny share, one queue of one: most of its concurrent requests are
// refused with 429. Apply must slow down, not fail, and converge.
func TestThrottledByPriorityAndFairness(t *testing.T) {
	need(t)
	const ns, sa = "faults-apf", "throttled-bulkhead"
	// The local control plane runs without API Priority and Fairness (it
	// only adds latency to tests): on for this test only.
	if err := e2e.cluster.RestartAPIServerWithFlags(t.Context(), "--enable-priority-and-fairness=true"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e2e.cluster.RestartAPIServerWithFlags(context.Background(), "--enable-priority-and-fairness=false"); err != nil {
			t.Error(err)
		}
	})
	kubeconfig := serviceAccountKubeconfig(t, ns, sa)
	limit := &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "faults-trickle"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To[int32](1),
				LendablePercent:          ptr.To[int32](0),
				BorrowingLimitPercent:    ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{
					Type:    flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 1},
				},
			},
		},
	}
	schema := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "faults-trickle"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: limit.Name},
			MatchingPrecedence:         500,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount,
					ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: ns, Name: sa}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"},
					ClusterScope: true, Namespaces: []string{"*"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}},
		},
	}
	fc := e2e.client.FlowcontrolV1()
	if _, err := fc.PriorityLevelConfigurations().Create(t.Context(), limit, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fc.PriorityLevelConfigurations().Delete(t.Context(), limit.Name, metav1.DeleteOptions{}) })
	if _, err := fc.FlowSchemas().Create(t.Context(), schema, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fc.FlowSchemas().Delete(t.Context(), schema.Name, metav1.DeleteOptions{}) })
	// The API server takes the new configuration up within seconds; each
	// response names the FlowSchema that classified its request.
	created, err := fc.FlowSchemas().Get(t.Context(), schema.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "requests of "+sa+" are classified by FlowSchema "+schema.Name, func() (bool, string) {
		resp, err := httpClient.Get(cfg.Host + "/api")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		got := resp.Header.Get(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID)
		return got == string(created.UID), "FlowSchema UID " + got
	})

	const n = 80
	tenants := names("apf", 1, n)
	var b strings.Builder
	for _, name := range tenants {
		b.WriteString(tenantDoc(name, member{"lead", "admin"}, member{"worker", "edit"}))
	}
	file := writeFile(t, "apf.yaml", b.String())
	want := rendered(t, file)
	r := start(t, kubeconfig, e2e.bulkhead, "apply", "-f", file, "--concurrency", "64", "-v", "6").wait()
	throttled := len(throttledRE.FindAllString(r.stderr, -1))
	t.Logf("apply as %s: exit %d, %d requests answered 429; %s", sa, r.code, throttled, lastLine(r.stderr))
	if throttled == 0 {
		t.Fatalf("no request was answered 429: the priority level does not throttle bulkhead, the test tests nothing:\n%s", tail(r.stderr))
	}
	if r.code != 0 {
		// Throttled past --retry-timeout: it must say what is undone, and
		// the same command must finish.
		c := &change{tenants: tenants}
		c.saysWhatIsUndone(t, r, false)
		r = start(t, kubeconfig, e2e.bulkhead, "apply", "-f", file, "--concurrency", "64").wait()
		must(t, r, 0)
	}
	sameAsRender(t, want, tenants)
}

// serviceAccountKubeconfig makes a cluster-admin ServiceAccount and returns
// a kubeconfig that authenticates as it with a token.
func serviceAccountKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	ctx := t.Context()
	core := e2e.client.CoreV1()
	if _, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	if _, err := e2e.client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := core.ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(e2e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctxName := cfg.CurrentContext
	user := cfg.Contexts[ctxName].AuthInfo
	cfg.AuthInfos[user].ClientCertificateData, cfg.AuthInfos[user].ClientKeyData = nil, nil
	cfg.AuthInfos[user].ClientCertificate, cfg.AuthInfos[user].ClientKey = "", ""
	cfg.AuthInfos[user].Token = tr.Status.Token
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
