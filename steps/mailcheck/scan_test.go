package mailcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleLog is FORMATS.md §3.4's illustrative records plus lines before the
// window, a J, a W, a connection failure and junk.
const sampleLog = `16-Feb-2010 09:59:59.99 tcp_local                 R 2 old@example.com rfc822;x@example.net x@example.net before the window
16-Feb-2010 10:01:02.11 tcp_local    ims-ms       EE 3 ann@example.org rfc822;bob@example.com bob@ims-ms-daemon
16-Feb-2010 10:01:02.54 ims-ms                    D 3 ann@example.org rfc822;bob@example.com bob@ims-ms-daemon
16-Feb-2010 10:05:40.07 tcp_local                 Q 0 bob@example.com rfc822;ann@example.net ann@example.net Too many failures to this host during this run; skipping this host: Dead (unresponsive) host
16-Feb-2010 10:07:12.90 tcp_local                 R 2 bob@example.com rfc822;nobody@example.net nobody@example.net dns;mx.example.net (TCP|192.0.2.1|40000|198.51.100.7|25) smtp;550 5.1.1 unknown user
16-Feb-2010 10:07:13.02 tcp_local    process      E 2  rfc822;bob@example.com bob@example.com
this line is not a record

16-Feb-2010 10:09:00.00 tcp_local    +            O TCP|192.0.2.1|25|198.51.100.9|51000 SMTP/mail.example.com/client.example.net
16-Feb-2010 10:09:30.00 tcp_local    -            Y TCP|192.0.2.1|0|198.51.100.7|25 Connection refused
16-Feb-2010 10:09:31.00 tcp_intranet J 1 spam@example.net rfc822;x@example.com x@example.com 550 relaying denied
16-Feb-2010 10:09:32.00 ims-ms W 4 a@example.org rfc822;c@example.com c@ims-ms-daemon not delivered after 1 day`

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanWindowCountsAndEvidence(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "mail.log_current", sampleLog)
	now := at(2010, 2, 16, 10, 10, 0, 0)
	probe := &Probe{Now: func() time.Time { return now }, Location: time.UTC}
	sum, err := probe.Scan(context.Background(), []string{p}, at(2010, 2, 16, 10, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ClassCounts{Hard: 3, Trouble: 2, Normal: 4}); sum.Totals != want || sum.Records != 9 {
		t.Errorf("totals %+v records %d, want %+v and 9 (the 09:59 R is before the window)", sum.Totals, sum.Records, want)
	}
	wantCh := map[string]ClassCounts{
		"tcp_local":    {Hard: 2, Trouble: 1, Normal: 3},
		"ims-ms":       {Trouble: 1, Normal: 1},
		"tcp_intranet": {Hard: 1},
	}
	for ch, want := range wantCh {
		if sum.Channels[ch] != want {
			t.Errorf("channel %s = %+v, want %+v", ch, sum.Channels[ch], want)
		}
	}
	if len(sum.Channels) != len(wantCh) {
		t.Errorf("channels %v, want %d", sum.ChannelNames(), len(wantCh))
	}
	var where []string
	for _, e := range sum.Evidence {
		where = append(where, fmt.Sprintf("%s:%d %s", filepath.Base(e.File), e.Line, e.Action))
	}
	if got, want := strings.Join(where, ", "), "mail.log_current:4 Q, mail.log_current:5 R, mail.log_current:10 Y, mail.log_current:11 J, mail.log_current:12 W"; got != want {
		t.Errorf("evidence %s\nwant     %s", got, want)
	}
	if sum.EvidenceTotal != 5 || sum.ParseErrors != 1 || sum.ParseErrorSamples[0].Line != 7 {
		t.Errorf("evidence total %d, parse errors %d %v; want 5 and 1 at line 7", sum.EvidenceTotal, sum.ParseErrors, sum.ParseErrorSamples)
	}
	if sum.HardPerHour != 18 || sum.TroublePerHour != 12 {
		t.Errorf("rates %v/h %v/h over 10 min, want 18 and 12", sum.HardPerHour, sum.TroublePerHour)
	}
	if ev := sum.Evidence[1]; ev.Diag != "dns;mx.example.net (TCP|192.0.2.1|40000|198.51.100.7|25) smtp;550 5.1.1 unknown user" || ev.From != "bob@example.com" {
		t.Errorf("evidence is not fully parsed: %+v", ev)
	}
}

func TestScanEvidenceIsCappedButCounted(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "16-Feb-2010 10:00:%02d.00 tcp_local R 1 a@x rfc822;b@y b@y 550 no\n", i)
	}
	p := writeFile(t, dir, "mail.log_current", b.String())
	sum, err := (&Probe{MaxEvidence: 4, Location: time.UTC}).Scan(context.Background(), []string{p}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Evidence) != 4 || sum.EvidenceTotal != 30 || sum.Evidence[3].Line != 4 {
		t.Errorf("evidence %d of %d (last at line %d), want the first 4 of 30", len(sum.Evidence), sum.EvidenceTotal, sum.Evidence[len(sum.Evidence)-1].Line)
	}
	if !sum.Since.Equal(at(2010, 2, 16, 10, 0, 0, 0)) || !sum.Until.Equal(at(2010, 2, 16, 10, 0, 29, 0)) {
		t.Errorf("window %s..%s, want first..last record when since is zero and no clock", sum.Since, sum.Until)
	}
}

func TestScanSkipsFilesOlderThanWindow(t *testing.T) {
	dir := t.TempDir()
	old := writeFile(t, dir, "mail.log_yesterday", "16-Feb-2010 10:00:00.00 tcp_local R 1 a@x rfc822;b@y b@y\n")
	cur := writeFile(t, dir, "mail.log_current", "16-Feb-2010 11:00:00.00 tcp_local R 1 a@x rfc822;b@y b@y\n")
	mt := at(2010, 2, 16, 10, 0, 0, 0)
	if err := os.Chtimes(old, mt, mt); err != nil {
		t.Fatal(err)
	}
	files, err := MTALogFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0] != old || files[1] != cur {
		t.Fatalf("MTALogFiles = %v, want yesterday then current", files)
	}
	sum, err := (&Probe{Location: time.UTC}).Scan(context.Background(), files, at(2010, 2, 16, 10, 30, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Files[0].Skipped || sum.Files[1].Skipped || sum.Totals.Hard != 1 {
		t.Errorf("files %+v hard %d; want yesterday skipped by mtime and 1 hard error", sum.Files, sum.Totals.Hard)
	}
}

func TestScanMultilogDirectory(t *testing.T) {
	dir := filepath.Join(realdata, "rotated")
	// Just after the first rotation label: that whole file is older.
	since := ns(2026, 11, 28, 11, 18, 10, 0x29ecbffc+1)
	sum, err := (&Probe{}).Scan(context.Background(), []string{dir}, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 3 || !sum.Files[0].Skipped || sum.Files[1].Skipped {
		t.Fatalf("files %+v; want the first rotated file skipped by its label", sum.Files)
	}
	// Brute force over the same files with the Reader.
	want := 0
	paths, _ := MultilogFiles(dir)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rd := NewReader(f, p, nil)
		for rd.Next() {
			if !rd.Record().Time.Before(since) {
				want++
			}
		}
		f.Close()
	}
	if sum.Records != want || want == 0 || sum.ParseErrors != 0 {
		t.Errorf("records %d (parse errors %d), reader finds %d at or after %s", sum.Records, sum.ParseErrors, want, since)
	}
}

func TestScanHonoursContext(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "mail.log_current", sampleLog)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Probe{}).Scan(ctx, []string{p}, time.Time{}); err == nil {
		t.Error("Scan with a cancelled context succeeded")
	}
}

// TestScanAgreesWithReader generates a log with random spacing, chunk
// boundaries anywhere (long lines), CRLF and junk, and checks that the fast
// path counts exactly what the full parser reads.
func TestScanAgreesWithReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []string{"E", "EE", "D", "DS", "R", "Q", "J", "K", "W", "Z", "B"}
	chans := []string{"tcp_local", "ims-ms", "l", "tcp_intranet", "conversion"}
	sp := func() string { return strings.Repeat(" ", 1+rng.IntN(6)) }
	var b strings.Builder
	base := at(2010, 2, 16, 0, 0, 0, 0)
	for i := range 40000 { // several 1 MiB chunks, so several workers
		tm := base.Add(time.Duration(i) * 3 * time.Second)
		date := tm.Format("02-Jan-2006")
		if rng.IntN(10) == 0 {
			date = strings.ToUpper(date)
		}
		clock := tm.Format("15:04:05.00")
		if rng.IntN(10) == 0 {
			clock = tm.Format("15:04:05")
		}
		switch rng.IntN(20) {
		case 0:
			b.WriteString("junk line " + strings.Repeat("z", rng.IntN(3000)) + "\n")
			continue
		case 1:
			fmt.Fprintf(&b, "%s %s%s%s+%sO TCP|1|2|3|4 SMTP/x\r\n", date, clock, sp(), chans[rng.IntN(len(chans))], sp())
			continue
		}
		dst := ""
		if rng.IntN(2) == 0 {
			dst = chans[rng.IntN(len(chans))] + sp()
		}
		from := "a@example.org "
		if rng.IntN(8) == 0 {
			from = " "
		}
		fmt.Fprintf(&b, "%s %s%s%s%s%s %d %srfc822;b@x b@x %s\n", date, clock, sp(), chans[rng.IntN(len(chans))], sp(), dst+codes[rng.IntN(len(codes))],
			rng.IntN(100), from, strings.Repeat("d", rng.IntN(200)))
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "mail.log_current", b.String())
	since := base.Add(9 * time.Hour)
	sum, err := (&Probe{Location: time.UTC, MaxEvidence: 1 << 30}).Scan(context.Background(), []string{p}, since)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := NewReader(f, p, time.UTC)
	var want ClassCounts
	evidence := 0
	for rd.Next() {
		r := rd.Record()
		if r.Time.Before(since) {
			continue
		}
		want.add(r.Class)
		if r.Class == ClassHard || r.Class == ClassTrouble {
			if evidence < len(sum.Evidence) && (sum.Evidence[evidence].Line != r.Line || sum.Evidence[evidence].Raw != r.Raw) {
				t.Fatalf("evidence %d at line %d, reader has line %d", evidence, sum.Evidence[evidence].Line, r.Line)
			}
			evidence++
		}
	}
	if sum.Totals != want || sum.EvidenceTotal != evidence || len(sum.Evidence) != evidence {
		t.Errorf("scan %+v (evidence %d/%d), reader %+v (evidence %d)", sum.Totals, len(sum.Evidence), sum.EvidenceTotal, want, evidence)
	}
	capped, err := (&Probe{Location: time.UTC, MaxEvidence: 7}).Scan(context.Background(), []string{p}, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(capped.Evidence) != 7 || capped.EvidenceTotal != evidence {
		t.Fatalf("capped scan kept %d of %d, want 7 of %d", len(capped.Evidence), capped.EvidenceTotal, evidence)
	}
	for i, e := range capped.Evidence {
		if e.Line != sum.Evidence[i].Line {
			t.Errorf("capped evidence %d at line %d, want the first ones in file order (line %d)", i, e.Line, sum.Evidence[i].Line)
		}
	}
	if n, _ := rd.Errors(); sum.ParseErrors > n || sum.ParseErrors == 0 {
		t.Errorf("scan parse errors %d, reader %d (scan sees only lines after the time filter or with bad times)", sum.ParseErrors, n)
	}
}
