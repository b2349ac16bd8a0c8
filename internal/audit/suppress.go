package audit

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// SuppressionsKind is the kind of an --ignore-file.
const SuppressionsKind = "AuditSuppressions"

// Suppression is one entry of an ignore file: findings of Rule whose
// objects include Object (and, when given, of Subject in Namespace) are
// accepted risks until Expires.
type Suppression struct {
	Rule      string `json:"rule"`
	Object    string `json:"object"`
	Subject   string `json:"subject,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Reason    string `json:"reason"`
	// Expires is the last day (UTC) the entry suppresses, as 2006-01-02.
	Expires string `json:"expires"`
	// At is where the entry is defined, "file:line".
	At string `json:"at"`

	expires time.Time
}

// SuppressedFinding is a finding an unexpired entry hides.
type SuppressedFinding struct {
	Finding Finding     `json:"finding"`
	By      Suppression `json:"by"`
	// BaselineState, with --baseline, says whether the baseline had the
	// finding: "new" or "unchanged".
	BaselineState string `json:"baselineState,omitempty"`
}

// SuppressionErrors is every problem in an ignore file, each with file,
// line and field. It unwraps to *spec.Errors, so callers treat it as
// invalid input.
type SuppressionErrors struct{ Errs spec.Errors }

func (s *SuppressionErrors) Error() string {
	noun := "problems"
	if len(s.Errs) == 1 {
		noun = "problem"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in the ignore file:", len(s.Errs), noun)
	for _, e := range s.Errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (s *SuppressionErrors) Unwrap() error { return &s.Errs }

// ReadSuppressions reads an ignore file:
//
//	apiVersion: bulkhead.dev/v1alpha1   # optional
//	kind: AuditSuppressions             # optional
//	suppressions:
//	- rule: acts-as
//	  object: RoleBinding alice/ci-deploy
//	  subject: ServiceAccount alice/ci  # optional
//	  namespace: alice                  # optional
//	  reason: CI deploys as this ServiceAccount by design (SEC-12)
//	  expires: 2026-06-30
//
// Decoding is strict: an unknown or missing field, or a bad date, is an
// error naming the file, line and field.
func ReadSuppressions(path string) ([]Suppression, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the ignore file: %w", err)
	}
	return ParseSuppressions(path, data)
}

// ParseSuppressions is ReadSuppressions for a file already in memory.
func ParseSuppressions(name string, data []byte) ([]Suppression, error) {
	p := &suppressionParser{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.fail(0, "", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, p.err()
	}
	if len(doc.Content) == 0 {
		p.fail(1, "suppressions", "Required value: the file is empty; list entries under suppressions:")
		return nil, p.err()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "", "Invalid value: want a mapping with apiVersion, kind and suppressions")
		return nil, p.err()
	}
	var list []Suppression
	found := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "apiVersion":
			if v.Value != APIVersion {
				p.fail(v.Line, "apiVersion", "Unsupported value: %q: want %s", v.Value, APIVersion)
			}
		case "kind":
			if v.Value != SuppressionsKind {
				p.fail(v.Line, "kind", "Unsupported value: %q: want %s", v.Value, SuppressionsKind)
			}
		case "suppressions":
			found = true
			if v.Kind != yaml.SequenceNode {
				if v.Tag != "!!null" {
					p.fail(v.Line, "suppressions", "Invalid value: want a list of entries")
				}
				continue
			}
			for j, item := range v.Content {
				if s, ok := p.entry(fmt.Sprintf("suppressions[%d]", j), item); ok {
					list = append(list, s)
				}
			}
		default:
			p.fail(k.Line, k.Value, "unknown field %q: an ignore file has apiVersion, kind and suppressions", k.Value)
		}
	}
	if !found {
		p.fail(root.Line, "suppressions", "Required value: list entries under suppressions:")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return list, nil
}

type suppressionParser struct {
	file string
	errs spec.Errors
}

func (p *suppressionParser) fail(line int, field, format string, args ...any) {
	p.errs = append(p.errs, spec.Error{File: p.file, Line: line, Field: field, Detail: fmt.Sprintf(format, args...)})
}

func (p *suppressionParser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	// In line order, as a compiler lists them.
	slices.SortStableFunc(p.errs, func(a, b spec.Error) int { return cmp.Compare(a.Line, b.Line) })
	return &SuppressionErrors{Errs: p.errs}
}

// entry reads one list item; ok is false when it has a problem.
func (p *suppressionParser) entry(path string, n *yaml.Node) (Suppression, bool) {
	s := Suppression{At: fmt.Sprintf("%s:%d", p.file, n.Line)}
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, path, "Invalid value: want an entry with rule, object, reason and expires")
		return s, false
	}
	before := len(p.errs)
	fields := map[string]*string{
		"rule": &s.Rule, "object": &s.Object, "subject": &s.Subject, "namespace": &s.Namespace,
		"reason": &s.Reason, "expires": &s.Expires,
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		dst, known := fields[k.Value]
		switch {
		case !known:
			p.fail(k.Line, path+"."+k.Value, "unknown field %q: an entry has rule, object, subject, namespace, reason and expires", k.Value)
		case v.Kind != yaml.ScalarNode:
			p.fail(v.Line, path+"."+k.Value, "Invalid value: want a string")
		default:
			*dst = strings.TrimSpace(v.Value)
		}
	}
	for _, f := range []struct{ name, value, hint string }{
		{"rule", s.Rule, "the finding's rule id, e.g. acts-as"},
		{"object", s.Object, `one of the finding's objects, e.g. "RoleBinding alice/ci-deploy"`},
		{"reason", s.Reason, "why the finding is an accepted risk (a ticket, a person)"},
		{"expires", s.Expires, "the last day it is accepted, e.g. 2026-06-30; suppressions must expire"},
	} {
		if f.value == "" {
			p.fail(n.Line, path+"."+f.name, "Required value: %s", f.hint)
		}
	}
	if s.Expires != "" {
		t, err := time.Parse(time.DateOnly, s.Expires)
		if err != nil {
			p.fail(p.line(n, "expires"), path+".expires", "Invalid value: %q: want a date as YYYY-MM-DD", s.Expires)
		}
		s.expires = t
	}
	if s.Object != "" {
		s.Object, _, _ = splitLocation(s.Object) // pasted from a report with its file:line
	}
	return s, len(p.errs) == before
}

// line is the line of key's value in mapping n.
func (p *suppressionParser) line(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Line
		}
	}
	return n.Line
}

// expired reports whether s no longer applies on day now.
func (s Suppression) expired(now time.Time) bool {
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return today.After(s.expires)
}

// matches reports whether s covers f: same rule, one of f's objects equal
// to s.Object (with or without its "-> roleRef" part), and the subject and
// namespace when s gives them.
func (s Suppression) matches(f Finding) bool {
	if s.Rule != f.Rule || (s.Subject != "" && s.Subject != f.Subject) || (s.Namespace != "" && s.Namespace != f.Namespace) {
		return false
	}
	for _, o := range f.Objects {
		plain, _, _ := splitLocation(o)
		key, _, _ := strings.Cut(plain, " -> ")
		if s.Object == plain || s.Object == key {
			return true
		}
	}
	return false
}

// Suppress moves the findings an unexpired entry of list covers from
// r.Findings to r.Suppressed. Each expired entry suppresses nothing and is
// itself a finding (ExpiredSuppression, medium). It returns the unexpired
// entries that matched no finding, so a caller can warn about typos.
// Summary and tenant counts then count what is left.
func Suppress(r *Report, list []Suppression, now time.Time) (unused []Suppression) {
	var active []Suppression
	for _, s := range list {
		if !s.expired(now) {
			active = append(active, s)
			continue
		}
		r.Findings = append(r.Findings, Finding{
			Rule:      ExpiredSuppression,
			Severity:  Medium,
			Subject:   s.Subject,
			Namespace: s.Namespace,
			Objects:   []string{fmt.Sprintf("Suppression %s %s (%s)", s.Rule, s.Object, s.At)},
			Message: fmt.Sprintf("The ignore file entry at %s for %s on %s expired on %s (reason given: %s); it no longer suppresses that finding.",
				s.At, s.Rule, s.Object, s.Expires, s.Reason),
			Fix: fmt.Sprintf("Fix the %s finding on %s, or, if the risk is still accepted, set a new expires date (and reason) on the entry at %s.",
				s.Rule, s.Object, s.At),
		})
	}
	used := make([]bool, len(active))
	kept := make([]Finding, 0, len(r.Findings))
	for _, f := range r.Findings {
		by := -1
		for i, s := range active {
			if s.matches(f) {
				by = i
				break
			}
		}
		if by < 0 {
			kept = append(kept, f)
			continue
		}
		used[by] = true
		r.Suppressed = append(r.Suppressed, SuppressedFinding{Finding: f, By: active[by]})
	}
	for i, s := range active {
		if !used[i] {
			unused = append(unused, s)
		}
	}
	// Worst first, as Run orders them; the expired entries find their place.
	slices.SortStableFunc(kept, func(x, y Finding) int { return cmp.Compare(y.Severity, x.Severity) })
	r.Findings = kept
	recount(r)
	return unused
}
