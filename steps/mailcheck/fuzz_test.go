package mailcheck

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary text to the full parser, the streaming reader
// and the fast scanner: none may panic, and the fast path must agree with
// the full parser on every line's time, source channel and class.
func FuzzParse(f *testing.F) {
	for _, l := range strings.Split(sampleLog, "\n") {
		f.Add(l)
	}
	f.Add("@4000000037c219bf2ef02e94 delivery 3: failure: Sorry/")
	f.Add("@4000000037c219bf2ef02e94 starting delivery 3: msg 1 to remote a@b")
	f.Add("16-Feb-2007 09:00:00.01 mailhost 2e2d.5.1 tcp_local ims-ms EEC 4 a rfc822;b b")
	f.Add("1-jan-0000 00:00:00.123456789 a b C 99999999999999999999")
	f.Add("16-Feb-2010 10:01:02.54 a - X")
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			rd := NewReader(strings.NewReader(line), "fuzz", time.UTC)
			for rd.Next() {
				_ = rd.Record()
			}
			return
		}
		full, err := ParseRecord([]byte(line), time.UTC)
		s := newLineScanner(time.UTC, time.Time{}, 10)
		s.line([]byte(line), "fuzz", 1)
		if line != "" && line[0] == '@' || isBlank([]byte(strings.TrimRight(line, "\r"))) {
			return
		}
		if err != nil {
			if s.records != 0 {
				t.Fatalf("full parse fails (%v) but the scanner counted a record", err)
			}
			return
		}
		if s.records != 1 {
			t.Fatalf("full parse = %+v but the scanner counted %d records (errors %v)", full, s.records, s.samples)
		}
		if !s.first.Equal(full.Time) || s.counts[full.Src] == nil {
			t.Fatalf("scanner time %s channels %v; full parse %s %q", s.first, s.counts, full.Time, full.Src)
		}
		var want ClassCounts
		want.add(full.Class)
		if s.totals != want {
			t.Fatalf("scanner class %+v, full parse %s", s.totals, full.Class)
		}
	})
}

func TestScanDropsOverlongLine(t *testing.T) {
	dir := t.TempDir()
	body := "16-Feb-2010 10:00:00.00 tcp_local R 1 a@x rfc822;b@y b@y\n" +
		string(bytes.Repeat([]byte("y"), 3<<20)) + "\n" +
		"16-Feb-2010 10:00:01.00 tcp_local Q 1 a@x rfc822;b@y b@y\n"
	p := writeFile(t, dir, "mail.log_current", body)
	sum, err := (&Probe{Location: time.UTC}).Scan(context.Background(), []string{p}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 2 || sum.ParseErrors != 1 || sum.Files[0].Lines != 3 || sum.Evidence[1].Line != 3 {
		t.Errorf("records %d errors %d lines %d evidence %+v; want 2 records, 1 error, 3 lines, Q at line 3",
			sum.Records, sum.ParseErrors, sum.Files[0].Lines, sum.Evidence)
	}
}
