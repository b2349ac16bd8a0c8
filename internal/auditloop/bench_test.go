package auditloop

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// indexerReader is a client.Reader over client-go indexers that lists the
// way controller-runtime's cache reader does (pkg/cache/internal
// CacheReader.List): every stored object deep-copied, then set into the
// list. The informers of a real cache are these indexers.
type indexerReader struct {
	stores map[reflect.Type]toolscache.Indexer // by item type
}

func newIndexerReader() *indexerReader {
	return &indexerReader{stores: map[reflect.Type]toolscache.Indexer{}}
}

func (r *indexerReader) add(obj client.Object) {
	t := reflect.TypeOf(obj).Elem()
	s := r.stores[t]
	if s == nil {
		s = toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
		r.stores[t] = s
	}
	if err := s.Update(obj); err != nil {
		panic(err)
	}
}

func (r *indexerReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return fmt.Errorf("get is not used by the loop")
}

func (r *indexerReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var lo client.ListOptions
	lo.ApplyOptions(opts)
	share := lo.UnsafeDisableDeepCopy != nil && *lo.UnsafeDisableDeepCopy
	item := reflect.ValueOf(list).Elem().FieldByName("Items").Type().Elem()
	var out []runtime.Object
	if s := r.stores[item]; s != nil {
		for _, o := range s.List() {
			if share {
				out = append(out, o.(runtime.Object))
			} else {
				out = append(out, o.(runtime.Object).DeepCopyObject())
			}
		}
	}
	return apimeta.SetList(list, out)
}

// loadSnapshot puts every object of snap into r, and one Tenant object per
// namespace (the controller's case: every tenant is a Tenant).
func loadSnapshot(r *indexerReader, snap *audit.Snapshot) {
	each := func(n int, at func(i int) client.Object) {
		for i := range n {
			r.add(at(i))
		}
	}
	each(len(snap.Namespaces), func(i int) client.Object { return &snap.Namespaces[i] })
	each(len(snap.ServiceAccounts), func(i int) client.Object { return &snap.ServiceAccounts[i] })
	each(len(snap.Secrets), func(i int) client.Object { return &snap.Secrets[i] })
	each(len(snap.NetworkPolicies), func(i int) client.Object { return &snap.NetworkPolicies[i] })
	each(len(snap.ResourceQuotas), func(i int) client.Object { return &snap.ResourceQuotas[i] })
	each(len(snap.Roles), func(i int) client.Object { return &snap.Roles[i] })
	each(len(snap.ClusterRoles), func(i int) client.Object { return &snap.ClusterRoles[i] })
	each(len(snap.RoleBindings), func(i int) client.Object { return &snap.RoleBindings[i] })
	each(len(snap.ClusterRoleBindings), func(i int) client.Object { return &snap.ClusterRoleBindings[i] })
	for _, ns := range snap.Namespaces {
		r.add(&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: ns.Name}, Spec: v1alpha1.TenantSpec{Namespace: ns.Name}})
	}
}

// BenchmarkRBACChange is the cost of one RBAC change at 5,000 namespaces
// (SyntheticCluster: 50,000 RoleBindings, 20,000 Roles): a RoleBinding
// gains or loses a cross-tenant subject, then one run: the snapshot read
// from the cache, the audit, the statuses of 5,000 Tenants diffed with the
// last run's.
func BenchmarkRBACChange(b *testing.B) {
	snap := audit.SyntheticCluster(5000, 0.02, 1)
	r := newIndexerReader()
	loadSnapshot(r, snap)
	changed := 0
	l := New(r, Options{OnChange: func(t []string) { changed += len(t) }})
	ctx := context.Background()
	if err := l.run(ctx); err != nil {
		b.Fatal(err)
	}
	victim := snap.RoleBindings[0].DeepCopy()
	base := victim.Subjects
	b.ReportAllocs()
	b.ResetTimer()
	changed = 0
	i := 0
	for b.Loop() {
		i++
		if i%2 == 1 {
			victim.Subjects = append(base[:len(base):len(base)], rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "tenant-00042", Name: "runner"})
		} else {
			victim.Subjects = base
		}
		victim.ResourceVersion = fmt.Sprint(i)
		r.add(victim.DeepCopy())
		if err := l.run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(changed)/float64(i), "tenants-changed/op")
}

// BenchmarkReadCache is the snapshot-from-cache part alone.
func BenchmarkReadCache(b *testing.B) {
	r := newIndexerReader()
	loadSnapshot(r, audit.SyntheticCluster(5000, 0.02, 1))
	l := New(r, Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
