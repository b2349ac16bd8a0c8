package auditloop

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// Source is the snapshot source a continuous audit reports.
const Source = "controller cache"

// run audits the cache once and publishes the result.
func (l *Loop) run(ctx context.Context) error {
	start := l.opts.Clock.Now()
	w, err := l.read(ctx)
	if err != nil {
		l.m.errors.Inc()
		return err
	}
	report, err := audit.RunWith(w.snap, w.tenants, audit.RunOptions{FindingsOnly: true})
	if err != nil {
		l.m.errors.Inc()
		return fmt.Errorf("continuous audit: %w", err)
	}
	l.publish(ctx, w, report)
	l.m.observe(report, start, l.opts.Clock.Now())
	return nil
}

// world is what one run reads: the snapshot, the tenants to audit, and
// the Tenant objects by name.
type world struct {
	snap    *audit.Snapshot
	tenants []audit.Tenant
	objects map[string]*v1alpha1.Tenant
	// tenantOf maps a namespace to the audit tenant that owns it.
	tenantOf map[string]string
}

// read lists every kind of audit.Lists and the Tenant objects from the
// reader. The cache would deep-copy every object (controller-runtime's
// default); it is asked not to (UnsafeDisableDeepCopy), which halves what a
// run allocates to read 5,000 namespaces (BenchmarkReadCache). The lists
// then hold shallow copies whose maps and slices are the informers': the
// audit only reads its snapshot (audit's TestRunLeavesSnapshot holds it to
// that), the informers replace objects rather than change them, and
// nothing here writes to them. Secrets are copied anyway (TokenSecretMeta).
func (l *Loop) read(ctx context.Context) (*world, error) {
	var lists audit.Lists
	for _, e := range lists.Each() {
		if err := l.reader.List(ctx, e.Object.(client.ObjectList), client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing %s from the cache: %w (is the kind in the manager's cache and its RBAC granted?)", e.Resource, err)
		}
	}
	var tenants v1alpha1.TenantList
	if err := l.reader.List(ctx, &tenants); err != nil {
		return nil, fmt.Errorf("listing tenants from the cache: %w (install the Tenant CRD and add v1alpha1 to the manager's scheme)", err)
	}
	resources, err := l.resources(ctx)
	if err != nil {
		return nil, err
	}
	snap := lists.Snapshot(Source, resources)
	w := &world{snap: snap, objects: map[string]*v1alpha1.Tenant{}}
	w.tenants, w.tenantOf = tenantsOf(snap, tenants.Items, w.objects)
	return w, nil
}

// resources asks discovery, when the Loop has it, what "*" covers.
func (l *Loop) resources(ctx context.Context) ([]access.APIResource, error) {
	if l.opts.Discovery == nil {
		return nil, nil
	}
	lists, err := l.opts.Discovery.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovering the cluster's resources: %w", err)
	}
	if err != nil {
		logf.FromContext(ctx).WithName("auditloop").Info("some API groups are unavailable; \"*\" rules are expanded without them", "error", err.Error())
	}
	return access.ResourcesFromDiscovery(lists), nil
}

// managedSelector selects the namespaces bulkhead manages for a tenant.
var managedSelector = labels.SelectorFromSet(labels.Set{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue})

// tenantsOf returns the audit's tenants: every Tenant object (its namespace
// is status.namespace, else spec.namespace, else its name), then every
// namespace bulkhead manages that no Tenant object claims (tenants the CLI
// applied: their findings reach the metrics). A namespace two Tenant
// objects claim belongs to the first by name. objects is filled with the
// Tenant objects by name.
func tenantsOf(snap *audit.Snapshot, items []v1alpha1.Tenant, objects map[string]*v1alpha1.Tenant) ([]audit.Tenant, map[string]string) {
	managed := map[string]string{} // namespace -> its tenant label
	for _, ns := range snap.Namespaces {
		if managedSelector.Matches(labels.Set(ns.Labels)) && ns.Labels[v1alpha1.TenantLabel] != "" {
			managed[ns.Name] = ns.Labels[v1alpha1.TenantLabel]
		}
	}
	slices.SortFunc(items, func(x, y v1alpha1.Tenant) int { return cmp.Compare(x.Name, y.Name) })
	var out []audit.Tenant
	owner := map[string]string{} // namespace -> tenant name
	names := map[string]bool{}
	for i := range items {
		t := &items[i]
		ns := cmp.Or(t.Status.Namespace, t.Spec.Namespace, t.Name)
		if _, taken := owner[ns]; taken {
			continue
		}
		owner[ns], names[t.Name], objects[t.Name] = t.Name, true, t
		_, isManaged := managed[ns]
		out = append(out, audit.Tenant{Name: t.Name, Namespace: ns, Managed: isManaged})
	}
	for ns, label := range managed {
		if _, taken := owner[ns]; taken {
			continue
		}
		name := label
		if names[name] {
			name = ns // a Tenant object has the name; keep the two apart
		}
		owner[ns], names[name] = name, true
		out = append(out, audit.Tenant{Name: name, Namespace: ns, Managed: true})
	}
	slices.SortFunc(out, func(x, y audit.Tenant) int { return cmp.Compare(x.Namespace, y.Namespace) })
	return out, owner
}

// involved returns the tenants a finding involves: the tenant audit
// attributes it to (whose subject or namespace it concerns) and the
// tenant that owns the namespace where the access applies, if another.
func (w *world) involved(f audit.Finding) []string {
	out := make([]string, 0, 2)
	if f.Tenant != "" {
		out = append(out, f.Tenant)
	}
	if owner, ok := w.tenantOf[f.Namespace]; ok && owner != f.Tenant {
		out = append(out, owner)
	}
	return out
}

// findingKey says which findings are the same from one run to the next.
func findingKey(f audit.Finding) string {
	return f.Rule + "|" + f.Subject + "|" + f.Namespace + "|" + f.Message
}

// publish turns a report into the statuses of the Tenant objects, raises
// Events for new critical findings and calls OnChange.
func (l *Loop) publish(ctx context.Context, w *world, r *audit.Report) {
	now := l.opts.Now()
	statuses := statusesOf(r, w, now)
	critical := map[string]map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity != audit.Critical {
			continue
		}
		for _, t := range w.involved(f) {
			if w.objects[t] == nil {
				continue
			}
			if critical[t] == nil {
				critical[t] = map[string]bool{}
			}
			critical[t][findingKey(f)] = true
		}
	}

	l.mu.Lock()
	var changed []string
	for name, s := range statuses {
		if old, ok := l.statuses[name]; !ok || !sameFindings(old, s) {
			changed = append(changed, name)
		}
	}
	previous := l.critical
	l.statuses, l.critical = statuses, critical
	l.mu.Unlock()

	if l.opts.Recorder != nil {
		l.raiseEvents(ctx, w, r, previous)
	}
	slices.Sort(changed)
	if len(changed) > 0 && l.opts.OnChange != nil {
		l.opts.OnChange(changed)
	}
}

// maxEvents bounds the Events one run raises on one Tenant.
const maxEvents = v1alpha1.MaxStatusItems

// raiseEvents records one Event per critical finding that involves a
// Tenant object and was not in the previous run.
func (l *Loop) raiseEvents(ctx context.Context, w *world, r *audit.Report, previous map[string]map[string]bool) {
	raised := map[string]int{}
	for _, f := range r.Findings {
		if f.Severity != audit.Critical {
			continue
		}
		for _, t := range w.involved(f) {
			obj := w.objects[t]
			if obj == nil || previous[t][findingKey(f)] {
				continue
			}
			raised[t]++
			if raised[t] <= maxEvents {
				l.opts.Recorder.Event(obj, "Warning", ReasonCriticalFinding, truncate(f.Rule+": "+f.Message+" Fix: "+f.Fix, maxEventMessage))
			}
		}
	}
	for t, n := range raised {
		if n > maxEvents {
			l.opts.Recorder.Eventf(w.objects[t], "Warning", ReasonCriticalFinding, "%d more new critical findings; see status.audit or bulkhead audit", n-maxEvents)
		}
	}
	if len(raised) > 0 {
		logf.FromContext(ctx).WithName("auditloop").V(1).Info("new critical findings", "tenants", len(raised))
	}
}

// maxEventMessage keeps an Event's message within what the API server
// accepts (events.k8s.io notes are at most 1 kB).
const maxEventMessage = 1000

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// sameFindings compares two statuses, their times aside.
func sameFindings(x, y *v1alpha1.AuditStatus) bool {
	a, b := *x, *y
	a.Time = b.Time
	return reflect.DeepEqual(a, b)
}
