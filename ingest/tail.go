package ingest

// TailSize bounds the output kept per test: the last 16 KiB. Output of
// passing tests is dropped when they end; failed and incomplete tests keep
// their tail in the stored document.
const TailSize = 16 << 10

// tail keeps the last TailSize bytes written to it.
type tail struct {
	buf   []byte
	start int // ring start once full
	full  bool
	cut   bool // something was dropped
}

func (t *tail) WriteString(s string) {
	if len(s) >= TailSize {
		t.buf = append(t.buf[:0], s[len(s)-TailSize:]...)
		t.start, t.full, t.cut = 0, true, true
		return
	}
	if !t.full {
		if len(t.buf)+len(s) <= TailSize {
			t.buf = append(t.buf, s...)
			return
		}
		// Fill up, then wrap around.
		n := TailSize - len(t.buf)
		t.buf = append(t.buf, s[:n]...)
		s = s[n:]
		t.full = true
	}
	t.cut = true
	for len(s) > 0 {
		n := copy(t.buf[t.start:], s)
		s = s[n:]
		t.start = (t.start + n) % TailSize
	}
}

func (t *tail) String() string {
	if !t.full {
		return string(t.buf)
	}
	out := make([]byte, 0, TailSize+4)
	if t.cut {
		out = append(out, "…\n"...)
	}
	out = append(out, t.buf[t.start:]...)
	return string(append(out, t.buf[:t.start]...))
}

func (t *tail) Len() int { return len(t.buf) }
