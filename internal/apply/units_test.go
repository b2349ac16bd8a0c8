package apply

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Unit tests: no cluster.

func TestDiffOfAddedRemovedAndRetypedFields(t *testing.T) {
	from := decode(t, `{"a":{"b":1},"gone":{"x":[1]},"t":"s","l":[{"k":"v"},{"k":"w"}]}`)
	to := decode(t, `{"a":{"b":1,"c":{"d":true}},"t":{"now":"map"},"l":[{"k":"v"},{"k":"z"}]}`)
	want := []string{
		`+ a.c: {"d":true}`,
		`- gone: {"x":[1]}`,
		`~ l[1].k: "w" → "z"`,
		`~ t: "s" → {"now":"map"}`,
	}
	if got := diff(from, to); !slices.Equal(got, want) {
		t.Errorf("diff =\n%q\nwant\n%q", got, want)
	}
	// An object bulkhead owns nothing of yet (adopting) extracts as an
	// empty object: every desired field is new.
	if got := diff(decode(t, `{}`), decode(t, `{"a":1,"b":{"c":"d"}}`)); !slices.Equal(got, []string{`+ a: 1`, `+ b: {"c":"d"}`}) {
		t.Errorf("diff from nothing = %q", got)
	}
	if got := diff(decode(t, `{"a":1}`), decode(t, `{}`)); !slices.Equal(got, []string{`- a: 1`}) {
		t.Errorf("diff to nothing = %q", got)
	}
}

func TestNormalizeDropsEmptyObjects(t *testing.T) {
	in := map[string]any{
		"keep":  "x",
		"empty": map[string]any{},
		"nil":   nil,
		"deep":  map[string]any{"inner": map[string]any{"none": map[string]any{}}},
		"list":  []any{map[string]any{"podSelector": map[string]any{}}, 1},
		"zero":  0,
		"blank": "",
	}
	got, err := normalize(in)
	check(t, err)
	want := map[string]any{"keep": "x", "list": []any{map[string]any{}, float64(1)}, "zero": float64(0), "blank": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("normalize = %#v\nwant %#v", got, want)
	}
}

func TestNormalizeOfARenderedTenantIsStable(t *testing.T) {
	for _, o := range render.Tenant(tenant("norm", member("ana", admin), user("carl@example.com", view))) {
		a, err := normalize(o)
		check(t, err)
		b, err := normalize(o)
		check(t, err)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: normalize differs between two calls", RefOf(o))
		}
		if d := diff(a, b); len(d) != 0 {
			t.Errorf("%s: diff with itself %q", RefOf(o), d)
		}
	}
}

func TestRefString(t *testing.T) {
	for _, c := range []struct {
		ref  Ref
		want string
	}{
		{nsRef("lab"), "namespace/lab"},
		{saRef("lab", "ana"), "serviceaccount/ana in lab"},
		{roleRef("lab", edit), "role.rbac.authorization.k8s.io/bulkhead-edit in lab"},
		{bindingRef("lab", sa, "ana", edit), "rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-ana in lab"},
		{ingressRef("lab"), "networkpolicy.networking.k8s.io/bulkhead-isolate-ingress in lab"},
		{quotaRef("lab"), "resourcequota/bulkhead in lab"},
		{limitsRef("lab"), "limitrange/bulkhead in lab"},
		{Ref{Kind: "ValidatingAdmissionPolicy", Name: "p"}, "validatingadmissionpolicy.admissionregistration.k8s.io/p"},
		{Ref{Kind: "ValidatingAdmissionPolicyBinding", Name: "p"}, "validatingadmissionpolicybinding.admissionregistration.k8s.io/p"},
	} {
		if got := c.ref.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.ref, got, c.want)
		}
	}
	ch := Change{Object: roleRef("bob", edit), Action: Configured}
	if got, want := ch.String(), "role.rbac.authorization.k8s.io/bulkhead-edit in bob configured"; got != want {
		t.Errorf("Change.String() = %q, want %q", got, want)
	}
	ch = Change{Object: nsRef("bob"), Action: Failed, Err: errors.New("boom")}
	if got, want := ch.String(), "namespace/bob failed: boom"; got != want {
		t.Errorf("Change.String() = %q, want %q", got, want)
	}
}

func TestRefOfRenderedObjects(t *testing.T) {
	var got []Ref
	for _, o := range render.Tenant(tenant("refs")) {
		got = append(got, RefOf(o))
	}
	if want := defaultObjects("refs", "refs-user", edit); !slices.Equal(got, want) {
		t.Errorf("refs of a default tenant =\n%v\nwant\n%v", got, want)
	}
}

func TestConflictsOfJoinedErrors(t *testing.T) {
	a := &ConflictError{Object: nsRef("a"), Tenant: "a", Reason: NotManaged}
	b := &ConflictError{Object: nsRef("b"), Tenant: "b", Reason: OtherTenant, Owner: "x"}
	c := &ConflictError{Object: nsRef("c"), Tenant: "c", Reason: OtherTenantSet, Owner: "s"}
	err := errors.Join(a, errors.New("unrelated"), fmt.Errorf("wrapped: %w", b), errors.Join(errors.Join(c)), &InvalidError{Object: nsRef("d"), Err: errors.New("bad")})
	if got := Conflicts(err); !slices.Equal(got, []*ConflictError{a, b, c}) {
		t.Errorf("Conflicts = %v, want a, b, c", got)
	}
	if got := Conflicts(nil); got != nil {
		t.Errorf("Conflicts(nil) = %v", got)
	}
	if got := Conflicts(errors.New("x")); got != nil {
		t.Errorf("Conflicts of a plain error = %v", got)
	}
	// A ChangeSet's finish keeps the conflicts findable.
	cs := ChangeSet{Err: errors.Join(a), Changes: []Change{{Object: saRef("a", "s"), Action: Failed, Err: &TransientError{Object: saRef("a", "s"), Err: context.DeadlineExceeded}}}}
	cs.finish()
	if got := Conflicts(cs.Err); !slices.Equal(got, []*ConflictError{a}) {
		t.Errorf("Conflicts after finish = %v", got)
	}
	var te *TransientError
	if !errors.As(cs.Err, &te) || !errors.Is(cs.Err, context.DeadlineExceeded) {
		t.Errorf("finish lost the change's error: %v", cs.Err)
	}
}

func TestConflictErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  *ConflictError
		want string
	}{
		{&ConflictError{Object: nsRef("lab"), Tenant: "lab", Reason: NotManaged}, "namespace/lab exists and is not managed by bulkhead"},
		{&ConflictError{Object: nsRef("lab"), Tenant: "y", Reason: OtherTenant, Owner: "lab"}, `namespace/lab belongs to bulkhead tenant "lab", not "y"`},
		{&ConflictError{Object: nsRef("lab"), Tenant: "lab", Reason: OtherTenantSet, Owner: "b"}, `tenant "lab" (namespace/lab) belongs to tenant set "b"`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%s: %q, want %q", c.err.Reason, got, c.want)
		}
	}
}

func TestActionsAndCounts(t *testing.T) {
	for a, want := range map[Action]bool{Created: false, Configured: false, Unchanged: false, Failed: false,
		Removed: true, Revoked: true, Cordoned: true, Deleted: true} {
		if a.Removal() != want {
			t.Errorf("%s.Removal() = %v, want %v", a, a.Removal(), want)
		}
	}
	cs := ChangeSet{Changes: []Change{{Action: Unchanged}, {Action: Removed}, {Action: Unchanged}}}
	if cs.Count(Unchanged) != 2 || cs.Count(Removed) != 1 || cs.Count(Created) != 0 || !cs.Pending() {
		t.Errorf("Count/Pending wrong for %v", cs.Changes)
	}
	if (ChangeSet{Changes: []Change{{Action: Unchanged}}}).Pending() || (ChangeSet{}).Pending() {
		t.Error("Pending() true with nothing to do")
	}
}

func TestClassify(t *testing.T) {
	ref := nsRef("lab")
	gr := schema.GroupResource{Resource: "namespaces"}
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Namespace"}, "lab", field.ErrorList{field.Invalid(field.NewPath("metadata"), "x", "bad")})
	for _, c := range []struct {
		err       error
		invalid   bool
		transient bool
	}{
		{invalid, true, false},
		{apierrors.NewForbidden(gr, "lab", errors.New("no")), true, false},
		{apierrors.NewBadRequest("bad"), true, false},
		{apierrors.NewServerTimeout(gr, "apply", 1), false, true},
		{apierrors.NewTooManyRequests("slow down", 1), false, true},
		{apierrors.NewInternalError(errors.New("etcd")), false, true},
		{apierrors.NewServiceUnavailable("down"), false, true},
		{context.DeadlineExceeded, false, true},
		{apierrors.NewConflict(gr, "lab", errors.New("changed")), false, false},
	} {
		got := classify(ref, c.err)
		var ie *InvalidError
		var te *TransientError
		if errors.As(got, &ie) != c.invalid || errors.As(got, &te) != c.transient || !errors.Is(got, c.err) {
			t.Errorf("classify(%v) = %T %v; want invalid %v, transient %v, wrapping the error", c.err, got, got, c.invalid, c.transient)
		}
	}
}
