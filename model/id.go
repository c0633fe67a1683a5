package model

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ID identifies an evaluation run: 12 bytes, laid out as a MongoDB
// ObjectID (a 4-byte timestamp in seconds, 5 bytes unique to the process,
// a 3-byte counter), so that IDs sort by when runs started on every
// store, and the MongoDB driver stores it as an ObjectID. Its text form
// is 24 hexadecimal digits.
type ID [12]byte

var (
	idCounter atomic.Uint32
	idProcess [5]byte
)

func init() {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Errorf("store: no randomness for run IDs: %w", err))
	}
	copy(idProcess[:], b[:5])
	idCounter.Store(binary.BigEndian.Uint32(b[5:]))
}

// NewID is a new ID that sorts after those made in earlier seconds.
func NewID() ID { return NewIDAt(time.Now()) }

// NewIDAt is a new ID carrying t (to the second) as its timestamp.
func NewIDAt(t time.Time) ID {
	var id ID
	binary.BigEndian.PutUint32(id[0:4], uint32(t.Unix()))
	copy(id[4:9], idProcess[:])
	c := idCounter.Add(1)
	id[9], id[10], id[11] = byte(c>>16), byte(c>>8), byte(c)
	return id
}

// ErrInvalidID is returned for text that is not 24 hexadecimal digits.
var ErrInvalidID = errors.New("not an ID (24 hexadecimal digits)")

// ParseID reads an ID's text form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 24 {
		return ID{}, ErrInvalidID
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, ErrInvalidID
	}
	return id, nil
}

// Hex is the ID's text form.
func (id ID) Hex() string { return hex.EncodeToString(id[:]) }

func (id ID) String() string { return id.Hex() }

// IsZero reports whether the ID is unset.
func (id ID) IsZero() bool { return id == ID{} }

// Timestamp is when the ID was made, to the second.
func (id ID) Timestamp() time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(id[0:4])), 0).UTC()
}

func (id ID) MarshalText() ([]byte, error) { return []byte(id.Hex()), nil }

func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// UnmarshalJSON reads the text form, or Extended JSON's {"$oid": "…"},
// which journals of evalrec's first format and MongoDB's tools write.
func (id *ID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			OID string `json:"$oid"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return id.UnmarshalText([]byte(v.OID))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return id.UnmarshalText([]byte(s))
}
