// Package jsonout writes the JSON every evalrec command prints with -json,
// in one shape whatever the value: snake_case keys, RFC 3339 times, IDs
// in their text form (any [encoding.TextMarshaler]), [] and {} for nothing, and null for numbers JSON cannot hold
// (NaN, ±Inf).
//
// Keys come from a field's json tag (for the model's types, the stored
// name), else the field name in snake_case, so a stored document and a
// struct written for a command print alike.
package jsonout

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Object is a JSON object whose keys print in the order given (a map's
// print sorted).
type Object []Field

// Field is one key of an [Object].
type Field struct {
	Key   string
	Value any
}

// Write writes v to w as indented JSON, followed by a newline.
func Write(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// WriteStreaming writes what Write writes for head with one more key,
// whose value is an array of what each emits, one element at a time: an
// array of 50,000 test runs need not be held at once.
func WriteStreaming(w io.Writer, head Object, key string, each func(emit func(v any) error) error) error {
	bw := bufio.NewWriter(w)
	var out bytes.Buffer
	indented := func(v any, prefix string) error {
		b, err := Marshal(v)
		if err != nil {
			return err
		}
		out.Reset()
		if err := json.Indent(&out, b, prefix, "  "); err != nil {
			return err
		}
		_, err = bw.Write(out.Bytes())
		return err
	}
	bw.WriteString("{")
	for _, f := range head {
		bw.WriteString("\n  ")
		if err := indented(f.Key, ""); err != nil {
			return err
		}
		bw.WriteString(": ")
		if err := indented(f.Value, "  "); err != nil {
			return err
		}
		bw.WriteString(",")
	}
	bw.WriteString("\n  ")
	if err := indented(key, ""); err != nil {
		return err
	}
	bw.WriteString(": [")
	n := 0
	err := each(func(v any) error {
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		bw.WriteString("\n    ")
		return indented(v, "    ")
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// Marshal returns v as compact JSON.
func Marshal(v any) ([]byte, error) {
	var e encoder
	if err := e.value(reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type encoder struct{ buf bytes.Buffer }

var (
	timeType   = reflect.TypeFor[time.Time]()
	objectType = reflect.TypeFor[Object]()
	rawType    = reflect.TypeFor[json.RawMessage]()
	textType   = reflect.TypeFor[encoding.TextMarshaler]()
)

func (e *encoder) value(v reflect.Value) error {
	if !v.IsValid() {
		e.buf.WriteString("null")
		return nil
	}
	switch v.Type() {
	case timeType:
		return e.str(v.Interface().(time.Time).UTC().Format(time.RFC3339Nano))
	case objectType:
		return e.object(v.Interface().(Object))
	case rawType:
		e.buf.Write(v.Bytes())
		return nil
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && v.Type().Implements(textType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return err
		}
		return e.str(string(b))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		return e.value(v.Elem())
	case reflect.Bool:
		fmt.Fprint(&e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(&e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		fmt.Fprint(&e.buf, v.Uint())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.buf.WriteString("null")
			return nil
		}
		b, _ := json.Marshal(f)
		e.buf.Write(b)
	case reflect.String:
		return e.str(v.String())
	case reflect.Slice, reflect.Array:
		e.buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	case reflect.Map:
		return e.mapValue(v)
	case reflect.Struct:
		return e.structValue(v)
	default:
		return fmt.Errorf("jsonout: cannot write a %s", v.Type())
	}
	return nil
}

func (e *encoder) str(s string) error {
	b, err := json.Marshal(s)
	e.buf.Write(b)
	return err
}

func (e *encoder) object(o Object) error {
	e.buf.WriteByte('{')
	for i, el := range o {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		_ = e.str(el.Key)
		e.buf.WriteByte(':')
		if err := e.value(reflect.ValueOf(el.Value)); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// mapValue writes a map with its keys sorted, as encoding/json does.
func (e *encoder) mapValue(v reflect.Value) error {
	keys := make([]string, 0, v.Len())
	byKey := map[string]reflect.Value{}
	for it := v.MapRange(); it.Next(); {
		k, err := keyString(it.Key())
		if err != nil {
			return err
		}
		keys = append(keys, k)
		byKey[k] = it.Value()
	}
	slices.Sort(keys)
	e.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		_ = e.str(k)
		e.buf.WriteByte(':')
		if err := e.value(byKey[k]); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

func keyString(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(textType) {
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err
	}
	return fmt.Sprint(k.Interface()), nil
}

func (e *encoder) structValue(v reflect.Value) error {
	e.buf.WriteByte('{')
	first := true
	var fields func(v reflect.Value) error
	fields = func(v reflect.Value) error {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, omitEmpty, inline, skip := fieldName(f)
			if skip {
				continue
			}
			fv := v.Field(i)
			if inline && fv.Kind() == reflect.Struct {
				if err := fields(fv); err != nil {
					return err
				}
				continue
			}
			if omitEmpty && fv.IsZero() {
				continue
			}
			if !first {
				e.buf.WriteByte(',')
			}
			first = false
			_ = e.str(name)
			e.buf.WriteByte(':')
			if err := e.value(fv); err != nil {
				return err
			}
		}
		return nil
	}
	if err := fields(v); err != nil {
		return err
	}
	e.buf.WriteByte('}')
	return nil
}

// fieldName is a field's key: its json tag, else its name in snake_case.
// Anonymous struct fields without a name are inlined.
func fieldName(f reflect.StructField) (name string, omitEmpty, inline, skip bool) {
	if v, ok := f.Tag.Lookup("json"); ok {
		n, opts, _ := strings.Cut(v, ",")
		if n == "-" && opts == "" {
			return "", false, false, true
		}
		omitEmpty = strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		inline = strings.Contains(opts, "inline")
		if n != "" {
			return n, omitEmpty, inline, false
		}
	}
	if f.Anonymous {
		inline = true
	}
	return snake(f.Name), omitEmpty, inline, false
}

// snake turns a Go name into snake_case: BaseRuns → base_runs, TestID →
// test_id.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
