package apply

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// TestReadNamespacesIsRaceFree needs no cluster and only means something
// under -race: the LIST of a tenant's namespaces by label answers (without
// touching anything the other readers lock) with a namespace the tenant
// left, so that reader adds it to the set of namespaces to read while
// readNamespaces may still be ranging over that set.
func TestReadNamespacesIsRaceFree(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "race-old", Labels: v1alpha1.OwnershipLabels("race")}}
	c := cannedLabelList{Interface: fake.NewClientset(), items: []corev1.Namespace{*old}}
	// The race detector sees an unordered pair of accesses only in some
	// runs; twenty plans make a miss unlikely.
	for range 20 {
		p, err := New(c, Options{}).Plan(t.Context(), []v1alpha1.Tenant{tenant("race", inNamespace("race-a"))}, false, Scope{})
		check(t, err)
		// race-old is the tenant's and nothing else of it is there.
		if got := outcomes(p.Sets[0]); got[len(got)-1] != outcome(nsRef("race-old"), Cordoned) {
			t.Fatalf("changes = %q, want race-old cordoned last", got)
		}
	}
}

// cannedLabelList answers namespace LISTs by tenant label from items, and
// everything else from the embedded client.
type cannedLabelList struct {
	kubernetes.Interface
	items []corev1.Namespace
}

func (c cannedLabelList) CoreV1() typedcorev1.CoreV1Interface {
	return cannedCore{c.Interface.CoreV1(), c.items}
}

type cannedCore struct {
	typedcorev1.CoreV1Interface
	items []corev1.Namespace
}

func (c cannedCore) Namespaces() typedcorev1.NamespaceInterface {
	return cannedNamespaces{c.CoreV1Interface.Namespaces(), c.items}
}

type cannedNamespaces struct {
	typedcorev1.NamespaceInterface
	items []corev1.Namespace
}

func (n cannedNamespaces) List(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	if strings.Contains(opts.LabelSelector, v1alpha1.TenantLabel+" in") {
		return &corev1.NamespaceList{Items: n.items}, nil
	}
	return n.NamespaceInterface.List(ctx, opts)
}
