package mailcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"time"
)

// Action is the action letter of an MTA log entry code (FORMATS.md §3.3):
// E enqueue, D dequeue, R reject/bounce, Q temporary failure, O/C/X/Y
// connection records, and so on. It marshals as a one-letter string.
type Action byte

// String returns the letter, or "" for the zero Action.
func (a Action) String() string {
	if a == 0 {
		return ""
	}
	return string(rune(a))
}

// MarshalText writes the letter.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads a letter written by MarshalText.
func (a *Action) UnmarshalText(b []byte) error {
	switch len(b) {
	case 0:
		*a = 0
	case 1:
		*a = Action(b[0])
	default:
		return fmt.Errorf("action %q: want one letter", b)
	}
	return nil
}

// Class is how the wizard rates a record (the proposal in FORMATS.md §3.3).
type Class string

// The classes. Other covers codes the proposal does not rate (B, I, A, and
// multilog lines that say nothing about delivery).
const (
	ClassHard    Class = "hard"
	ClassTrouble Class = "trouble"
	ClassNormal  Class = "normal"
	ClassOther   Class = "other"
)

// Classify rates an MTA action letter: R, K, J and the connection codes X, Y
// are hard errors; Q and W are delivery trouble; E, D, Z, O, C are normal;
// anything else is Other (FORMATS.md §3.3).
func Classify(a Action) Class {
	switch a {
	case 'R', 'K', 'J', 'X', 'Y':
		return ClassHard
	case 'Q', 'W':
		return ClassTrouble
	case 'E', 'D', 'Z', 'O', 'C':
		return ClassNormal
	}
	return ClassOther
}

// Record is one MTA transaction log entry (LOG_FORMAT=1, FORMATS.md §3.2) or
// one multilog line (FORMATS.md §4). Fields the line does not carry are
// empty: From is "" for bounces, Dst is "" when the log leaves it blank and
// "+"/"-" on connection records, Size is 0 on connection records.
type Record struct {
	Time      time.Time `json:"time"`
	Node      string    `json:"node,omitempty"`
	Process   string    `json:"process,omitempty"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst,omitempty"`
	Action    Action    `json:"action"`
	Modifiers string    `json:"modifiers,omitempty"`
	Size      int64     `json:"size,omitempty"`
	From      string    `json:"from,omitempty"`
	OrigTo    string    `json:"orig_to,omitempty"`
	To        string    `json:"to,omitempty"`
	Diag      string    `json:"diag,omitempty"`
	Class     Class     `json:"class"`
	File      string    `json:"file"`
	Line      int       `json:"line"`
	Raw       string    `json:"raw"`
}

// Connection reports whether r is a connection record (O, C, X, Y, I with
// "+" or "-" in the destination column).
func (r Record) Connection() bool { return r.Dst == "+" || r.Dst == "-" }

// Where returns "file:line" for evidence listings.
func (r Record) Where() string { return r.File + ":" + strconv.Itoa(r.Line) }

// errNotRecord is wrapped by every parse failure.
var errNotRecord = errors.New("not an mta log record")

// span is a field of a line as byte offsets.
type span struct{ start, end int }

// maxHead is how many fields the fast path splits: date, time, node,
// process, source, destination, entry code, size.
const maxHead = 8

// splitFields appends the fields of line to dst, stopping after max fields
// when max > 0. Any byte up to and including ' ' (space, tab, other control
// characters) separates fields. It reads eight bytes at a time where it can:
// padded channel columns make this the scanner's hottest loop.
func splitFields(line []byte, dst []span, max int) []span {
	return splitFieldsFrom(line, 0, dst, max)
}

// splitFieldsFrom is splitFields starting at offset i.
func splitFieldsFrom(line []byte, i int, dst []span, max int) []span {
	for max <= 0 || len(dst) < max {
		f, next, ok := nextField(line, i)
		if !ok {
			break
		}
		dst, i = append(dst, f), next
	}
	return dst
}

// nextField returns the first field at or after offset i and the offset
// just past it.
func nextField(line []byte, i int) (span, int, bool) {
	const (
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
		spaces = 0x2020202020202020
	)
	n := len(line)
	for i+8 <= n {
		x := binary.LittleEndian.Uint64(line[i:]) ^ spaces
		if x != 0 {
			i += bits.TrailingZeros64(x) / 8
			break
		}
		i += 8
	}
	for i < n && line[i] <= ' ' {
		i++
	}
	if i == n {
		return span{}, i, false
	}
	start := i
	for i+8 <= n {
		x := binary.LittleEndian.Uint64(line[i:])
		// High bit set in each byte < 0x21 (exact for the lowest one).
		if m := (x - ones*0x21) & ^x & highs; m != 0 {
			i += bits.TrailingZeros64(m) / 8
			break
		}
		i += 8
	}
	for i < n && line[i] > ' ' {
		i++
	}
	return span{start, i}, i, true
}

var monthIndex = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseDate reads DD-Mon-YYYY with the month in any case (old examples write
// 20-JAN-1998, FORMATS.md §3.2).
func parseDate(b []byte) (y int, m time.Month, d int, ok bool) {
	i := 0
	for i < len(b) && i < 2 && isDigit(b[i]) {
		d = d*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || d < 1 || d > 31 || len(b) != i+9 || b[i] != '-' || b[i+4] != '-' {
		return 0, 0, 0, false
	}
	mon := b[i+1 : i+4]
	for k, name := range monthIndex {
		if lowerEq(mon, name) {
			m = time.Month(k + 1)
			break
		}
	}
	if m == 0 {
		return 0, 0, 0, false
	}
	for _, c := range b[i+5:] {
		if !isDigit(c) {
			return 0, 0, 0, false
		}
		y = y*10 + int(c-'0')
	}
	return y, m, d, true
}

func lowerEq(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// parseClock reads HH:MM:SS with optional fractional digits (.cc in the
// documented format; some old examples have none).
func parseClock(b []byte) (h, m, s, ns int, ok bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, 0, 0, 0, false
	}
	two := func(p []byte) (int, bool) {
		if !isDigit(p[0]) || !isDigit(p[1]) {
			return 0, false
		}
		return int(p[0]-'0')*10 + int(p[1]-'0'), true
	}
	var ok1, ok2, ok3 bool
	h, ok1 = two(b[0:2])
	m, ok2 = two(b[3:5])
	s, ok3 = two(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, 0, 0, 0, false
	}
	if len(b) == 8 {
		return h, m, s, 0, true
	}
	frac := b[9:]
	if b[8] != '.' || len(frac) == 0 || len(frac) > 9 {
		return 0, 0, 0, 0, false
	}
	scale := 100000000
	for _, c := range frac {
		if !isDigit(c) {
			return 0, 0, 0, 0, false
		}
		ns += int(c-'0') * scale
		scale /= 10
	}
	return h, m, s, ns, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(b []byte) bool {
	if len(b) == 0 || len(b) > 18 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// isCode reports whether b looks like an entry code: an upper-case action
// letter followed by up to five upper-case modifier letters.
func isCode(b []byte) bool {
	if len(b) == 0 || len(b) > 6 {
		return false
	}
	for _, c := range b {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// isProcess reports whether b looks like a LOG_PROCESS field, pid.thread.seq
// in hex and decimal (e.g. 2e2d.5.1).
func isProcess(b []byte) bool {
	dots := 0
	prevDot := true
	for _, c := range b {
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			dots++
			prevDot = true
		case isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f'):
			prevDot = false
		default:
			return false
		}
	}
	return dots >= 1 && dots <= 2 && !prevDot
}

// head is the result of locating the entry code among the fields after the
// time: the fields before it are node/process/source/destination.
type head struct {
	code int  // index of the entry code in the fields after the time
	conn bool // connection record: "+" or "-" precedes the code
}

// findCode locates the entry code in the fields f (those after the time).
// A message record's code is followed by a numeric size; a connection
// record's code follows "+" or "-". At least the source channel precedes it.
func findCode(line []byte, f []span) (head, bool) {
	last := min(len(f)-1, 4)
	for i := 1; i <= last; i++ {
		tok := line[f[i].start:f[i].end]
		if !isCode(tok) {
			continue
		}
		prev := line[f[i-1].start:f[i-1].end]
		if len(prev) == 1 && (prev[0] == '+' || prev[0] == '-') {
			return head{code: i, conn: true}, true
		}
		if i+1 < len(f) && allDigits(line[f[i+1].start:f[i+1].end]) {
			return head{code: i}, true
		}
	}
	return head{}, false
}

// findCodeFrom splits the fields from offset i (the first field after the
// time) only until findCode's answer is certain, appending them to a; the
// answer is the one findCode gives on all the fields.
func findCodeFrom(line []byte, i int, a []span) ([]span, head, bool) {
	tok := func(s span) []byte { return line[s.start:s.end] }
	for k := 0; k <= 5; k++ {
		f, next, ok := nextField(line, i)
		if !ok {
			break
		}
		a, i = append(a, f), next
		// findCode tries positions in order: position k-1 is settled by
		// its size field arriving, position k's connection form by itself.
		if k >= 2 && isCode(tok(a[k-1])) && allDigits(tok(a[k])) {
			return a, head{code: k - 1}, true
		}
		if k >= 1 && k <= 4 && isCode(tok(a[k])) {
			if p := tok(a[k-1]); len(p) == 1 && (p[0] == '+' || p[0] == '-') {
				return a, head{code: k, conn: true}, true
			}
		}
	}
	return a, head{}, false
}

// assignPrefix splits the fields before the code into node, process, source
// and destination. The layout is ambiguous when LOG_NODE or LOG_PROCESS is
// on and the destination is blank; a pid.thread.seq field marks the process,
// and a lone extra field is taken as the destination.
func assignPrefix(line []byte, pre []span) (node, process, src, dst span) {
	tok := func(s span) []byte { return line[s.start:s.end] }
	switch len(pre) {
	case 1:
		src = pre[0]
	case 2:
		if isProcess(tok(pre[0])) {
			process, src = pre[0], pre[1]
		} else {
			src, dst = pre[0], pre[1]
		}
	case 3:
		switch {
		case isProcess(tok(pre[1])):
			node, process, src = pre[0], pre[1], pre[2]
		case isProcess(tok(pre[0])):
			process, src, dst = pre[0], pre[1], pre[2]
		default:
			node, src, dst = pre[0], pre[1], pre[2]
		}
	case 4:
		node, process, src, dst = pre[0], pre[1], pre[2], pre[3]
	}
	return
}

// clock turns a date and time field into a time in loc.
func clock(line []byte, df, tf span, loc *time.Location) (time.Time, error) {
	y, mo, d, ok := parseDate(line[df.start:df.end])
	if !ok {
		return time.Time{}, fmt.Errorf("%w: bad date %q", errNotRecord, line[df.start:df.end])
	}
	h, mi, s, ns, ok := parseClock(line[tf.start:tf.end])
	if !ok {
		return time.Time{}, fmt.Errorf("%w: bad time %q", errNotRecord, line[tf.start:tf.end])
	}
	return time.Date(y, mo, d, h, mi, s, ns, loc), nil
}

func hasPrefixFold(b []byte, lowerPrefix string) bool {
	return len(b) >= len(lowerPrefix) && lowerEq(b[:len(lowerPrefix)], lowerPrefix)
}

// ParseRecord parses one mail.log_current line (LOG_FORMAT=1, FORMATS.md
// §3.2) whose date and time are wall-clock times in loc. Fields may be
// separated by any run of spaces or tabs. The envelope From is missing on
// bounces: when the field after the size already is the original To
// (rfc822;...), or when two or more spaces follow the size, From is "".
// LOG_FORMAT=2's "<>" is also read as "". File and Line are left zero.
func ParseRecord(line []byte, loc *time.Location) (Record, error) {
	line = trimEOL(line)
	var buf [24]span
	f := splitFields(line, buf[:0], 0)
	if len(f) < 4 {
		return Record{}, fmt.Errorf("%w: %d fields", errNotRecord, len(f))
	}
	t, err := clock(line, f[0], f[1], loc)
	if err != nil {
		return Record{}, err
	}
	after := f[2:]
	h, ok := findCode(line, after)
	if !ok {
		return Record{}, fmt.Errorf("%w: no entry code", errNotRecord)
	}
	str := func(s span) string { return string(line[s.start:s.end]) }
	node, process, src, dst := assignPrefix(line, after[:h.code])
	code := line[after[h.code].start:after[h.code].end]
	r := Record{
		Time: t, Node: str(node), Process: str(process), Src: str(src), Dst: str(dst),
		Action: Action(code[0]), Modifiers: string(code[1:]), Raw: string(line),
	}
	r.Class = Classify(r.Action)
	rest := after[h.code+1:]
	if h.conn {
		if len(rest) > 0 {
			r.Diag = string(line[rest[0].start:])
		}
		return r, nil
	}
	sizeEnd := rest[0].end
	r.Size, err = strconv.ParseInt(str(rest[0]), 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("%w: size: %w", errNotRecord, err)
	}
	rest = rest[1:]
	if len(rest) > 0 {
		fromMissing := hasPrefixFold(line[rest[0].start:rest[0].end], "rfc822;")
		if !fromMissing && (len(rest) < 2 || !hasPrefixFold(line[rest[1].start:rest[1].end], "rfc822;")) {
			fromMissing = rest[0].start-sizeEnd >= 2
		}
		if !fromMissing {
			if from := str(rest[0]); from != "<>" {
				r.From = from
			}
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		r.OrigTo = str(rest[0])
		rest = rest[1:]
	}
	if len(rest) > 0 {
		r.To = str(rest[0])
		rest = rest[1:]
	}
	if len(rest) > 0 {
		r.Diag = string(line[rest[0].start:])
	}
	return r, nil
}
