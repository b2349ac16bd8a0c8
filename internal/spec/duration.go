package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var durationType = reflect.TypeFor[metav1.Duration]()

// durationValueProblem says why a YAML value is no duration, "" if it is
// one. metav1.Duration takes a string for time.ParseDuration: a number with
// a unit, where h is the largest unit. Null is fine where the field is
// optional (a pointer).
func durationValueProblem(n *yaml.Node, nullable bool) string {
	const want = "Invalid value: must be a duration such as 720h or 90m"
	const hint = "; write a number with a unit: h (hours), m (minutes) or s (seconds), e.g. 720h for 30 days"
	if n.Kind != yaml.ScalarNode {
		return fmt.Sprintf("%s, not %s%s", want, describeNode(n), hint)
	}
	switch n.ShortTag() {
	case "!!null":
		if nullable {
			return ""
		}
		return want + ", not null; give a duration or remove the entry"
	case "!!str":
		if _, err := time.ParseDuration(n.Value); err == nil {
			return ""
		}
	}
	s := strings.TrimSpace(n.Value)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Sprintf("%s, not %s without a unit; write %sh for hours or %sm for minutes", want, describeNode(n), s, s)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.ParseUint(days, 10, 32); err == nil {
			return fmt.Sprintf("%s, not %s: durations have no unit for days; write %dh", want, describeNode(n), d*24)
		}
	}
	return fmt.Sprintf("%s, not %s%s", want, describeNode(n), hint)
}

// FormatDuration writes d the way a spec would: 8760h, 10m or 1h30m rather
// than time.Duration's 8760h0m0s. time.ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
