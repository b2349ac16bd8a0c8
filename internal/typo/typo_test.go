package typo

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "role", 4},
		{"role", "", 4},
		{"role", "role", 0},
		{"rol", "role", 1},     // one left out
		{"alcie", "alice", 2},  // two swapped: two edits
		{"team-b", "teamb", 1}, // one too many
		{"kitten", "sitting", 3},
		{"Name", "name", 1},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
