package mailcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// realdata holds the output of the real daemontools multilog
// (testdata/multilog/SOURCES.md).
const realdata = "testdata/multilog"

func ns(y int, mo time.Month, d, h, mi, s, n int) time.Time {
	return time.Date(y, mo, d, h, mi, s, n, time.UTC)
}

func TestParseTAI64N(t *testing.T) {
	tests := []struct {
		name  string
		label string
		want  time.Time
	}{
		// tai64n(8) man page vector; `TZ=UTC tai64nlocal` prints this time.
		{"man page vector", "@4000000037c219bf2ef02e94", ns(1999, 8, 24, 4, 4, 5, 787492500)},
		// The first and last labels of main/current; tai64nlocal printed these.
		{"real sample first line", "@400000006b0ab8771b21463c", ns(2026, 11, 28, 11, 18, 5, 455165500)},
		{"real sample last line", "@400000006b0ab87727879354", ns(2026, 11, 28, 11, 18, 5, 663196500)},
		{"upper-case hex is accepted", "@4000000037C219BF2EF02E94", ns(1999, 8, 24, 4, 4, 5, 787492500)},
		{"1970 TAI epoch minus the 10 s offset", "@400000000000000a00000000", ns(1970, 1, 1, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTAI64N([]byte(tt.label))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %s, want %s", got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
		})
	}
}

func TestParseTAI64NRejects(t *testing.T) {
	for _, label := range []string{
		"4000000037c219bf2ef02e94",   // no @
		"@4000000037c219bf2ef02e9",   // 23 digits
		"@4000000037c219bf2ef02e9g",  // not hex
		"@0000000037c219bf2ef02e94",  // before 2^62
		"@4000000037c219bf3b9aca00",  // nanoseconds = 1e9
		"@4000000037c219bf2ef02e944", // 25 digits
	} {
		if got, err := ParseTAI64N([]byte(label)); err == nil {
			t.Errorf("ParseTAI64N(%q) = %s, want an error", label, got)
		}
	}
}

func TestMultilogFilesOrder(t *testing.T) {
	got, err := MultilogFiles(filepath.Join(realdata, "rotated"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, filepath.Base(p))
	}
	want := "@400000006b0ab87c29ecbffc.s @400000006b0ab87c29f35394.s current"
	if strings.Join(names, " ") != want {
		t.Errorf("order = %v, want %s", names, want)
	}
}

func TestMultilogFilesSkipsLockStateAndJunk(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"lock", "state", "current", "@400000006b0ab87c29f35394.u", "@400000006b0ab87c29ecbffc.s", "@zz.s", "processor.out"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := MultilogFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, filepath.Base(p))
	}
	want := "@400000006b0ab87c29ecbffc.s @400000006b0ab87c29f35394.u current"
	if strings.Join(names, " ") != want {
		t.Errorf("files = %v, want %s", names, want)
	}
}

// TestReaderRealMultilog reads main/current and checks every record's time
// against what `TZ=UTC tai64nlocal` printed, and the qmail classification.
func TestReaderRealMultilog(t *testing.T) {
	f, err := os.Open(filepath.Join(realdata, "main", "current"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := NewReader(f, "main/current", nil)
	var recs []Record
	for rd.Next() {
		recs = append(recs, rd.Record())
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := rd.Errors(); n != 0 || len(recs) != 19 {
		t.Fatalf("records %d, parse errors %d; want 19, 0", len(recs), n)
	}
	checks := []struct {
		line    int
		time    time.Time
		src     string
		action  Action
		class   Class
		textHas string
	}{
		{1, ns(2026, 11, 28, 11, 18, 5, 455165500), qmailChannel, 0, ClassOther, "status: local 0/10"},
		{2, ns(2026, 11, 28, 11, 18, 5, 465361500), qmailChannel, 'E', ClassNormal, "new msg 53"},
		{6, ns(2026, 11, 28, 11, 18, 5, 0x1e7dc74c), "local", 'D', ClassNormal, "delivery 1: success"},
		{13, ns(2026, 11, 28, 11, 18, 5, 0x235c353c), "remote", 'Q', ClassTrouble, "deferral"},
		{16, ns(2026, 11, 28, 11, 18, 5, 0x256fb3bc), "local", 'R', ClassHard, "failure"},
		{19, ns(2026, 11, 28, 11, 18, 5, 663196500), qmailChannel, '!', ClassHard, "alert: unable"},
	}
	for _, c := range checks {
		r := recs[c.line-1]
		if r.Line != c.line || r.File != "main/current" || !r.Time.Equal(c.time) || r.Src != c.src ||
			r.Action != c.action || r.Class != c.class || !strings.Contains(r.Diag, c.textHas) {
			t.Errorf("line %d: got %+v\nwant time %s src %s action %q class %s text %q",
				c.line, r, c.time.Format(time.RFC3339Nano), c.src, c.action, c.class, c.textHas)
		}
	}
}

func TestReaderCountsBadLinesAndGoesOn(t *testing.T) {
	in := "garbage\n\n16-Feb-2010 10:01:02.54 ims-ms D 3 a rfc822;b b\n@nothex line\n" +
		strings.Repeat("x", maxLine+10) + "\n16-Feb-2010 10:01:03.00 ims-ms D 3 a rfc822;b b"
	rd := NewReader(strings.NewReader(in), "f", time.UTC)
	var lines []int
	for rd.Next() {
		lines = append(lines, rd.Record().Line)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	n, samples := rd.Errors()
	if n != 3 || len(lines) != 2 || lines[0] != 3 || lines[1] != 6 {
		t.Fatalf("records at lines %v, %d errors %v; want lines [3 6] and 3 errors", lines, n, samples)
	}
	if samples[0].Line != 1 || samples[1].Line != 4 || samples[2].Line != 5 {
		t.Errorf("error lines %v, want 1, 4, 5", samples)
	}
}
