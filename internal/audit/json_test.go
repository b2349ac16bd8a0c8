package audit_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// writeJSONInMemory is WriteJSON as it was before it streamed: the whole
// report encoded at once. The streamed output must be the same bytes.
func writeJSONInMemory(t *testing.T, r *audit.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func procedureForJSONTest(t *testing.T) *audit.Report {
	t.Helper()
	snap, _, err := audit.ReadFiles([]string{"testdata/procedure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWriteJSONStreamsTheSameReport(t *testing.T) {
	withoutLive := sampleReport()
	withoutLive.Live, withoutLive.Warnings = nil, nil
	for name, r := range map[string]*audit.Report{
		"sample":       sampleReport(),
		"without live": withoutLive,
		"empty":        newHTMLReport("empty").build(),
		"zero":         {},
		"procedure":    procedureForJSONTest(t),
		"synthetic":    runForJSONTest(t, audit.SyntheticCluster(40, 0.2, 3)),
		"nil":          nil,
	} {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if err := audit.WriteJSON(&got, r); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			want := writeJSONInMemory(t, r)
			if !bytes.Equal(got.Bytes(), want) {
				i := 0
				for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
					i++
				}
				t.Fatalf("streamed JSON differs from the in-memory encoding at byte %d:\ngot  %q\nwant %q",
					i, got.Bytes()[max(0, i-80):min(got.Len(), i+80)], want[max(0, i-80):min(len(want), i+80)])
			}
			var decoded, orig *audit.Report
			if err := json.Unmarshal(got.Bytes(), &decoded); err != nil {
				t.Fatalf("decode the streamed JSON: %v", err)
			}
			if err := json.Unmarshal(want, &orig); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decoded, orig) {
				t.Errorf("the streamed report decodes to a different Report")
			}
			if r != nil && len(r.Findings) > 0 && len(decoded.Findings) != len(r.Findings) {
				t.Errorf("decoded %d findings, want %d", len(decoded.Findings), len(r.Findings))
			}
		})
	}
}

func runForJSONTest(t *testing.T, snap *audit.Snapshot) *audit.Report {
	t.Helper()
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
