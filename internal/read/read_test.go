package read

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pagedConfigMaps serves n ConfigMaps named cm-0000… in pages of the
// requested limit, with continue tokens, as the API server does, and
// records the requests.
type pagedConfigMaps struct {
	n     int
	calls []metav1.ListOptions
}

func (p *pagedConfigMaps) List(_ context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	p.calls = append(p.calls, opts)
	start := 0
	if opts.Continue != "" {
		var err error
		if start, err = strconv.Atoi(opts.Continue); err != nil {
			return nil, err
		}
	}
	end := p.n
	if opts.Limit > 0 {
		end = min(start+int(opts.Limit), p.n)
	}
	out := &corev1.ConfigMapList{}
	for i := start; i < end; i++ {
		out.Items = append(out.Items, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i)}})
	}
	if end < p.n {
		out.Continue = strconv.Itoa(end)
	}
	return out, nil
}

func TestEachReadsEveryPageInOrder(t *testing.T) {
	src := &pagedConfigMaps{n: 2*PageSize + 7}
	var names []string
	retries := 0
	retry := func(ctx context.Context, fn func(context.Context) error) error {
		retries++
		return fn(ctx)
	}
	opts := metav1.ListOptions{LabelSelector: "a=b"}
	err := Each(t.Context(), retry, src.List, opts, func(cm *corev1.ConfigMap) error {
		names = append(names, cm.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != src.n {
		t.Fatalf("saw %d items, want %d", len(names), src.n)
	}
	for i, n := range names {
		if want := fmt.Sprintf("cm-%04d", i); n != want {
			t.Fatalf("item %d is %s, want %s", i, n, want)
		}
	}
	if len(src.calls) != 3 || retries != 3 {
		t.Errorf("%d LISTs through %d retries, want 3 pages each through Retry", len(src.calls), retries)
	}
	for i, c := range src.calls {
		if c.Limit != PageSize || c.LabelSelector != "a=b" {
			t.Errorf("LIST %d: limit %d, selector %q; want %d, a=b", i, c.Limit, c.LabelSelector, PageSize)
		}
	}
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	src := &pagedConfigMaps{n: 2 * PageSize}
	stop := errors.New("stop")
	seen := 0
	err := Each(t.Context(), nil, src.List, metav1.ListOptions{}, func(*corev1.ConfigMap) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("err %v after %d items, want stop after 3", err, seen)
	}

	failing := func(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error) {
		return nil, errors.New("apiserver away")
	}
	err = Each(t.Context(), nil, failing, metav1.ListOptions{}, func(*corev1.ConfigMap) error { return nil })
	if err == nil || err.Error() != "apiserver away" {
		t.Errorf("Each of a failing LIST: %v", err)
	}
}

func TestAllCollectsCopies(t *testing.T) {
	src := &pagedConfigMaps{n: PageSize + 1}
	all, err := All[corev1.ConfigMap](t.Context(), nil, src.List, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != src.n || all[0].Name != "cm-0000" || all[PageSize].Name != fmt.Sprintf("cm-%04d", PageSize) {
		t.Errorf("All returned %d items, first %q, last %q", len(all), all[0].Name, all[len(all)-1].Name)
	}
	empty := &pagedConfigMaps{}
	none, err := All[corev1.ConfigMap](t.Context(), nil, empty.List, metav1.ListOptions{})
	if err != nil || len(none) != 0 {
		t.Errorf("All of an empty LIST = %v, %v", none, err)
	}
}

func TestEachRefusesAnItemOfAnotherType(t *testing.T) {
	src := &pagedConfigMaps{n: 1}
	err := Each(t.Context(), nil, src.List, metav1.ListOptions{}, func(*corev1.Secret) error { return nil })
	if err == nil || err.Error() != "internal error: list returned *v1.ConfigMap" {
		t.Errorf("Each with the wrong item type: %v", err)
	}
}
