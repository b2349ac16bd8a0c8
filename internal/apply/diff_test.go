package apply

import (
	"encoding/json"
	"slices"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDiffNamesEachChangedField(t *testing.T) {
	from := decode(t, `{"metadata":{"labels":{"a":"1","gone":"x"}},"rules":[{"verbs":["get"]}],"spec":{"hard":{"pods":"10"}}}`)
	to := decode(t, `{"metadata":{"labels":{"a":"2","new":"y"}},"rules":[{"verbs":["get","list"]}],"spec":{"hard":{"pods":"10"}}}`)
	got := diff(from, to)
	want := []string{
		`~ metadata.labels.a: "1" → "2"`,
		`- metadata.labels.gone: "x"`,
		`+ metadata.labels.new: "y"`,
		`~ rules[0].verbs: ["get"] → ["get","list"]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("diff =\n%q\nwant\n%q", got, want)
	}
	if d := diff(from, from); len(d) != 0 {
		t.Errorf("diff of equal values = %q", d)
	}
}

func TestDiffOfListsOfOtherLength(t *testing.T) {
	got := diff(decode(t, `{"r":[1]}`), decode(t, `{"r":[1,2]}`))
	if !slices.Equal(got, []string{`~ r: [1] → [1,2]`}) {
		t.Errorf("diff = %q", got)
	}
}
