package evalrec

import (
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// testStart reads when a test started. The testing package keeps it in an
// unexported field (common.start.now, a time.Time, on every platform but
// Windows) and offers no accessor; TestMain mode has no other way to know a
// test's duration. When the layout is not the expected one, ok is false and
// the caller falls back to the time of the first Record call.
func testStart(t testing.TB) (start time.Time, ok bool) {
	v := reflect.ValueOf(t)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return time.Time{}, false
	}
	common := v.Elem().FieldByName("common")
	if !common.IsValid() || common.Kind() != reflect.Struct {
		return time.Time{}, false
	}
	s := common.FieldByName("start")
	if !s.IsValid() || s.Kind() != reflect.Struct {
		return time.Time{}, false
	}
	now := s.FieldByName("now")
	if !now.IsValid() || now.Type() != reflect.TypeFor[time.Time]() || !now.CanAddr() {
		return time.Time{}, false
	}
	start = *(*time.Time)(unsafe.Pointer(now.UnsafeAddr()))
	return start, !start.IsZero()
}
