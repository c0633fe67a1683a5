package mongo

import (
	"bytes"
	"fmt"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/model"
	"evalrec.dev/store"
)

// registry encodes a [model.ID] as the ObjectID it is laid out as, so that
// runs keep their _id type on MongoDB and sort by when they started.
var registry = func() *bson.Registry {
	r := bson.NewRegistry()
	idType := reflect.TypeFor[model.ID]()
	r.RegisterTypeEncoder(idType, bson.ValueEncoderFunc(func(_ bson.EncodeContext, vw bson.ValueWriter, v reflect.Value) error {
		return vw.WriteObjectID(bson.ObjectID(v.Interface().(model.ID)))
	}))
	r.RegisterTypeDecoder(idType, bson.ValueDecoderFunc(func(_ bson.DecodeContext, vr bson.ValueReader, v reflect.Value) error {
		switch vr.Type() {
		case bson.TypeObjectID:
			oid, err := vr.ReadObjectID()
			if err != nil {
				return err
			}
			v.Set(reflect.ValueOf(model.ID(oid)))
			return nil
		case bson.TypeNull:
			v.Set(reflect.Zero(idType))
			return vr.ReadNull()
		}
		return fmt.Errorf("an ID must be an ObjectID, not a BSON %s", vr.Type())
	}))
	return r
}()

// MarshalExtJSON writes a document as relaxed MongoDB Extended JSON, the
// form mongoimport and mongoexport read and write.
func MarshalExtJSON(doc any) ([]byte, error) {
	var buf bytes.Buffer
	vw := bson.NewExtJSONValueWriter(&buf, false, false)
	enc := bson.NewEncoder(vw)
	enc.SetRegistry(registry)
	enc.UseJSONStructTags()
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalExtJSON decodes one document of Extended JSON (relaxed or
// canonical) into v, with nested documents as plain maps, as documents
// read from the server are (see [plain]).
func UnmarshalExtJSON(b []byte, v any) error {
	vr, err := bson.NewExtJSONValueReader(bytes.NewReader(b), false)
	if err != nil {
		return err
	}
	dec := bson.NewDecoder(vr)
	dec.SetRegistry(registry)
	dec.UseJSONStructTags()
	dec.DefaultDocumentM()
	if err := dec.Decode(v); err != nil {
		return err
	}
	plain(v)
	return nil
}

// plain turns the BSON values a document's free-form fields (the system
// under test) decode to into the Go values the embedded store gives:
// maps, slices, times and hex IDs, so that nothing above this package
// meets a bson type.
func plain(doc any) {
	switch d := doc.(type) {
	case *model.EvaluationRun:
		d.System.SystemUnderTest = plainMap(d.System.SystemUnderTest)
	case *store.Part:
		if d.System != nil {
			d.System.SystemUnderTest = plainMap(d.System.SystemUnderTest)
		}
	}
}

func plainMap(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = plainValue(v)
	}
	return m
}

func plainValue(v any) any {
	switch v := v.(type) {
	case bson.M:
		return plainMap(map[string]any(v))
	case bson.D:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.Key] = plainValue(e.Value)
		}
		return m
	case bson.A:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plainValue(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = plainValue(e)
		}
		return v
	case map[string]any:
		return plainMap(v)
	case bson.DateTime:
		return v.Time().UTC()
	case bson.ObjectID:
		return v.Hex()
	case bson.Decimal128:
		return v.String()
	}
	return v
}
