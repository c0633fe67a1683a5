package result

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest metric key stored; longer names are shortened.
const MaxKeyLen = 128

// MetricKey maps a user's metric name onto a key that is safe as a MongoDB
// field name on every server, as a t.Attr key, and as a path in a query:
//
//   - "." becomes "_" (MongoDB reads dots as paths; FerretDB rejects them);
//   - a leading "$" becomes "_" (operators; FerretDB rejects them);
//   - whitespace, control characters and invalid UTF-8 become "_";
//   - an empty name becomes "_";
//   - a name longer than MaxKeyLen bytes keeps its first 119 bytes plus "~" and
//     8 hex digits of its SHA-256, so distinct long names stay distinct.
//
// changed reports whether the key differs from name; the store then keeps the
// original in the metric's "name" field.
func MetricKey(name string) (key string, changed bool) {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == utf8.RuneError:
			b.WriteByte('_')
		case r == '.', i == 0 && r == '$', unicode.IsSpace(r), unicode.IsControl(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	key = b.String()
	if key == "" {
		key = "_"
	}
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
