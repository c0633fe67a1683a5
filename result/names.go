package result

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest metric key stored; longer names are shortened.
const MaxKeyLen = 128

// MaxNameLen is the longest metric name evalrec takes: a longer one is
// refused where it enters (Record, or an attribute on a stream), with one
// line, so that no table, page or document has to hold it.
const MaxNameLen = 256

// CheckName refuses a metric name longer than MaxNameLen.
func CheckName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("metric name %q… is %d bytes, over the %d-byte limit: not stored", OneLine(name[:min(len(name), 40)]), len(name), MaxNameLen)
	}
	return nil
}

// MetricKey maps a user's metric name onto a key that is safe as a MongoDB
// field name on every server, as a t.Attr key, and as a path in a query. It
// escapes, as %XX, the bytes that are unsafe:
//
//   - "." (MongoDB reads dots as paths; FerretDB rejects them);
//   - a leading "$" (operators; FerretDB rejects them);
//   - whitespace, control characters and invalid UTF-8;
//   - "%" itself and "~", so that the mapping stays one to one;
//
// an empty name becomes "%empty", which no escaped name can be; and a key
// longer than MaxKeyLen bytes keeps its first 119 bytes plus "~" and 8 hex
// digits of the name's SHA-256. So distinct names always get distinct keys:
// "a.b" is "a%2Eb", never the same as "a_b".
//
// changed reports whether the key differs from name; the store then keeps the
// original in the metric's "name" field.
func MetricKey(name string) (key string, changed bool) {
	if name == "" {
		return "%empty", true
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r == '.', r == '%', r == '~', i == 0 && r == '$', unicode.IsSpace(r), unicode.IsControl(r):
			for _, c := range []byte(name[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	key = b.String()
	if len(key) > MaxKeyLen {
		sum := sha256.Sum256([]byte(name))
		cut := 119
		for !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut] + "~" + hex.EncodeToString(sum[:4])
	}
	return key, key != name
}
