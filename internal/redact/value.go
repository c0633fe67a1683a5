package redact

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// secretWords name a secret wherever they stand in a key.
var secretWords = []string{
	"password", "passwd", "pwd", "pass", "passphrase", "passcode",
	"secret", "secrets", "token", "credential", "credentials", "apikey",
	"authorization", "bearer", "cookie", "signature", "privatekey",
}

// keyCompounds name a secret when one word follows the other.
var keyCompounds = [][2]string{
	{"api", "key"}, {"access", "key"}, {"secret", "key"}, {"private", "key"},
	{"client", "secret"}, {"session", "key"}, {"signing", "key"}, {"encryption", "key"},
	{"master", "key"}, {"account", "key"}, {"auth", "key"}, {"license", "key"},
}

// publicKeys are words before "key" that make it something other than a
// secret: a sort key or a public key.
var publicKeys = []string{
	"sort", "cache", "primary", "foreign", "partition", "shard", "routing", "hash",
	"lookup", "index", "group", "join", "dedup", "idempotency", "public", "map",
	"row", "column", "object", "s3", "bucket", "metric", "label", "config", "field",
}

var wordBoundary = regexp.MustCompile(`[^A-Za-z0-9]+`)

// words splits a key into lower-case words at separators and case changes:
// "openAIKey", "OPENAI_API_KEY" and "x-api-key" all end in "key".
func words(key string) []string {
	var out []string
	for _, part := range wordBoundary.Split(key, -1) {
		rs := []rune(part)
		start := 0
		for i := 1; i < len(rs); i++ {
			lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
			acronymEnd := i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && unicode.IsLower(rs[i+1])
			if lowerToUpper || acronymEnd {
				out = append(out, strings.ToLower(string(rs[start:i])))
				start = i
			}
		}
		if start < len(rs) {
			out = append(out, strings.ToLower(string(rs[start:])))
		}
	}
	return out
}

// IsSecretKey reports whether a key names a secret, so a string stored
// under it must not be kept: password, DB_PASSWD, apiKey, x-api-key,
// openai_key, aws_access_key_id, client_secret, auth, Authorization. Keys
// such as model, max_tokens, tokenizer, passes or sort_key do not.
func IsSecretKey(k string) bool {
	ws := words(k)
	if len(ws) == 0 {
		return false
	}
	for i, w := range ws {
		if slices.Contains(secretWords, w) {
			return true
		}
		if i > 0 {
			for _, c := range keyCompounds {
				if ws[i-1] == c[0] && w == c[1] {
					return true
				}
			}
		}
	}
	last := ws[len(ws)-1]
	switch {
	case last == "auth" || last == "key" && len(ws) == 1:
		return true
	case last == "key" || last == "keys":
		return !slices.Contains(publicKeys, ws[len(ws)-2])
	}
	return false
}

// maxDepth bounds the walk of nested values (and breaks cycles).
const maxDepth = 32

// Value returns a copy of v built from maps with string keys, slices,
// strings, numbers, booleans and times, with every secret masked: strings
// under secret keys, secrets in the shape of any string, and the values of
// secret flags in argument lists. It walks maps of any key and value type,
// structs (exported fields, under their json names), pointers, interfaces,
// slices and arrays, to any depth.
func Value(v any) any { return walk(reflect.ValueOf(v), "", 0) }

var (
	timeType          = reflect.TypeFor[time.Time]()
	durationType      = reflect.TypeFor[time.Duration]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func walk(v reflect.Value, key string, depth int) any {
	if !v.IsValid() || depth > maxDepth {
		return nil
	}
	switch v.Type() {
	case timeType:
		return v.Interface()
	case durationType:
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walk(v.Elem(), key, depth+1)
	case reflect.Map:
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			out[k] = walk(iter.Value(), k, depth+1)
		}
		return out
	case reflect.Struct:
		if v.Type().Implements(textMarshalerType) {
			if b, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
				return maskString(key, string(b))
			}
		}
		out := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			out[name] = walk(v.Field(i), name, depth+1)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return maskString(key, string(bytesOf(v)))
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = walk(v.Index(i), key, depth+1)
		}
		maskArguments(out)
		return out
	case reflect.String:
		return maskString(key, v.String())
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil // channels, functions and the like say nothing about a configuration
}

func bytesOf(v reflect.Value) []byte {
	b := make([]byte, v.Len())
	for i := range b {
		b[i] = byte(v.Index(i).Uint())
	}
	return b
}

func maskString(key, s string) string {
	if s != "" && key != "" && IsSecretKey(key) {
		return mask
	}
	return Text(s)
}

var lonelyFlag = regexp.MustCompile(`^--?([A-Za-z][\w.-]*)$`)

// maskArguments masks, in an argument list, the value that follows a
// secret flag given on its own: "--password", "hunter2".
func maskArguments(args []any) {
	for i := 0; i+1 < len(args); i++ {
		s, ok := args[i].(string)
		if !ok {
			continue
		}
		if m := lonelyFlag.FindStringSubmatch(s); m != nil && IsSecretKey(m[1]) {
			if next, ok := args[i+1].(string); ok && !strings.HasPrefix(next, "-") {
				args[i+1] = mask
			}
		}
	}
}

// Attributes masks a map of string attributes by key and by value.
func Attributes(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = maskString(k, v)
	}
	return out
}
