package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Source says where a tenant was defined.
type Source struct {
	// File is the path as given, or "<stdin>" for standard input.
	File string
	// Line is the 1-based line of the document's first key; 0 when unknown.
	Line int
}

// String formats the source as "file:line", leaving out what is unknown.
func (s Source) String() string {
	switch {
	case s.File == "" && s.Line == 0:
		return ""
	case s.File == "":
		return "line " + strconv.Itoa(s.Line)
	case s.Line == 0:
		return s.File
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// Error is one problem in a spec file.
type Error struct {
	// File and Line locate the problem; either may be empty when unknown.
	File string
	Line int
	// Field is the field path, e.g. "spec.members[0].role"; empty for
	// problems that concern a whole file or document.
	Field string
	// Detail says what is wrong and what to do about it.
	Detail string
}

// Error formats the problem as "file:line: field: detail", leaving out the
// parts that are empty.
func (e Error) Error() string {
	parts := make([]string, 0, 3)
	if loc := (Source{File: e.File, Line: e.Line}).String(); loc != "" {
		parts = append(parts, loc)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, ": ")
}

// Errors is every problem found in one load or validation. Load, Parse and
// Validate return it as *Errors so callers can list the problems themselves.
type Errors []Error

// Error lists the problems one per line under a count, so a user sees at a
// glance how much there is to fix.
func (e Errors) Error() string {
	var b strings.Builder
	noun := "problems"
	if len(e) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(&b, "%d %s in the tenant spec:", len(e), noun)
	for _, err := range e {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap exposes the single problems to errors.Is and errors.As.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, err := range e {
		errs[i] = err
	}
	return errs
}

// asError returns nil for no problems, so that callers can compare the
// result with nil (a nil *Errors in an error interface would not be nil).
// Problems are ordered by file (in input order) and line, so they read like
// a compiler's output; problems on the same line keep the order found.
func asError(errs []Error, fileOrder []string) error {
	if len(errs) == 0 {
		return nil
	}
	rank := make(map[string]int, len(fileOrder))
	for i, f := range fileOrder {
		if _, seen := rank[f]; !seen {
			rank[f] = i
		}
	}
	sorted := slices.Clone(errs)
	slices.SortStableFunc(sorted, func(a, b Error) int {
		ra, oka := rank[a.File]
		rb, okb := rank[b.File]
		if !oka {
			ra = len(fileOrder)
		}
		if !okb {
			rb = len(fileOrder)
		}
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	out := Errors(sorted)
	return &out
}
