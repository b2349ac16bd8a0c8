package spec

import "testing"

func TestNonASCIIProblem(t *testing.T) {
	for name, want := range map[string]string{
		"team-bob":       "",
		"team\u2013bob":  `character 5 is U+2013 EN DASH, which looks like the ASCII "-", but ` + labelChars + `; retype it as "team-bob"`,
		"team\u200b-bob": `character 5 is U+200B ZERO WIDTH SPACE, which is invisible, but ` + labelChars + `; retype it as "team-bob"`,
		"jos\u00e9":      "character 4 is U+00E9, but " + labelChars,
		"\u0430\u00e9":   "character 1 is U+0430 CYRILLIC SMALL LETTER A, which looks like the ASCII \"a\", but " + labelChars,
	} {
		if got := nonASCIIProblem(name, labelChars); got != want {
			t.Errorf("%q:\ngot  %s\nwant %s", name, got, want)
		}
	}
}
