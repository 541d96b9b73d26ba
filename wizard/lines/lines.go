// Package lines turns a byte stream (a command's output) into whole lines for
// the faces and the journal: a chunk cut mid-line waits for the rest, and the
// final partial line is handed over when the stream ends (Flush).
package lines

import (
	"bytes"
	"io"
	"strings"
)

// MaxLine bounds how much of a line without a newline is held back; a longer
// run of bytes is handed over in pieces of this size, so a command that never
// writes a newline cannot grow the buffer without end.
const MaxLine = 64 << 10

// Writer calls Emit with each whole line written to it, without its "\n" or
// "\r\n". It is not safe for concurrent use; exec serialises writes.
type Writer struct {
	emit func(string)
	tee  io.Writer
	buf  []byte
}

// New returns a Writer that hands each line to emit.
func New(emit func(string)) *Writer { return &Writer{emit: emit} }

// Tee returns a Writer that copies every byte to w (a log file) as written and
// hands each whole line to emit.
func Tee(w io.Writer, emit func(string)) *Writer { return &Writer{emit: emit, tee: w} }

// Write splits p into lines; it never fails unless the tee does.
func (l *Writer) Write(p []byte) (int, error) {
	if l.tee != nil {
		if n, err := l.tee.Write(p); err != nil {
			return n, err
		}
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(strings.TrimSuffix(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	for len(l.buf) >= MaxLine {
		l.emit(string(l.buf[:MaxLine]))
		l.buf = l.buf[MaxLine:]
	}
	if len(l.buf) == 0 {
		l.buf = nil // let a long burst's memory go
	}
	return len(p), nil
}

// Flush hands over the final line the stream did not end with a newline.
func (l *Writer) Flush() {
	if len(l.buf) > 0 {
		l.emit(strings.TrimSuffix(string(l.buf), "\r"))
		l.buf = nil
	}
}

// Flusher is what a command runner calls when a command's output ends.
type Flusher interface{ Flush() }
