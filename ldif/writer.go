package ldif

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// LineWidth is the column at which the Writer folds lines. RFC 2849 lets any
// line be folded; 76 keeps every physical line within the width the RFC's own
// examples and mail-safe tools use.
const LineWidth = 76

// Header is the comment block written after `version: 1`. It is informative
// only: readers ignore comments. It never carries credentials.
type Header struct {
	Server string    // e.g. ldap://host:389 (userinfo must already be stripped)
	Base   string    // search base DN
	Scope  string    // base, one or sub
	Filter string    // RFC 4515 filter
	Time   time.Time // when the export started
}

// Writer streams RFC 2849 content records. The first write emits
// `version: 1`; WriteHeader, if used, must come before the first entry.
// Because a stream cannot know its entry count up front, Close writes it as a
// trailing comment `# entries: N`. Writer is not safe for concurrent use.
type Writer struct {
	cw      countWriter
	bw      *bufio.Writer
	started bool
	closed  bool
	entries int
	b64     []byte
	err     error
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter returns a Writer that buffers its output to w.
func NewWriter(w io.Writer) *Writer { return NewWriterSize(w, 64<<10) }

// NewWriterSize returns a Writer with a buffer of size bytes (at least
// 8 KiB): a large export writes fewer, larger chunks.
func NewWriterSize(w io.Writer, size int) *Writer {
	lw := &Writer{cw: countWriter{w: w}}
	lw.bw = bufio.NewWriterSize(&lw.cw, max(size, 8<<10))
	return lw
}

// Entries returns the number of entries written so far.
func (w *Writer) Entries() int { return w.entries }

// Bytes returns the number of bytes written so far, buffered ones included.
func (w *Writer) Bytes() int64 { return w.cw.n + int64(w.bw.Buffered()) }

func (w *Writer) start() {
	if !w.started {
		w.started = true
		w.bw.WriteString("version: 1\n\n") // a blank line, as ldapsearch -L writes, so line-splitting tools see the version apart from the first record
	}
}

// WriteHeader writes the version line and a comment block describing the
// export (server, base, scope, filter, time). Empty fields are left out.
func (w *Writer) WriteHeader(h Header) error {
	if w.err != nil {
		return w.err
	}
	if w.started {
		return errors.New("ldif: header after first entry")
	}
	w.start()
	w.comment("LDIF export (RFC 2849) written by mswizard")
	for _, kv := range [][2]string{{"server", h.Server}, {"base", h.Base}, {"scope", h.Scope}, {"filter", h.Filter}} {
		if kv[1] != "" {
			w.comment(kv[0] + ": " + commentSafe(kv[1]))
		}
	}
	if !h.Time.IsZero() {
		w.comment("time: " + h.Time.UTC().Format(time.RFC3339))
	}
	w.comment("the entry count follows the last entry as \"# entries: N\"")
	w.bw.WriteByte('\n')
	return w.flushErr()
}

// commentSafe quotes s when it holds control characters, so a comment stays on
// its (folded) line.
func commentSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return strconv.Quote(s)
		}
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

func (w *Writer) comment(s string) {
	w.fold("# ", s)
}

// WriteEntry writes e as one content record followed by a blank line.
// Attribute names must be valid attribute descriptions; values are written
// as SAFE-STRINGs or base64 (see NeedsBase64), folded at LineWidth.
func (w *Writer) WriteEntry(e *Entry) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("ldif: write after close")
	}
	if !utf8.ValidString(e.DN) {
		return fmt.Errorf("ldif: entry %q: dn is not valid UTF-8", e.DN)
	}
	for i := range e.Attributes {
		if !ValidAttributeDescription(e.Attributes[i].Name) {
			return fmt.Errorf("ldif: entry %q: invalid attribute description %q", e.DN, e.Attributes[i].Name)
		}
	}
	w.start()
	w.attr("dn", e.DN)
	for i := range e.Attributes {
		a := &e.Attributes[i]
		for _, v := range a.Values {
			w.attr(a.Name, v)
		}
	}
	w.bw.WriteByte('\n')
	w.entries++
	if w.bw.Available() < 4096 {
		return w.flushErr()
	}
	return nil
}

func (w *Writer) attr(name, v string) {
	if v == "" {
		w.bw.WriteString(name)
		w.bw.WriteString(":\n")
		return
	}
	if NeedsBase64(v) {
		n := base64.StdEncoding.EncodedLen(len(v))
		if cap(w.b64) < n {
			w.b64 = make([]byte, n)
		}
		b := w.b64[:n]
		base64.StdEncoding.Encode(b, []byte(v))
		w.foldASCII(name, ":: ", b)
		return
	}
	w.foldASCII(name, ": ", []byte(v))
}

// foldASCII writes name+sep+value, folding at LineWidth. Values reaching it
// are ASCII (SAFE-STRING or base64), so any byte boundary is a character
// boundary.
func (w *Writer) foldASCII(name, sep string, v []byte) {
	col := len(name) + len(sep)
	if col+len(v) <= LineWidth {
		w.bw.WriteString(name)
		w.bw.WriteString(sep)
		w.bw.Write(v)
		w.bw.WriteByte('\n')
		return
	}
	w.fold(name+sep, string(v))
}

// fold writes prefix+s as one logical line folded at LineWidth columns
// (bytes), never splitting a UTF-8 sequence: a continuation line starts with
// one space (RFC 2849 "SEP SPACE").
func (w *Writer) fold(prefix, s string) {
	col := w.foldPart(prefix, 0)
	w.foldPart(s, col)
	w.bw.WriteByte('\n')
}

// foldPart writes s starting at column col, folding at LineWidth, and
// returns the column it ends at. Runs of ASCII between folds are written at
// once.
func (w *Writer) foldPart(s string, col int) int {
	for i := 0; i < len(s); {
		n := 1
		if s[i] >= 0x80 {
			_, n = utf8.DecodeRuneInString(s[i:])
		} else if room := LineWidth - col; room > 1 {
			// The ASCII run that fits on this line.
			j := i
			for j < len(s) && j-i < room && s[j] < 0x80 {
				j++
			}
			if j > i+1 {
				w.bw.WriteString(s[i:j])
				col += j - i
				i = j
				continue
			}
		}
		if col+n > LineWidth && col > 1 {
			w.bw.WriteString("\n ")
			col = 1
		}
		w.bw.WriteString(s[i : i+n])
		col += n
		i += n
	}
	return col
}

func (w *Writer) flushErr() error {
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("ldif: write: %w", err)
	}
	return w.err
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.flushErr()
}

// Close writes the trailing `# entries: N` comment and flushes. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.start()
	w.closed = true
	w.comment("entries: " + strconv.Itoa(w.entries))
	return w.flushErr()
}
