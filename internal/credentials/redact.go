package credentials

import (
	"bytes"
	"context"
	"io"
	"regexp"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// bodyLevel is the verbosity at which client-go logs request and response
// bodies (rest.Request's logBody); the round tripper logs URLs, headers
// (Authorization masked) and timings from -v 6 to -v 9.
const bodyLevel = 8

// quiet returns ctx with a logger that client-go cannot log bodies with,
// for the calls whose bodies hold tokens: a TokenRequest's response, token
// Secrets read, applied or listed. Verb, URL, status and headers are still
// logged at -v 6 and above, so the request stays visible.
func quiet(ctx context.Context) context.Context {
	l := klog.FromContext(ctx)
	if l.GetSink() == nil {
		return ctx
	}
	return klog.NewContext(ctx, l.WithSink(newCappedSink(l.GetSink(), bodyLevel-1)))
}

// cappedSink passes on what is logged at verbosity max or below, whatever
// the verbosity of the sink it wraps.
type cappedSink struct {
	logr.LogSink
	max int
}

func newCappedSink(s logr.LogSink, max int) logr.LogSink {
	// One frame more between the caller and the sink: keep file:line right.
	if cd, ok := s.(logr.CallDepthLogSink); ok {
		s = cd.WithCallDepth(1)
	}
	return cappedSink{LogSink: s, max: max}
}

func (s cappedSink) Enabled(level int) bool { return level <= s.max && s.LogSink.Enabled(level) }

func (s cappedSink) Info(level int, msg string, kv ...any) {
	if level <= s.max {
		s.LogSink.Info(level, msg, kv...)
	}
}

func (s cappedSink) WithValues(kv ...any) logr.LogSink {
	return cappedSink{LogSink: s.LogSink.WithValues(kv...), max: s.max}
}

func (s cappedSink) WithName(name string) logr.LogSink {
	return cappedSink{LogSink: s.LogSink.WithName(name), max: s.max}
}

func (s cappedSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return cappedSink{LogSink: cd.WithCallDepth(depth), max: s.max}
	}
	return s
}

// Redacted replaces what is cut out of a text.
const Redacted = "<redacted>"

var (
	// jwt matches a JSON Web Token, or the start of one (client-go truncates
	// long bodies): every ServiceAccount token is one, and each of its parts
	// is base64url of a JSON object, so it starts with "eyJ" ({").
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}`)
	// encodedJWT matches a JWT in base64, as a Secret's data holds it:
	// base64("eyJ") is "ZXlK".
	encodedJWT = regexp.MustCompile(`ZXlK[A-Za-z0-9+/]{8,}={0,2}`)
	// credentialKind finds the kinds whose bodies carry credentials, in a
	// JSON body as klog quotes it or not.
	credentialKind = regexp.MustCompile(`\\?"kind\\?"\s*:\s*\\?"(Secret|SecretList|TokenRequest)\\?"`)
	// hexDump finds the hex dump client-go logs a protobuf body as, whose
	// text column would spell a token 16 bytes a line.
	hexDump = regexp.MustCompile(`(?m)^\s*0{8}  [0-9a-f]{2} `)
)

// Redact returns s with every token-looking string, plain or in base64,
// replaced by Redacted.
func Redact(s string) string {
	s = jwt.ReplaceAllLiteralString(s, Redacted)
	return encodedJWT.ReplaceAllLiteralString(s, Redacted)
}

// LogFilter returns a writer for klog's output that keeps credentials out
// of it, behind the bodies that are never logged (see quiet) as a second
// line of defence for any other call: a logged body of a Secret, a
// SecretList or a TokenRequest, and any body shown as a hex dump, is
// replaced by a note, and every token-looking string is redacted. klog
// writes one entry per Write, which is what the body check relies on.
func LogFilter(w io.Writer) io.Writer { return logFilter{w: w} }

type logFilter struct{ w io.Writer }

func (f logFilter) Write(p []byte) (int, error) {
	entry := p
	if i := bytes.Index(entry, []byte(" body=")); i >= 0 && isBodyEntry(entry[:i]) {
		body := entry[i:]
		switch {
		case credentialKind.Match(body):
			entry = append(entry[:i:i], []byte(` body="<not logged: it holds credentials>"`+"\n")...)
		case hexDump.Match(body):
			entry = append(entry[:i:i], []byte(` body="<not logged: protobuf>"`+"\n")...)
		}
	}
	if _, err := f.w.Write([]byte(Redact(string(entry)))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func isBodyEntry(head []byte) bool {
	return bytes.Contains(head, []byte(`"Response Body"`)) || bytes.Contains(head, []byte(`"Request Body"`))
}
