package mailcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"mswizard/wizard"
)

// Probe carries what the checks take from the outside world, so tests can
// drive them: the clock, the sleep between queue samples, the time zone of
// mail.log_current dates and how much evidence to keep.
type Probe struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; nil means wizard.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Location is the zone the MTA writes its wall-clock times in; nil
	// means time.Local.
	Location *time.Location
	// MaxEvidence caps the records kept as evidence (all are counted); 0
	// means 50.
	MaxEvidence int
}

func (p *Probe) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Probe) loc() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.Local
}

func (p *Probe) maxEvidence() int {
	if p.MaxEvidence > 0 {
		return p.MaxEvidence
	}
	return 50
}

func (p *Probe) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return wizard.Sleep(ctx, d)
}

// ClassCounts counts records per class.
type ClassCounts struct {
	Hard    int `json:"hard"`
	Trouble int `json:"trouble"`
	Normal  int `json:"normal"`
	Other   int `json:"other"`
}

func (c *ClassCounts) add(cl Class) {
	switch cl {
	case ClassHard:
		c.Hard++
	case ClassTrouble:
		c.Trouble++
	case ClassNormal:
		c.Normal++
	default:
		c.Other++
	}
}

// Total is the number of records counted.
func (c ClassCounts) Total() int { return c.Hard + c.Trouble + c.Normal + c.Other }

// FileStat says what Scan did with one input file.
type FileStat struct {
	Path        string `json:"path"`
	Lines       int    `json:"lines"`
	ParseErrors int    `json:"parse_errors,omitempty"`
	// Skipped is set when the file's mtime (or a rotated multilog file's
	// label) is before the window, so none of its records can be in it.
	Skipped bool `json:"skipped,omitempty"`
}

// Summary is what Scan found in the window [Since, Until].
type Summary struct {
	Since time.Time  `json:"since"`
	Until time.Time  `json:"until"`
	Files []FileStat `json:"files"`
	// Records counts the records in the window, Totals and Channels split
	// them by class and by source channel.
	Records  int                    `json:"records"`
	Totals   ClassCounts            `json:"totals"`
	Channels map[string]ClassCounts `json:"channels"`
	// Evidence holds the first hard-error and trouble records in file
	// order, at most Probe.MaxEvidence of EvidenceTotal.
	Evidence      []Record `json:"evidence"`
	EvidenceTotal int      `json:"evidence_total"`
	// HardPerHour and TroublePerHour are the rates over Until − Since.
	HardPerHour    float64 `json:"hard_per_hour"`
	TroublePerHour float64 `json:"trouble_per_hour"`
	// ParseErrors counts non-blank lines that were not records; the first
	// few are in ParseErrorSamples.
	ParseErrors       int          `json:"parse_errors"`
	ParseErrorSamples []ParseError `json:"parse_error_samples,omitempty"`
	First             time.Time    `json:"first,omitzero"`
	Last              time.Time    `json:"last,omitzero"`
}

// MTALogFiles returns the transaction logs present in the MTA log directory
// in time order: mail.log (cumulative), mail.log_yesterday,
// mail.log_current (FORMATS.md §3.1).
func MTALogFiles(dir string) ([]string, error) {
	var out []string
	for _, n := range []string{"mail.log", "mail.log_yesterday", "mail.log_current"} {
		p := filepath.Join(dir, n)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			out = append(out, p)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("mta log %s: %w", p, err)
		}
	}
	return out, nil
}

// Scan counts the records at or after since in files, in order. Each path
// is a log file (mail.log_current lines, multilog lines, or both) or a
// multilog directory (read through MultilogFiles). A zero since means
// everything. The window ends at Probe.Now when set, else at the last
// record. Only the time, channel and entry code of each line are read; the
// full parse runs on hard-error and trouble lines kept as evidence. Files
// whose mtime is before since are skipped unread (a log's mtime is never
// older than its last record), and so are rotated multilog files whose
// label (the rotation time) is before since. Each file is read in 1 MiB
// chunks of whole lines by GOMAXPROCS workers; results are merged in file
// order, so line numbers and evidence do not depend on the worker count.
// Wall-clock times in the repeated hour at the end of daylight saving time
// read as the first occurrence (the log does not say which).
func (p *Probe) Scan(ctx context.Context, files []string, since time.Time) (Summary, error) {
	var paths []string
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return Summary{}, fmt.Errorf("scan %s: %w", f, err)
		}
		if !st.IsDir() {
			paths = append(paths, f)
			continue
		}
		ml, err := MultilogFiles(f)
		if err != nil {
			return Summary{}, fmt.Errorf("scan: %w", err)
		}
		paths = append(paths, ml...)
	}
	sum := Summary{Since: since}
	total := newTally()
	var evidenceFull atomic.Bool // the merged evidence is at the cap
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return Summary{}, fmt.Errorf("scan: %w", err)
		}
		fs, err := p.scanFile(ctx, path, since, &total, &evidenceFull)
		if err != nil {
			return Summary{}, err
		}
		sum.Files = append(sum.Files, fs)
	}
	sum.Records = total.records
	sum.Totals = total.totals
	sum.Channels = make(map[string]ClassCounts, len(total.counts))
	for ch, c := range total.counts {
		sum.Channels[ch] = *c
	}
	sum.Evidence = total.evidence
	if sum.Evidence == nil {
		sum.Evidence = []Record{}
	}
	sum.EvidenceTotal = total.evidenceTotal
	sum.ParseErrors = total.parseErrors
	sum.ParseErrorSamples = total.samples
	sum.First, sum.Last = total.first, total.last
	switch {
	case p.Now != nil:
		sum.Until = p.Now()
	default:
		sum.Until = total.last
	}
	if sum.Since.IsZero() {
		sum.Since = total.first
	}
	if h := sum.Until.Sub(sum.Since).Hours(); h > 0 {
		sum.HardPerHour = float64(sum.Totals.Hard) / h
		sum.TroublePerHour = float64(sum.Totals.Trouble) / h
	}
	return sum, nil
}

// tally accumulates what the scan found, per chunk and overall.
type tally struct {
	counts        map[string]*ClassCounts
	totals        ClassCounts
	records       int
	evidence      []Record
	evidenceTotal int
	parseErrors   int
	samples       []ParseError
	first, last   time.Time
}

func newTally() tally { return tally{counts: map[string]*ClassCounts{}} }

// merge adds o, whose line numbers are relative to its chunk, to t; lineOffset
// is the number of lines of the file before that chunk. Evidence and error
// samples keep the first ones in file order.
func (t *tally) merge(o *tally, lineOffset, maxEvidence int) {
	for ch, c := range o.counts {
		tc, ok := t.counts[ch]
		if !ok {
			tc = &ClassCounts{}
			t.counts[ch] = tc
		}
		tc.Hard += c.Hard
		tc.Trouble += c.Trouble
		tc.Normal += c.Normal
		tc.Other += c.Other
	}
	t.totals.Hard += o.totals.Hard
	t.totals.Trouble += o.totals.Trouble
	t.totals.Normal += o.totals.Normal
	t.totals.Other += o.totals.Other
	t.records += o.records
	for _, e := range o.evidence {
		if len(t.evidence) == maxEvidence {
			break
		}
		e.Line += lineOffset
		t.evidence = append(t.evidence, e)
	}
	t.evidenceTotal += o.evidenceTotal
	t.parseErrors += o.parseErrors
	for _, pe := range o.samples {
		if len(t.samples) == maxErrorSamples {
			break
		}
		pe.Line += lineOffset
		t.samples = append(t.samples, pe)
	}
	if !o.first.IsZero() && (t.first.IsZero() || o.first.Before(t.first)) {
		t.first = o.first
	}
	if o.last.After(t.last) {
		t.last = o.last
	}
}

// lineScanner is the fast path: it reads the date, time, channel and entry
// code of each line without allocating and parses candidates fully. Each
// worker has its own.
type lineScanner struct {
	loc         *time.Location
	since       time.Time
	maxEvidence int

	// cache of the last date+hour seen: consecutive lines share it.
	dateKey  [16]byte
	dateLen  int
	hour     int
	hourBase time.Time

	fields [maxHead]span
	qmail  qmailState
	// evidenceFull is set once the merged evidence has reached the cap:
	// later chunks then only count candidates instead of parsing them.
	evidenceFull *atomic.Bool
	tally
}

func newLineScanner(loc *time.Location, since time.Time, maxEvidence int) *lineScanner {
	return &lineScanner{loc: loc, since: since, maxEvidence: maxEvidence, hour: -1, tally: newTally(), evidenceFull: new(atomic.Bool)}
}

// chunkSize is the unit of reading and of work handed to a scan worker.
const chunkSize = 1 << 20

// chunk is a run of whole lines of one file; overlong stands for one line
// longer than chunkSize, counted and dropped.
type chunk struct {
	seq      int
	buf      []byte // returned to the free list when done
	data     []byte
	overlong bool
}

type chunkResult struct {
	seq   int
	lines int
	tally tally
}

// scanFile streams one file through the workers in chunks of whole lines
// and merges their tallies into total in file order, so line numbers,
// evidence order and the evidence cap are as if one goroutine had read it.
// A multilog file's local/remote tagging of qmail deliveries is per worker:
// a delivery whose start and end fall in chunks scanned by different
// workers is counted under qmail-send.
func (p *Probe) scanFile(ctx context.Context, path string, since time.Time, total *tally, full *atomic.Bool) (FileStat, error) {
	fs := FileStat{Path: path}
	if !since.IsZero() {
		if lbl := rotatedLabel(filepath.Base(path)); lbl != "" {
			if t, err := ParseTAI64N([]byte(lbl)); err == nil && t.Before(since) {
				fs.Skipped = true
				return fs, nil
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fs, fmt.Errorf("scan %s: open: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fs, fmt.Errorf("scan %s: %w", path, err)
	}
	if !since.IsZero() && st.ModTime().Before(since) {
		fs.Skipped = true
		return fs, nil
	}
	workers := int(min(int64(runtime.GOMAXPROCS(0)), st.Size()/chunkSize+1, 8))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan []byte, 2*workers+1)
	for range cap(free) {
		free <- make([]byte, chunkSize)
	}
	jobs := make(chan chunk, workers)
	results := make(chan chunkResult, workers)
	var readErr error
	go func() {
		defer close(jobs)
		readErr = readChunks(ctx, f, free, jobs)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newLineScanner(p.loc(), since, p.maxEvidence())
			s.evidenceFull = full
			for c := range jobs {
				results <- s.scanChunk(c, path)
				free <- c.buf
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[int]chunkResult{}
	next := 0
	errsBefore := total.parseErrors
	for r := range results {
		pending[r.seq] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			total.merge(&r.tally, fs.Lines, p.maxEvidence())
			if len(total.evidence) >= p.maxEvidence() {
				full.Store(true)
			}
			fs.Lines += r.lines
			next++
		}
	}
	if readErr != nil {
		return fs, fmt.Errorf("scan %s: %w", path, readErr)
	}
	fs.ParseErrors = total.parseErrors - errsBefore
	return fs, nil
}

// readChunks cuts r into chunks that end at a newline (the last may not)
// and sends them on jobs, taking buffers from free.
func readChunks(ctx context.Context, r io.Reader, free chan []byte, jobs chan<- chunk) error {
	var tail []byte // start of a line continued in the next read
	skipping := false
	for seq := 0; ; {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		n := copy(buf, tail) // may overlap tail when buf is the same buffer: copy is a memmove
		m, err := io.ReadFull(r, buf[n:])
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return fmt.Errorf("read: %w", err)
		}
		data := buf[:n+m]
		tail = nil
		if skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				free <- buf
				if eof {
					return nil
				}
				continue
			}
			skipping = false
			data = data[i+1:]
		}
		if eof {
			if len(data) > 0 {
				jobs <- chunk{seq: seq, buf: buf, data: data}
			} else {
				free <- buf
			}
			return nil
		}
		nl := bytes.LastIndexByte(data, '\n')
		if nl < 0 {
			if len(data) < len(buf) { // the rest after a skipped line: read more
				tail = data
				free <- buf
				continue
			}
			jobs <- chunk{seq: seq, buf: buf, overlong: true}
			seq++
			skipping = true
			continue
		}
		tail = data[nl+1:]
		jobs <- chunk{seq: seq, buf: buf, data: data[:nl+1]}
		seq++
	}
}

// scanChunk tallies the lines of one chunk, numbering them from 1.
func (s *lineScanner) scanChunk(c chunk, path string) chunkResult {
	s.tally = newTally()
	if c.overlong {
		s.fail(path, 1, "line longer than 1 MiB")
		return chunkResult{seq: c.seq, lines: 1, tally: s.tally}
	}
	n := 0
	data := c.data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		n++
		s.line(line, path, n)
	}
	return chunkResult{seq: c.seq, lines: n, tally: s.tally}
}

func (s *lineScanner) fail(path string, line int, reason string) {
	s.parseErrors++
	if len(s.samples) < maxErrorSamples {
		s.samples = append(s.samples, ParseError{File: path, Line: line, Reason: reason})
	}
}

// clock returns the time of the date and time fields, reusing the last
// date+hour base so most lines cost no time.Date call.
func (s *lineScanner) clock(line []byte, df, tf span) (time.Time, bool) {
	d := line[df.start:df.end]
	h, mi, sec, ns, ok := parseClock(line[tf.start:tf.end])
	if !ok {
		return time.Time{}, false
	}
	if h != s.hour || len(d) != s.dateLen || !bytes.Equal(d, s.dateKey[:s.dateLen]) {
		if len(d) > len(s.dateKey) {
			return time.Time{}, false
		}
		y, mo, day, ok := parseDate(d)
		if !ok {
			return time.Time{}, false
		}
		s.dateLen = copy(s.dateKey[:], d)
		s.hour = h
		s.hourBase = time.Date(y, mo, day, h, 0, 0, 0, s.loc)
	}
	return s.hourBase.Add(time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ns)), true
}

// line handles one line (without its newline).
func (s *lineScanner) line(line []byte, path string, n int) {
	if k := len(line); k > 0 && line[k-1] == '\r' {
		line = line[:k-1]
	}
	if isBlank(line) {
		return
	}
	if line[0] == '@' {
		s.multilogLine(line, path, n)
		return
	}
	var after []span
	var h head
	t, ok := time.Time{}, false
	// The documented DD-Mon-YYYY HH:MM:SS.cc prefix has fixed offsets; when
	// clock accepts those spans they are exactly what splitFields returns,
	// and findCodeFrom reads no further than the entry code and size.
	if len(line) > 24 && line[11] == ' ' && line[23] == ' ' {
		if t, ok = s.clock(line, span{0, 11}, span{12, 23}); ok {
			if s.excluded(t) {
				return
			}
			if after, h, ok = findCodeFrom(line, 24, s.fields[:0]); !ok {
				s.fail(path, n, "not an mta log record: no entry code")
				return
			}
		}
	}
	if !ok {
		f := splitFields(line, s.fields[:0], maxHead)
		if len(f) < 4 {
			s.fail(path, n, "not an mta log record: too few fields")
			return
		}
		if t, ok = s.clock(line, f[0], f[1]); !ok {
			s.fail(path, n, "not an mta log record: bad date or time")
			return
		}
		if s.excluded(t) {
			return
		}
		after = f[2:]
		if h, ok = findCode(line, after); !ok {
			s.fail(path, n, "not an mta log record: no entry code")
			return
		}
	}
	_, _, src, _ := assignPrefix(line, after[:h.code])
	class := Classify(Action(line[after[h.code].start]))
	s.count(line[src.start:src.end], class, t)
	if class == ClassHard || class == ClassTrouble {
		s.evidenceTotal++
		if len(s.evidence) < s.maxEvidence && !s.evidenceFull.Load() {
			rec, err := ParseRecord(line, s.loc)
			if err != nil { // cannot happen for lines the fast path accepted; keep the raw line
				rec = Record{Time: t, Src: string(line[src.start:src.end]), Action: Action(line[after[h.code].start]), Class: class, Raw: string(line)}
			}
			rec.File, rec.Line = path, n
			s.evidence = append(s.evidence, rec)
		}
	}
}

func (s *lineScanner) multilogLine(line []byte, path string, n int) {
	rec, err := parseMultilogLine(line, &s.qmail)
	if err != nil {
		s.fail(path, n, err.Error())
		return
	}
	if s.excluded(rec.Time) {
		return
	}
	s.count([]byte(rec.Src), rec.Class, rec.Time)
	if rec.Class == ClassHard || rec.Class == ClassTrouble {
		s.evidenceTotal++
		if len(s.evidence) < s.maxEvidence && !s.evidenceFull.Load() {
			rec.File, rec.Line = path, n
			s.evidence = append(s.evidence, rec)
		}
	}
}

// excluded reports whether t is before the window; a zero since admits all.
func (s *lineScanner) excluded(t time.Time) bool {
	return !s.since.IsZero() && t.Before(s.since)
}

func (s *lineScanner) count(ch []byte, class Class, t time.Time) {
	c, ok := s.counts[string(ch)]
	if !ok {
		c = &ClassCounts{}
		s.counts[string(ch)] = c
	}
	c.add(class)
	s.totals.add(class)
	s.records++
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
}

// ChannelNames returns the channel names of a summary in sorted order.
func (s Summary) ChannelNames() []string {
	out := make([]string, 0, len(s.Channels))
	for ch := range s.Channels {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}
