package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/auditloop"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

// Options configure the controller.
type Options struct {
	// MetricsAddr and ProbeAddr are where metrics and /healthz, /readyz
	// are served; "0" turns either off.
	MetricsAddr, ProbeAddr string
	// PprofAddr serves net/http/pprof; "" or "0" turns it off.
	PprofAddr string
	// LeaderElect makes replicas elect one leader through a Lease in
	// LeaderElectionNamespace; only the leader reconciles.
	LeaderElect             bool
	LeaderElectionNamespace string
	// VerifyInterval is how often an unchanged tenant is verified again.
	VerifyInterval time.Duration
	// VerifyOthers bounds how many other tenants' namespaces each member probes.
	VerifyOthers int
	// Workers is how many Tenants are reconciled at once.
	Workers int
	// AuditDebounce is the quiet time after an RBAC change before the
	// continuous audit runs; negative turns the audit off.
	AuditDebounce time.Duration
}

// Defaults of Options.
const (
	DefaultVerifyInterval = 6 * time.Hour
	DefaultVerifyOthers   = 3
	DefaultWorkers        = 32
	LeaderElectionID      = "bulkhead-controller"
	// EventSource names the controller in Events.
	EventSource = "bulkhead-controller"
	// namespaceIndex indexes Tenants by the namespace they want.
	namespaceIndex = "spec.namespace"
	// defaultsIndex indexes Tenants by the TenantDefaults they name.
	defaultsIndex = "spec.defaults"
	// subjectIndex indexes RoleBindings and ClusterRoleBindings by the
	// namespaces whose ServiceAccounts they name.
	subjectIndex = "subjects.namespace"
)

// Scheme holds every kind the controller reads.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run runs the controller until ctx is done.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	mgr, err := New(cfg, opts)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// New builds the manager with the Tenant controller and its runnables.
func New(cfg *rest.Config, opts Options) (manager.Manager, error) {
	if opts.VerifyInterval <= 0 {
		opts.VerifyInterval = DefaultVerifyInterval
	}
	if opts.VerifyOthers == 0 {
		opts.VerifyOthers = DefaultVerifyOthers
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.ProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// A renewal every 5 s rather than controller-runtime's 2 s: the
		// Lease is the controller's only steady-state write. A failed
		// leader is replaced within 30 s.
		LeaseDuration: ptr.To(30 * time.Second),
		RenewDeadline: ptr.To(20 * time.Second),
		RetryPeriod:   ptr.To(5 * time.Second),
		// The reconcile core and the audit read whole kinds; of Secrets
		// only ServiceAccount token Secrets are held, without their data.
		Cache: cache.Options{ByObject: auditloop.CacheByObject()},
	})
	if err != nil {
		return nil, fmt.Errorf("create the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("cache", cacheSynced(mgr)); err != nil {
		return nil, err
	}
	// The core's client speaks protobuf, as the CLI's does: the cheapest
	// encoding for the API server, which bounds how fast tenants get Ready.
	pb := rest.CopyConfig(cfg)
	pb.ContentType = "application/vnd.kubernetes.protobuf"
	pb.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	clientset, err := kubernetes.NewForConfig(pb)
	if err != nil {
		return nil, err
	}
	m, err := NewMetrics(metrics.Registry, mgr.GetCache())
	if err != nil {
		return nil, err
	}
	enf := &apply.Enforcement{}
	r := &TenantReconciler{
		Client:    mgr.GetClient(),
		Clientset: clientset,
		// One Enforcement: the policy Live writes holds back the admin
		// RoleBindings Adopting writes too.
		Live:     apply.New(clientset, apply.Options{Enforcement: enf}),
		Adopting: apply.New(clientset, apply.Options{Adopt: true, Enforcement: enf}),
		Cached:   apply.New(clientset, apply.Options{Lister: cacheLister(mgr.GetCache()), DryRun: true}),
		Recorder: mgr.GetEventRecorderFor(EventSource),
		Verify: func(ctx context.Context, t v1alpha1.Tenant, others []string) (*verify.Report, error) {
			return verify.Review(ctx, clientset, t, others, verify.Options{}) // others are already chosen
		},
		VerifyInterval: opts.VerifyInterval,
		VerifyOthers:   opts.VerifyOthers,
		Metrics:        m,
		Now:            time.Now,
	}
	var findings chan event.GenericEvent
	if opts.AuditDebounce >= 0 {
		disc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return nil, err
		}
		findings = make(chan event.GenericEvent, 64)
		loop := auditloop.New(mgr.GetCache(), auditloop.Options{
			Debounce:  opts.AuditDebounce,
			Recorder:  r.Recorder,
			Registry:  metrics.Registry,
			Discovery: disc,
			OnChange: func(tenants []string) {
				// The reconciles write the new findings to status.
				go func() {
					for _, t := range tenants {
						findings <- event.GenericEvent{Object: &v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t}}}
					}
				}()
			},
		})
		if err := mgr.Add(loop); err != nil {
			return nil, err
		}
		if err := loop.Watch(mgr); err != nil {
			return nil, err
		}
		r.Findings = loop
	}
	if err := r.setup(mgr, opts, findings); err != nil {
		return nil, err
	}
	return mgr, nil
}

func cacheSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches not synced yet")
		}
		return nil
	}
}

// setup registers the controller: Tenants, the objects the core makes
// (mapped to their tenant by label, before and after a change, so a
// relabelled object is put back), Roles and RoleBindings nobody manages in
// a tenant's namespace (verification), TenantDefaults (their tenants) and
// the shared admission policy.
func (r *TenantReconciler) setup(mgr manager.Manager, opts Options, findings <-chan event.GenericEvent) error {
	idx := mgr.GetFieldIndexer()
	ctx := context.Background()
	if err := indexNamespaces(ctx, idx); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.Tenant{}, namespaceIndex, func(o client.Object) []string {
		t := o.(*v1alpha1.Tenant)
		if t.Spec.Namespace != "" {
			return []string{t.Spec.Namespace}
		}
		return []string{t.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.Tenant{}, defaultsIndex, func(o client.Object) []string {
		if d := o.(*v1alpha1.Tenant).Spec.Defaults; d != "" {
			return []string{d}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, o := range []client.Object{&rbacv1.RoleBinding{}, &rbacv1.ClusterRoleBinding{}} {
		if err := idx.IndexField(ctx, o, subjectIndex, func(o client.Object) []string {
			switch b := o.(type) {
			case *rbacv1.RoleBinding:
				return subjectNamespaces(b.Subjects)
			case *rbacv1.ClusterRoleBinding:
				return subjectNamespaces(b.Subjects)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, o := range []client.Object{&rbacv1.Role{}, &rbacv1.RoleBinding{}, &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{}} {
		inf, err := mgr.GetCache().GetInformer(ctx, o)
		if err != nil {
			return err
		}
		bump := func(any) { r.rbacRevision.Add(1) }
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: bump, DeleteFunc: bump,
			UpdateFunc: func(old, new any) {
				if o, ok := old.(client.Object); ok {
					if n, ok := new.(client.Object); ok && o.GetResourceVersion() == n.GetResourceVersion() {
						return // a resync
					}
				}
				r.rbacRevision.Add(1)
			},
		}); err != nil {
			return err
		}
	}
	byLabel := &tenantHandler{reader: mgr.GetCache()}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		For(&v1alpha1.Tenant{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deleting{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers})
	for _, o := range []client.Object{&corev1.Namespace{}, &corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
		&rbacv1.ClusterRoleBinding{}, &corev1.ResourceQuota{}, &corev1.LimitRange{}, &networkingv1.NetworkPolicy{}} {
		b = b.Watches(o, byLabel)
	}
	b = b.Watches(&v1alpha1.TenantDefaults{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfDefaults))
	shared := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if o.GetName() == v1alpha1.RoleBindingPolicyName {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: sharedKey}}}
		}
		return nil
	})
	b = b.Watches(&admissionregistrationv1.ValidatingAdmissionPolicy{}, shared).
		Watches(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, shared)
	if findings != nil {
		b = b.WatchesRawSource(source.Channel(findings, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

func (r *TenantReconciler) tenantsOfDefaults(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.TenantList
	if err := r.Client.List(ctx, &list, client.MatchingFields{defaultsIndex: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, t := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
	}
	return out
}
