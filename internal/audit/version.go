package audit

import (
	"strconv"
	"strings"
)

// DefaultKubernetesVersion is the API server version audit assumes for
// manifests when none is given: the version whose bootstrap policy is
// embedded (internal/audit/baseline).
const DefaultKubernetesVersion = "v1.34.4"

// execByGet reports whether an API server of version v authorizes a
// WebSocket exec, attach or portforward with get alone: up to v1.34 the
// upgrade request is a GET, and the create check on the subresource came
// with v1.35 (kubernetes PR 134577). An unparsable or unstamped version
// (v0.0.0, a source build) is taken as the default.
func execByGet(v string) bool {
	major, minor, ok := parseMinor(v)
	if !ok || (major == 0 && minor == 0) {
		major, minor, _ = parseMinor(DefaultKubernetesVersion)
	}
	return major < 1 || (major == 1 && minor <= 34)
}

// parseMinor reads "v1.34.4", "1.34", "v1.35.0-rc.1+abc" as 1, 34.
func parseMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	digits := func(s string) (int, bool) {
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(s[:end])
		return n, err == nil
	}
	major, ok1 := digits(parts[0])
	minor, ok2 := digits(parts[1])
	return major, minor, ok1 && ok2
}

// ValidKubernetesVersion reports whether v reads as a Kubernetes version
// ("v1.34", "1.35.2").
func ValidKubernetesVersion(v string) bool {
	_, _, ok := parseMinor(v)
	return ok
}
