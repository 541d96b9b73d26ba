package mailcheck

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxLine bounds one log line; longer lines are skipped and counted as parse
// errors rather than growing memory.
const maxLine = 64 << 10

// ParseError says which line of which file could not be read as a record.
type ParseError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// Reader streams records from one log file: mail.log_current-style lines
// (FORMATS.md §3.2, times in the Reader's location) and multilog lines
// (FORMATS.md §4, "@" + TAI64N label) may both appear; blank lines are
// skipped; any other line is counted in Errors and never stops the stream.
type Reader struct {
	br      *bufio.Reader
	file    string
	loc     *time.Location
	line    int
	rec     Record
	err     error
	errs    int
	samples []ParseError
	qmail   qmailState
}

// maxErrorSamples bounds the parse errors kept for reports.
const maxErrorSamples = 10

// NewReader reads records from r; file names them in Record.File and loc
// gives the wall clock of mail.log_current dates (nil means UTC).
func NewReader(r io.Reader, file string, loc *time.Location) *Reader {
	if loc == nil {
		loc = time.UTC
	}
	return &Reader{br: bufio.NewReaderSize(r, maxLine), file: file, loc: loc}
}

// Next advances to the next record and reports whether there is one; after
// it returns false, Err tells whether reading failed.
func (rd *Reader) Next() bool {
	for rd.err == nil {
		line, err := rd.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rd.err = fmt.Errorf("%s: read: %w", rd.file, err)
			}
			return false
		}
		if line == nil {
			continue // over-long line, already counted
		}
		if isBlank(line) {
			continue
		}
		var rec Record
		if line[0] == '@' {
			rec, err = parseMultilogLine(line, &rd.qmail)
		} else {
			rec, err = ParseRecord(line, rd.loc)
		}
		if err != nil {
			rd.fail(err.Error())
			continue
		}
		rec.File, rec.Line = rd.file, rd.line
		rd.rec = rec
		return true
	}
	return false
}

// readLine returns the next line without its newline, nil for a skipped
// over-long line, or io.EOF.
func (rd *Reader) readLine() ([]byte, error) {
	line, err := rd.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		rd.line++
		rd.fail("line longer than 64 KiB")
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = rd.br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, nil
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	rd.line++
	return trimEOL(line), nil
}

func (rd *Reader) fail(reason string) {
	rd.errs++
	if len(rd.samples) < maxErrorSamples {
		rd.samples = append(rd.samples, ParseError{File: rd.file, Line: rd.line, Reason: reason})
	}
}

// Record returns the record Next found.
func (rd *Reader) Record() Record { return rd.rec }

// Err returns the read error that ended the stream, if any (parse errors are
// not read errors).
func (rd *Reader) Err() error { return rd.err }

// Errors returns how many non-blank lines were not records, and the first
// few of them.
func (rd *Reader) Errors() (int, []ParseError) { return rd.errs, rd.samples }

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// isBlank reports whether b has no field (see splitFields).
func isBlank(b []byte) bool {
	for _, c := range b {
		if c > ' ' {
			return false
		}
	}
	return true
}
