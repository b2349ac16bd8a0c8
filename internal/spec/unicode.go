package spec

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lookAlike is a character that passes for an ASCII one in most fonts.
type lookAlike struct {
	name  string
	ascii string // what it looks like; "" for invisible characters
}

// lookAlikes are the characters most often pasted into names by accident:
// Cyrillic and Greek letters from a keyboard layout or a chat message,
// typographic dashes from a word processor, and invisible characters from a
// web page. The Unicode names are spelled out here because the standard
// library has none.
var lookAlikes = map[rune]lookAlike{
	'\u0430': {"CYRILLIC SMALL LETTER A", "a"},
	'\u0441': {"CYRILLIC SMALL LETTER ES", "c"},
	'\u0501': {"CYRILLIC SMALL LETTER KOMI DE", "d"},
	'\u0435': {"CYRILLIC SMALL LETTER IE", "e"},
	'\u0456': {"CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", "i"},
	'\u0458': {"CYRILLIC SMALL LETTER JE", "j"},
	'\u043e': {"CYRILLIC SMALL LETTER O", "o"},
	'\u0440': {"CYRILLIC SMALL LETTER ER", "p"},
	'\u0455': {"CYRILLIC SMALL LETTER DZE", "s"},
	'\u0443': {"CYRILLIC SMALL LETTER U", "y"},
	'\u0445': {"CYRILLIC SMALL LETTER HA", "x"},
	'\u03b1': {"GREEK SMALL LETTER ALPHA", "a"},
	'\u03b9': {"GREEK SMALL LETTER IOTA", "i"},
	'\u03bd': {"GREEK SMALL LETTER NU", "v"},
	'\u03bf': {"GREEK SMALL LETTER OMICRON", "o"},
	'\u2010': {"HYPHEN", "-"},
	'\u2011': {"NON-BREAKING HYPHEN", "-"},
	'\u2013': {"EN DASH", "-"},
	'\u2014': {"EM DASH", "-"},
	'\u2212': {"MINUS SIGN", "-"},
	'\u00ad': {"SOFT HYPHEN", ""},
	'\u200b': {"ZERO WIDTH SPACE", ""},
	'\u200c': {"ZERO WIDTH NON-JOINER", ""},
	'\u200d': {"ZERO WIDTH JOINER", ""},
	'\u2060': {"WORD JOINER", ""},
	'\ufeff': {"ZERO WIDTH NO-BREAK SPACE", ""},
}

// describeRune names a character for messages: "U+0430 CYRILLIC SMALL
// LETTER A" for the look-alikes bulkhead knows, "U+00E9" otherwise.
func describeRune(r rune) string {
	if l, ok := lookAlikes[r]; ok {
		return fmt.Sprintf("U+%04X %s", r, l.name)
	}
	return fmt.Sprintf("U+%04X", r)
}

// nonASCIIProblem explains why a name that must be ASCII (an object name, a
// namespace) is not, naming the first offending character and where it is,
// since a look-alike is invisible in the message's quoted value; "" when
// the name is ASCII. allowed says what the name may hold. When every
// offending character is a known look-alike, the message offers the name
// retyped in ASCII.
func nonASCIIProblem(name, allowed string) string {
	pos, first := 0, rune(-1)
	fixed, fixable := strings.Builder{}, true
	for i, r := range []rune(name) {
		if r < utf8.RuneSelf {
			fixed.WriteRune(r)
			continue
		}
		if first < 0 {
			pos, first = i+1, r
		}
		l, ok := lookAlikes[r]
		fixable = fixable && ok
		fixed.WriteString(l.ascii)
	}
	if first < 0 {
		return ""
	}
	what := fmt.Sprintf("character %d is %s", pos, describeRune(first))
	switch l, ok := lookAlikes[first]; {
	case ok && l.ascii != "":
		what += fmt.Sprintf(", which looks like the ASCII %q", l.ascii)
	case ok || unicode.Is(unicode.Cf, first):
		what += ", which is invisible"
	}
	msg := what + ", but " + allowed
	if fixable && fixed.Len() > 0 {
		msg += fmt.Sprintf("; retype it as %q", fixed.String())
	}
	return msg
}

// Descriptions of the ASCII names nonASCIIProblem is given.
const (
	labelChars     = "a lowercase RFC 1123 label holds only a-z, 0-9 and '-'"
	subdomainChars = "a lowercase RFC 1123 subdomain holds only a-z, 0-9, '-' and '.'"
)

// dnsProblem is the message for a name apimachinery refused with msgs:
// nonASCIIProblem's when the name holds non-ASCII characters, else msgs.
func dnsProblem(name string, msgs []string, allowed string) string {
	if p := nonASCIIProblem(name, allowed); p != "" {
		return p
	}
	return strings.Join(msgs, "; ")
}

// invisibleProblem names the first invisible formatting character of a
// user or group name (U+200B ZERO WIDTH SPACE, say): such a name matches
// nothing an authenticator reports. "" when there is none.
func invisibleProblem(name string) string {
	for i, r := range []rune(name) {
		if unicode.Is(unicode.Cf, r) {
			return fmt.Sprintf("must not contain invisible formatting characters: character %d is %s, "+
				"which matches no name an authenticator reports", i+1, describeRune(r))
		}
	}
	return ""
}
