package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

type sarResult struct {
	reviews, agree, disagree int
	elapsed, alone           time.Duration // concurrent batch; mean of one review alone
	concurrent               int
}

func (r sarResult) rate() float64 { return float64(r.concurrent) / r.elapsed.Seconds() }

// measureSAR loads the cluster-wide RBAC objects and sarNamespaces tenant
// namespaces into a fresh local API server (the authorizer's cost per review
// grows with the ClusterRoleBindings and the one namespace's RoleBindings),
// reads them back as audit would, and asks the same questions of the engine
// and of the API server.
func measureSAR(ctx context.Context, o options, world *audit.Snapshot) (sarResult, error) {
	dir, err := os.MkdirTemp("", "bench-audit-")
	if err != nil {
		return sarResult{}, err
	}
	defer os.RemoveAll(dir)
	logf("starting a local control plane")
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(dir, "cluster"), Log: os.Stderr})
	if err != nil {
		return sarResult{}, err
	}
	defer cluster.Stop()
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 4000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return sarResult{}, err
	}
	start := time.Now()
	n, err := load(ctx, client, world, o.sarNamespaces, o.concurrency)
	if err != nil {
		return sarResult{}, err
	}
	logf("loaded %d objects in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	snap, _, err := audit.ReadCluster(ctx, client, "bench")
	if err != nil {
		return sarResult{}, err
	}
	logf("read it back as bulkhead audit does (paginated LISTs, discovery) in %s: %d roles, %d rolebindings, %d clusterroles, %d clusterrolebindings",
		time.Since(start).Round(time.Millisecond), len(snap.Roles), len(snap.RoleBindings), len(snap.ClusterRoles), len(snap.ClusterRoleBindings))
	eng := access.New(&snap.Snapshot)

	rng := rand.New(rand.NewPCG(11, 13))
	type probe struct {
		user  access.UserInfo
		attrs access.Attributes
	}
	requests := []access.Attributes{
		{Verb: "get", Resource: "pods"}, {Verb: "create", Resource: "pods"}, {Verb: "create", Resource: "pods", Subresource: "exec"},
		{Verb: "list", Resource: "secrets"}, {Verb: "delete", Resource: "resourcequotas"}, {Verb: "update", Group: "apps", Resource: "deployments"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}, {Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "deployer"},
		{Verb: "get", Resource: "configmaps"}, {Verb: "patch", Group: "apps", Resource: "deployments"},
	}
	loaded := min(o.sarNamespaces, len(world.Namespaces))
	probes := make([]probe, o.sarSample)
	for i := range probes {
		ns := world.Namespaces[rng.IntN(loaded)].Name
		var user access.UserInfo
		switch rng.IntN(6) {
		case 0:
			user = access.User(ns + "-lead")
		case 1:
			user = access.User(ns + "-reviewer")
		case 2:
			user = access.ServiceAccountUser(ns, "runner")
		case 3:
			user = access.ServiceAccountUser(ns, "deployer")
		case 4:
			user = access.User("someone", ns+"-readers")
		default:
			user = access.User("oncall", "platform-oncall")
		}
		attrs := requests[rng.IntN(len(requests))]
		attrs.Namespace = ns
		if rng.IntN(4) == 0 { // another tenant's namespace
			attrs.Namespace = world.Namespaces[rng.IntN(loaded)].Name
		}
		probes[i] = probe{user, attrs}
	}
	var agree, disagree atomic.Int64
	ask := func(p probe) error {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: p.user.Name, Groups: p.user.Groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.attrs.Namespace, Verb: p.attrs.Verb,
				Group: p.attrs.Group, Resource: p.attrs.Resource, Subresource: p.attrs.Subresource, Name: p.attrs.Name},
		}}
		got, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if got.Status.Allowed == eng.Allowed(p.user, p.attrs) {
			agree.Add(1)
		} else {
			disagree.Add(1)
			logf("disagreement: %+v %s: API server says %v", p.user, p.attrs, got.Status.Allowed)
		}
		return nil
	}
	alone := min(200, len(probes)/4)
	start = time.Now()
	for _, p := range probes[:alone] {
		if err := ask(p); err != nil {
			return sarResult{}, err
		}
	}
	res := sarResult{alone: time.Since(start) / time.Duration(alone)}
	rest := probes[alone:]
	start = time.Now()
	if err := parallel(len(rest), o.concurrency, func(i int) error { return ask(rest[i]) }); err != nil {
		return sarResult{}, err
	}
	res.elapsed, res.concurrent = time.Since(start), len(rest)
	res.reviews, res.agree, res.disagree = len(probes), int(agree.Load()), int(disagree.Load())
	return res, nil
}

// load creates the world's cluster-scoped RBAC objects and its first n
// namespaces with their contents; objects the server already has (the
// built-in view, edit and admin) are kept as the server has them.
func load(ctx context.Context, c kubernetes.Interface, w *audit.Snapshot, n, workers int) (int, error) {
	keep := map[string]bool{}
	for _, ns := range w.Namespaces[:min(n, len(w.Namespaces))] {
		keep[ns.Name] = true
	}
	var jobs []func() error
	opts := metav1.CreateOptions{}
	for _, o := range w.ClusterRoles {
		jobs = append(jobs, func() error { _, err := c.RbacV1().ClusterRoles().Create(ctx, &o, opts); return err })
	}
	for _, o := range w.ClusterRoleBindings {
		jobs = append(jobs, func() error { _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &o, opts); return err })
	}
	for _, o := range w.Namespaces {
		if keep[o.Name] {
			jobs = append(jobs, func() error { _, err := c.CoreV1().Namespaces().Create(ctx, &o, opts); return err })
		}
	}
	// The world's operators run as ServiceAccounts its files do not hold:
	// on a cluster they exist (else every operator binding is dangling).
	extra := map[string]bool{}
	var operators []corev1.ServiceAccount
	for _, b := range w.ClusterRoleBindings {
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && !slices.ContainsFunc(w.Namespaces, func(ns corev1.Namespace) bool { return ns.Name == s.Namespace }) {
				if !extra[s.Namespace] {
					extra[s.Namespace] = true
					jobs = append(jobs, func() error {
						_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}, opts)
						return err
					})
				}
				operators = append(operators, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace}})
			}
		}
	}
	created := 0
	if err := parallel(len(jobs), workers, func(i int) error { return ignoreExists(jobs[i]()) }); err != nil {
		return 0, err
	}
	created += len(jobs)
	jobs = jobs[:0]
	for _, o := range operators {
		jobs = append(jobs, func() error { _, err := c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &o, opts); return err })
	}
	for _, o := range w.ServiceAccounts {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error { _, err := c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &o, opts); return err })
		}
	}
	for _, o := range w.Roles {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error { _, err := c.RbacV1().Roles(o.Namespace).Create(ctx, &o, opts); return err })
		}
	}
	for _, o := range w.NetworkPolicies {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error {
				_, err := c.NetworkingV1().NetworkPolicies(o.Namespace).Create(ctx, &o, opts)
				return err
			})
		}
	}
	for _, o := range w.ResourceQuotas {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error { _, err := c.CoreV1().ResourceQuotas(o.Namespace).Create(ctx, &o, opts); return err })
		}
	}
	for _, o := range w.Secrets {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error { _, err := c.CoreV1().Secrets(o.Namespace).Create(ctx, &o, opts); return err })
		}
	}
	for _, o := range w.RoleBindings {
		if keep[o.Namespace] {
			jobs = append(jobs, func() error { _, err := c.RbacV1().RoleBindings(o.Namespace).Create(ctx, &o, opts); return err })
		}
	}
	if err := parallel(len(jobs), workers, func(i int) error { return ignoreExists(jobs[i]()) }); err != nil {
		return 0, err
	}
	return created + len(jobs), nil
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
