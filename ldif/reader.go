package ldif

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"
)

// Change types of RFC 2849 change records ("changetype:" values).
const (
	ChangeAdd    = "add"
	ChangeDelete = "delete"
	ChangeModify = "modify"
	ChangeModRDN = "modrdn" // "moddn" is read as ChangeModRDN too
)

// Control is an RFC 2849 "control:" line of a change record.
type Control struct {
	OID      string
	Critical bool
	Value    *string // nil when the line carries no value
}

// Mod is one mod-spec of a "changetype: modify" record. Op is "add",
// "delete", "replace" or "increment" (RFC 4525); no values means "all
// values" for delete and "remove the attribute" for replace.
type Mod struct {
	Op        string
	Attribute Attribute
}

// Record is one LDIF record. A content record has ChangeType "" and its
// attributes in Entry. A change record has ChangeType set: "add" fills
// Entry.Attributes, "modify" fills Mods, "modrdn" fills NewRDN,
// DeleteOldRDN and NewSuperior; "delete" carries only the DN.
type Record struct {
	Line         int // line of the record's "dn:"
	ChangeType   string
	Controls     []Control
	Entry        Entry
	Mods         []Mod
	NewRDN       string
	DeleteOldRDN bool
	NewSuperior  *string
}

// SyntaxError is a malformed-LDIF error at a given line of a named input.
type SyntaxError struct {
	File string
	Line int
	Msg  string
	Err  error // underlying cause, if any
}

func (e *SyntaxError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// ReaderOptions tunes a Reader.
type ReaderOptions struct {
	// OpenURL resolves a ":<" value (RFC 2849 url). When nil, only file://
	// URLs with an absolute path on the local host are read; any other
	// scheme is refused.
	OpenURL func(u *url.URL) (io.ReadCloser, error)
}

// Reader parses an RFC 2849 stream record by record.
//
// It accepts, beyond the strict grammar and like OpenLDAP's ldapmodify: LF or
// CRLF line ends; comments anywhere, including inside a record and folded
// onto space-prefixed lines; several blank lines between records; "attr:value"
// without a space; an empty value; content and change records in one file; a
// content record with no attributes (389's 99user.ldif); a modify record whose
// last mod-spec lacks the closing "-"; raw UTF-8 in a plain value. It rejects,
// naming the line: a line without ':', a continuation line with nothing to
// continue, an invalid attribute description, bad base64, a non-UTF-8
// base64 DN, `version:` other than 1 or after the first record, and a record
// that does not start with "dn:".
type Reader struct {
	name    string
	br      *bufio.Reader
	opts    ReaderOptions
	lineNo  int    // number of the last physical line read
	peek    []byte // a physical line read ahead, not yet consumed
	peekNo  int    //
	hasPeek bool   //
	eof     bool   //
	buf     []byte // logical line under construction
	records int    // records returned so far
	version int    // 0 when no version line was seen
}

type lline struct {
	text []byte
	line int
}

// NewReader returns a Reader of r; name is used in error messages (a file
// name, typically).
func NewReader(r io.Reader, name string, opts ReaderOptions) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10), opts: opts}
}

// Version returns the value of the "version:" line, or 0 if none was read.
func (r *Reader) Version() int { return r.version }

func (r *Reader) errorf(line int, format string, args ...any) error {
	return &SyntaxError{File: r.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// physical returns the next physical line without its line end.
func (r *Reader) physical() ([]byte, int, bool, error) {
	if r.hasPeek {
		r.hasPeek = false
		return r.peek, r.peekNo, true, nil
	}
	if r.eof {
		return nil, 0, false, nil
	}
	var line []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			line = append(line, chunk...)
			continue
		}
		if err == io.EOF {
			r.eof = true
			if len(chunk) == 0 && line == nil {
				return nil, 0, false, nil
			}
			line = append(line, chunk...)
			break
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("%s: read: %w", r.name, err)
		}
		if line == nil {
			line = chunk
		} else {
			line = append(line, chunk...)
		}
		break
	}
	r.lineNo++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, r.lineNo, true, nil
}

// logical returns the next unfolded line. Blank lines come back as empty
// text; comments (with their continuations) are skipped.
func (r *Reader) logical() (*lline, error) {
	for {
		line, no, ok, err := r.physical()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, io.EOF
		}
		if len(line) > 0 && line[0] == ' ' {
			return nil, r.errorf(no, "continuation line with no line to continue")
		}
		comment := len(line) > 0 && line[0] == '#'
		r.buf = append(r.buf[:0], line...)
		if len(line) > 0 {
			// Gather continuation lines; the peeked line may alias the
			// bufio buffer, so copy what we keep first.
			for {
				next, nno, ok, err := r.physical()
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				if len(next) == 0 || next[0] != ' ' {
					r.peek = append(r.peek[:0], next...)
					r.peekNo, r.hasPeek = nno, true
					break
				}
				r.buf = append(r.buf, next[1:]...)
			}
		}
		if comment {
			continue
		}
		return &lline{text: r.buf, line: no}, nil
	}
}

// Next returns the next record, or io.EOF after the last one. Errors are
// *SyntaxError values naming the file and line.
func (r *Reader) Next() (*Record, error) {
	var l *lline
	var err error
	for {
		l, err = r.logical()
		if err != nil {
			return nil, err
		}
		if len(l.text) > 0 {
			break
		}
	}
	name, val, err := r.split(l)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(name, "version") {
		if r.records > 0 || r.version != 0 {
			return nil, r.errorf(l.line, "version line after the first record")
		}
		if val.kind != ':' || strings.TrimSpace(string(val.raw)) != "1" {
			return nil, r.errorf(l.line, "unsupported version %q (only 1 is defined)", string(val.raw))
		}
		r.version = 1
		return r.Next()
	}
	if !strings.EqualFold(name, "dn") {
		return nil, r.errorf(l.line, "record does not start with \"dn:\" (found %q)", name+":")
	}
	if val.kind == '<' {
		return nil, r.errorf(l.line, "dn may not be given as a URL")
	}
	dn, err := r.value(l.line, val)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(dn) {
		return nil, r.errorf(l.line, "dn is not valid UTF-8")
	}
	rec := &Record{Line: l.line, Entry: Entry{DN: dn}}
	r.records++
	if err := r.body(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

type rawValue struct {
	kind byte // ':' plain, 'b' base64, '<' URL
	raw  []byte
}

// split cuts an "attr:value" line into its attribute description and value.
func (r *Reader) split(l *lline) (string, rawValue, error) {
	i := bytes.IndexByte(l.text, ':')
	if i < 0 {
		return "", rawValue{}, r.errorf(l.line, "missing ':' in %q", clip(l.text))
	}
	name := string(l.text[:i])
	if !strings.EqualFold(name, "dn") && !ValidAttributeDescription(name) {
		return "", rawValue{}, r.errorf(l.line, "invalid attribute description %q", clip([]byte(name)))
	}
	rest := l.text[i+1:]
	v := rawValue{kind: ':'}
	if len(rest) > 0 && rest[0] == ':' {
		v.kind, rest = 'b', rest[1:]
	} else if len(rest) > 0 && rest[0] == '<' {
		v.kind, rest = '<', rest[1:]
	}
	for len(rest) > 0 && rest[0] == ' ' { // FILL
		rest = rest[1:]
	}
	v.raw = rest
	return name, v, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// value decodes a value-spec.
func (r *Reader) value(line int, v rawValue) (string, error) {
	switch v.kind {
	case 'b':
		out := make([]byte, base64.StdEncoding.DecodedLen(len(v.raw)))
		n, err := base64.StdEncoding.Decode(out, v.raw)
		if err != nil {
			return "", &SyntaxError{File: r.name, Line: line, Msg: "bad base64 value", Err: err}
		}
		return string(out[:n]), nil
	case '<':
		return r.fetch(line, string(v.raw))
	}
	return string(v.raw), nil
}

func (r *Reader) fetch(line int, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", &SyntaxError{File: r.name, Line: line, Msg: "bad url", Err: err}
	}
	var rc io.ReadCloser
	if r.opts.OpenURL != nil {
		rc, err = r.opts.OpenURL(u)
	} else {
		if u.Scheme != "file" {
			return "", r.errorf(line, "url %q: scheme %q not allowed (only file://)", raw, u.Scheme)
		}
		if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") {
			return "", r.errorf(line, "url %q: only absolute file:///path on the local host is allowed", raw)
		}
		rc, err = os.Open(u.Path)
	}
	if err != nil {
		return "", &SyntaxError{File: r.name, Line: line, Msg: fmt.Sprintf("url %q", raw), Err: err}
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return "", &SyntaxError{File: r.name, Line: line, Msg: fmt.Sprintf("url %q", raw), Err: err}
	}
	return string(b), nil
}

// body reads the lines after "dn:" up to the blank line ending the record.
func (r *Reader) body(rec *Record) error {
	first := true
	for {
		l, err := r.logical()
		if err == io.EOF || (err == nil && len(l.text) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		name, val, err := r.split(l)
		if err != nil {
			return err
		}
		switch {
		case first && strings.EqualFold(name, "control"):
			c, err := r.control(l.line, val)
			if err != nil {
				return err
			}
			rec.Controls = append(rec.Controls, c)
			continue
		case first && strings.EqualFold(name, "changetype"):
			return r.change(rec, l.line, val)
		case len(rec.Controls) > 0:
			return r.errorf(l.line, "\"control:\" must be followed by \"changetype:\"")
		}
		first = false
		s, err := r.value(l.line, val)
		if err != nil {
			return err
		}
		addValue(&rec.Entry.Attributes, name, s)
	}
}

// addValue appends s to the attribute named name (compared
// case-insensitively), creating it at the end if needed.
func addValue(attrs *[]Attribute, name, s string) {
	as := *attrs
	for i := len(as) - 1; i >= 0; i-- {
		if strings.EqualFold(as[i].Name, name) {
			as[i].Values = append(as[i].Values, s)
			return
		}
	}
	*attrs = append(as, Attribute{Name: name, Values: []string{s}})
}

// control parses `control: OID [true|false] [value-spec]` (RFC 2849).
func (r *Reader) control(line int, v rawValue) (Control, error) {
	if v.kind != ':' {
		return Control{}, r.errorf(line, "control: OID must be plain text")
	}
	s := string(v.raw)
	var c Control
	oid, rest, _ := strings.Cut(s, " ")
	var val string
	hasVal := false
	if i := strings.IndexByte(oid, ':'); i >= 0 { // "oid:value"
		oid, rest, val, hasVal = oid[:i], "", s[i:], true
	}
	if !validType(oid) || !isDigit(oid[0]) {
		return c, r.errorf(line, "control: %q is not a numeric OID", oid)
	}
	c.OID = oid
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.HasPrefix(rest, "true"):
		c.Critical, rest = true, rest[4:]
	case strings.HasPrefix(rest, "false"):
		rest = rest[5:]
	}
	if !hasVal && rest != "" {
		if rest[0] != ':' {
			return c, r.errorf(line, "control: unexpected %q after OID and criticality", rest)
		}
		val, hasVal = rest, true
	}
	if hasVal {
		cv := rawValue{kind: ':'}
		val = val[1:]
		if strings.HasPrefix(val, ":") {
			cv.kind, val = 'b', val[1:]
		} else if strings.HasPrefix(val, "<") {
			cv.kind, val = '<', val[1:]
		}
		cv.raw = []byte(strings.TrimLeft(val, " "))
		s, err := r.value(line, cv)
		if err != nil {
			return c, err
		}
		c.Value = &s
	}
	return c, nil
}

func (r *Reader) change(rec *Record, line int, v rawValue) error {
	if v.kind != ':' {
		return r.errorf(line, "changetype must be plain text")
	}
	switch ct := strings.ToLower(string(v.raw)); ct {
	case ChangeAdd:
		rec.ChangeType = ChangeAdd
		return r.attrvals(&rec.Entry.Attributes)
	case ChangeDelete:
		rec.ChangeType = ChangeDelete
		return r.expectEnd("changetype: delete")
	case ChangeModRDN, "moddn":
		rec.ChangeType = ChangeModRDN
		return r.modrdn(rec)
	case ChangeModify:
		rec.ChangeType = ChangeModify
		return r.modify(rec)
	default:
		return r.errorf(line, "unknown changetype %q", string(v.raw))
	}
}

func (r *Reader) attrvals(attrs *[]Attribute) error {
	for {
		l, err := r.logical()
		if err == io.EOF || (err == nil && len(l.text) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		name, val, err := r.split(l)
		if err != nil {
			return err
		}
		s, err := r.value(l.line, val)
		if err != nil {
			return err
		}
		addValue(attrs, name, s)
	}
}

func (r *Reader) expectEnd(what string) error {
	l, err := r.logical()
	if err == io.EOF || (err == nil && len(l.text) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	return r.errorf(l.line, "unexpected %q after %s", clip(l.text), what)
}

func (r *Reader) modrdn(rec *Record) error {
	step := 0 // 0 want newrdn, 1 want deleteoldrdn, 2 newsuperior allowed, 3 done
	for {
		l, err := r.logical()
		if err == io.EOF || (err == nil && len(l.text) == 0) {
			if step < 2 {
				return r.errorf(rec.Line, "modrdn record lacks %s", map[int]string{0: "\"newrdn:\"", 1: "\"deleteoldrdn:\""}[step])
			}
			return nil
		}
		if err != nil {
			return err
		}
		name, val, err := r.split(l)
		if err != nil {
			return err
		}
		if val.kind == '<' {
			return r.errorf(l.line, "%s may not be given as a URL", name)
		}
		s, err := r.value(l.line, val)
		if err != nil {
			return err
		}
		switch {
		case step == 0 && strings.EqualFold(name, "newrdn"):
			rec.NewRDN = s
		case step == 1 && strings.EqualFold(name, "deleteoldrdn"):
			if s != "0" && s != "1" {
				return r.errorf(l.line, "deleteoldrdn must be 0 or 1, not %q", s)
			}
			rec.DeleteOldRDN = s == "1"
		case step == 2 && strings.EqualFold(name, "newsuperior"):
			rec.NewSuperior = &s
		default:
			return r.errorf(l.line, "unexpected %q in a modrdn record", name+":")
		}
		step++
	}
}

func (r *Reader) modify(rec *Record) error {
	var cur *Mod
	for {
		l, err := r.logical()
		if err == io.EOF || (err == nil && len(l.text) == 0) {
			// A missing final "-" is tolerated, as ldapmodify does.
			return nil
		}
		if err != nil {
			return err
		}
		if string(l.text) == "-" {
			if cur == nil {
				return r.errorf(l.line, "\"-\" without a mod-spec")
			}
			cur = nil
			continue
		}
		name, val, err := r.split(l)
		if err != nil {
			return err
		}
		if cur == nil {
			op := strings.ToLower(name)
			switch op {
			case "add", "delete", "replace", "increment":
			default:
				return r.errorf(l.line, "expected add:, delete:, replace: or increment: in a modify record, found %q", name+":")
			}
			attr := strings.TrimRight(string(val.raw), " ")
			if val.kind != ':' || !ValidAttributeDescription(attr) {
				return r.errorf(l.line, "%s: invalid attribute description %q", op, clip(val.raw))
			}
			rec.Mods = append(rec.Mods, Mod{Op: op, Attribute: Attribute{Name: attr}})
			cur = &rec.Mods[len(rec.Mods)-1]
			continue
		}
		if !strings.EqualFold(name, cur.Attribute.Name) {
			return r.errorf(l.line, "value of %q inside \"%s: %s\" (missing \"-\"?)", name, cur.Op, cur.Attribute.Name)
		}
		s, err := r.value(l.line, val)
		if err != nil {
			return err
		}
		cur.Attribute.Values = append(cur.Attribute.Values, s)
	}
}

// ReadEntries reads every record of r and returns the content records'
// entries. A change record is an error: callers wanting them use Reader.
func ReadEntries(r io.Reader, name string, opts ReaderOptions) ([]Entry, error) {
	lr := NewReader(r, name, opts)
	var out []Entry
	for {
		rec, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if rec.ChangeType != "" {
			return out, &SyntaxError{File: name, Line: rec.Line, Msg: fmt.Sprintf("change record (changetype: %s) where content records are expected", rec.ChangeType)}
		}
		out = append(out, rec.Entry)
	}
}
