package apply

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Action is what reconciling did (or, in a dry run, would do) to one object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	// Removed: an object of the tenant that its spec no longer produces
	// was deleted (a demoted or removed member's RoleBinding, a Role
	// level nobody holds, a guardrail turned off).
	Removed Action = "removed"
	// Revoked: a ServiceAccount and its token Secrets were deleted, which
	// also invalidates its bound tokens.
	Revoked Action = "revoked"
	// Cordoned: the namespace of a removed tenant was kept with its data
	// and a quota of zero pods.
	Cordoned Action = "cordoned"
	// Deleted: a removed tenant's namespace was deleted with its data.
	Deleted Action = "deleted"
	Failed  Action = "failed"
)

// Removal reports whether an action takes something away.
func (a Action) Removal() bool {
	return a == Removed || a == Revoked || a == Cordoned || a == Deleted
}

// Ref names one object.
type Ref struct {
	Kind, APIVersion, Namespace, Name string
}

// RefOf names a desired object.
func RefOf(o render.Object) Ref {
	return Ref{Kind: deref(o.GetKind()), APIVersion: deref(o.GetAPIVersion()), Namespace: deref(o.GetNamespace()), Name: deref(o.GetName())}
}

// String reads like kubectl: `rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-ana in lab`.
func (r Ref) String() string {
	s := resourceName(r.Kind) + "/" + r.Name
	if r.Namespace != "" {
		s += " in " + r.Namespace
	}
	return s
}

func (r Ref) key() string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

func resourceName(k string) string {
	switch k {
	case "Role", "RoleBinding":
		return strings.ToLower(k) + ".rbac.authorization.k8s.io"
	case "NetworkPolicy":
		return "networkpolicy.networking.k8s.io"
	case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return strings.ToLower(k) + ".admissionregistration.k8s.io"
	}
	return strings.ToLower(k)
}

// Change is the outcome for one object.
type Change struct {
	Object Ref
	Action Action
	// Diff lists the changed fields of a Configured object, one
	// "~ path: old → new", "+ path: new" or "- path: old" each.
	Diff []string
	// Err is why the change failed (Action is Failed then).
	Err error

	desired render.Object // nil for removals
	stage   stage
	set     int // index of its ChangeSet in the plan being built
	// secretOf names the ServiceAccount of a token Secret being removed.
	secretOf string
	tenant   string
	// lock marks a tenant's Namespace sent first, on liveRV (the
	// resourceVersion the plan read; "" when it did not exist), as the
	// tenant's lock against concurrent runs (claim.go).
	lock   bool
	liveRV string
}

// String reads like kubectl: `role.rbac.authorization.k8s.io/bulkhead-edit in bob configured`.
func (c Change) String() string {
	if c.Err != nil {
		return fmt.Sprintf("%s %s: %v", c.Object, c.Action, c.Err)
	}
	return c.Object.String() + " " + string(c.Action)
}

// ChangeSet is what reconciling one tenant did, in the order it was done.
// A tenant with a conflict is not written at all: its Changes then say what
// would have been done.
// The shared cluster-wide objects (the admission policy) come as a
// ChangeSet with an empty Tenant.
type ChangeSet struct {
	Tenant    string
	Namespace string
	// Offboarded is set for a tenant that left its tenant set: every
	// object of it was removed and its namespace cordoned.
	Offboarded bool
	Changes    []Change
	// Err joins every problem: a *ConflictError (nothing of the tenant was
	// written), or the failures of single changes (*InvalidError,
	// *TransientError or another API error).
	Err error
}

// Count returns how many changes took action a.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Pending reports whether applying would change anything.
func (cs ChangeSet) Pending() bool {
	for _, c := range cs.Changes {
		if c.Action != Unchanged {
			return true
		}
	}
	return false
}

func (cs *ChangeSet) finish() {
	var errs []error
	if cs.Err != nil {
		errs = append(errs, cs.Err)
	}
	for _, c := range cs.Changes {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	cs.Err = errors.Join(errs...)
}

// ConflictReason says why an existing object may not be changed.
type ConflictReason string

const (
	// NotManaged: the object exists and bulkhead does not manage it.
	NotManaged ConflictReason = "NotManaged"
	// OtherTenant: the object belongs to another bulkhead tenant.
	OtherTenant ConflictReason = "OtherTenant"
	// OtherTenantSet: the tenant was applied as part of another tenant set.
	OtherTenantSet ConflictReason = "OtherTenantSet"
	// Controlled: the tenant is reconciled by the bulkhead controller from
	// a Tenant object; only the controller writes it.
	Controlled ConflictReason = "Controlled"
)

// ConflictError is an existing object the tenant would need and may not
// take. Reconciling returns them before writing anything of the tenant.
type ConflictError struct {
	Object Ref
	Tenant string
	Reason ConflictReason
	// Owner is the other tenant or tenant set; empty for NotManaged.
	Owner string
	// Overtaken, with Concurrent: this run had written the tenant when the
	// other run's spec turned up, so the tenant may mix both.
	Overtaken bool
}

func (e *ConflictError) Error() string {
	switch e.Reason {
	case OtherTenant:
		return fmt.Sprintf("%s belongs to bulkhead tenant %q, not %q", e.Object, e.Owner, e.Tenant)
	case OtherTenantSet:
		if e.Owner == "" {
			return fmt.Sprintf("tenant %q (%s) is managed by the bulkhead CLI, in no tenant set", e.Tenant, e.Object)
		}
		return fmt.Sprintf("tenant %q (%s) belongs to tenant set %q", e.Tenant, e.Object, e.Owner)
	case Controlled:
		return fmt.Sprintf("tenant %q (%s) is reconciled by the bulkhead controller from Tenant object %q", e.Tenant, e.Object, e.Tenant)
	case Concurrent:
		if e.Overtaken {
			return fmt.Sprintf("another run applied a different spec of tenant %q (%s) while this one applied it: the tenant may hold a mix of both specs; "+
				"once the other run is done, apply again the spec that should hold", e.Tenant, e.Object)
		}
		return fmt.Sprintf("another run is applying a different spec of tenant %q (%s): this run wrote nothing of the tenant; "+
			"once the other run is done, apply this spec again if it is the one that should hold", e.Tenant, e.Object)
	}
	return fmt.Sprintf("%s exists and is not managed by bulkhead", e.Object)
}

// InvalidError is a change the API server refused as invalid or forbidden
// (validation, admission): retrying cannot help, the spec or the cluster
// must change.
type InvalidError struct {
	Object Ref
	Err    error
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %v", e.Object, e.Err) }
func (e *InvalidError) Unwrap() error { return e.Err }

// TransientError is a change that failed because the API server did not
// answer, after retries: running again converges.
type TransientError struct {
	Object Ref
	Err    error
}

func (e *TransientError) Error() string { return fmt.Sprintf("%s: %v", e.Object, e.Err) }
func (e *TransientError) Unwrap() error { return e.Err }

// Conflicts returns every conflict in err.
func Conflicts(err error) []*ConflictError {
	var out []*ConflictError
	walkErrors(err, func(e error) {
		if c, ok := e.(*ConflictError); ok {
			out = append(out, c)
		}
	})
	return out
}

func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// fail marks every change of the set that was still to be made as failed
// with err, so that none is made.
func (cs *ChangeSet) fail(err error) {
	for i := range cs.Changes {
		if c := &cs.Changes[i]; c.Action != Unchanged && c.Err == nil {
			c.Action, c.Err = Failed, err
		}
	}
}
