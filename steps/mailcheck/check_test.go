package mailcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeClock is the Probe's clock: Sleep advances it and runs onSleep, so a
// test changes the queue between samples.
type fakeClock struct {
	now     time.Time
	sleeps  int
	onSleep func(n int)
}

func (c *fakeClock) probe() *Probe {
	return &Probe{
		Now:      func() time.Time { return c.now },
		Location: time.UTC,
		Sleep: func(ctx context.Context, d time.Duration) error {
			c.sleeps++
			c.now = c.now.Add(d)
			if c.onSleep != nil {
				c.onSleep(c.sleeps)
			}
			return ctx.Err()
		},
	}
}

// golden compares rendered text with testdata/name.golden after replacing
// the test's temporary directory dir with <dir>.
func golden(t *testing.T, name, dir string, render func(io.Writer) error) {
	t.Helper()
	var out bytes.Buffer
	if err := render(&out); err != nil {
		t.Fatal(err)
	}
	buf := bytes.NewBuffer(bytes.ReplaceAll(out.Bytes(), []byte(dir), []byte("<dir>")))
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("rendered text differs from %s:\n%s", path, buf.String())
	}
}

// upgrade is the fixed story of the check tests: baseline at 09:00, the
// server restarted at 10:00, checks at 10:10.
var (
	baselineAt = at(2010, 2, 16, 9, 0, 0, 0)
	restartAt  = at(2010, 2, 16, 10, 0, 0, 0)
	checkAt    = at(2010, 2, 16, 10, 10, 0, 0)
)

// preUpgradeLog has, in the hour before the baseline, one R and one Q.
const preUpgradeLog = `16-Feb-2010 08:10:00.00 tcp_local ims-ms E 1 a@example.org rfc822;b@example.com b@ims-ms-daemon
16-Feb-2010 08:10:01.00 ims-ms D 1 a@example.org rfc822;b@example.com b@ims-ms-daemon
16-Feb-2010 08:20:00.00 tcp_local R 1 a@example.org rfc822;gone@example.net gone@example.net smtp;550 5.1.1 unknown user
16-Feb-2010 08:30:00.00 tcp_local Q 0 a@example.org rfc822;c@example.net c@example.net Connection timed out
`

func takeBaseline(t *testing.T, dir string, queue []qfile) Baseline {
	t.Helper()
	writeFile(t, dir, "mail.log_current", preUpgradeLog)
	makeQueue(t, filepath.Join(dir, "queue"), baselineAt, queue)
	clk := &fakeClock{now: baselineAt}
	b, err := clk.probe().TakeBaseline(context.Background(), filepath.Join(dir, "queue"), []string{filepath.Join(dir, "mail.log_current")}, DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBaselineIsJSONForTheJournal(t *testing.T) {
	dir := t.TempDir()
	b := takeBaseline(t, dir, []qfile{
		{"tcp_local/ZZa.00", time.Minute},
		{"tcp_local/ZZold.00", 5 * time.Hour},
		{"tcp_local/XZretry.00", time.Minute}, // 72 attempts
		{"ims-ms/ZZh.HELD", time.Hour},
	})
	if b.Log.Hard != 1 || b.Log.Trouble != 1 || b.Log.HardPerHour != 1 || b.Log.Records != 4 {
		t.Errorf("log baseline %+v, want 1 hard and 1 trouble per hour over 4 records", b.Log)
	}
	if c := b.Queue.Channels["tcp_local"]; c.Messages != 3 || c.Oldest != 5*time.Hour {
		t.Errorf("tcp_local baseline %+v", c)
	}
	if want := []string{"ims-ms/h", "tcp_local/retry", "tcp_local/old"}; !reflect.DeepEqual(b.Flagged, want) || b.FlaggedTotal != 3 {
		t.Errorf("flagged %v (%d), want %v", b.Flagged, b.FlaggedTotal, want)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Baseline
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("baseline does not survive JSON:\n%s\n%s", again, data)
	}
}

func TestChecksPassOnCleanLogAndDrainingQueue(t *testing.T) {
	dir := t.TempDir()
	base := takeBaseline(t, dir, []qfile{{"tcp_local/ZZa.00", time.Minute}, {"ims-ms/ZZh.HELD", time.Hour}})
	if err := os.WriteFile(filepath.Join(dir, "mail.log_current"), []byte(preUpgradeLog+
		"16-Feb-2010 10:01:00.00 tcp_local ims-ms E 1 a@example.org rfc822;b@example.com b@ims-ms-daemon\n"+
		"16-Feb-2010 10:01:01.00 ims-ms D 1 a@example.org rfc822;b@example.com b@ims-ms-daemon\n"+
		"16-Feb-2010 10:02:00.00 tcp_local R 1 a@example.org rfc822;gone@example.net gone@example.net smtp;550 5.1.1 unknown user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Mail that piled up during the downtime: 12 messages, delivered 4 per sample.
	var backlog []qfile
	for _, id := range strings.Split("b c d e f g h i j k l m", " ") {
		backlog = append(backlog, qfile{"tcp_local/001/ZZ" + id + ".00", 5 * time.Minute})
	}
	makeQueue(t, filepath.Join(dir, "queue"), checkAt, backlog)
	clk := &fakeClock{now: checkAt}
	clk.onSleep = func(n int) {
		for _, f := range backlog[(n-1)*4 : n*4] {
			if err := os.Remove(filepath.Join(dir, "queue", f.path)); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := clk.probe()
	th := DefaultThresholds()
	sum, err := p.Scan(context.Background(), []string{filepath.Join(dir, "mail.log_current")}, restartAt)
	if err != nil {
		t.Fatal(err)
	}
	lr := LogCheck(sum, base, th)
	if !lr.Pass || lr.Totals.Hard != 1 || lr.EvidenceTotal != 1 {
		t.Errorf("log check %+v; want a pass with the one ordinary bounce as evidence", lr)
	}
	qr, err := p.QueueCheck(context.Background(), filepath.Join(dir, "queue"), th.QueueWindow, th.QueueInterval, base, th.Queue)
	if err != nil {
		t.Fatal(err)
	}
	// 13 → 9 → 5 (≤ baseline 1 + slack 5): passes at the third sample.
	if !qr.Pass || len(qr.Samples) != 3 || qr.Preexisting != 1 {
		t.Errorf("queue check pass=%v samples=%d preexisting=%d reasons=%v", qr.Pass, len(qr.Samples), qr.Preexisting, qr.Reasons)
	}
	golden(t, "pass-log", dir, lr.WriteText)
	golden(t, "pass-queue", dir, qr.WriteText)
}

func TestLogCheckFailsOnErrorsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	base := takeBaseline(t, dir, nil)
	var b strings.Builder
	b.WriteString(preUpgradeLog)
	b.WriteString("16-Feb-2010 10:00:30.00 tcp_local ims-ms E 1 a@example.org rfc822;b@example.com b@ims-ms-daemon\n")
	b.WriteString("16-Feb-2010 10:00:31.00 ims-ms Q 0 a@example.org rfc822;b@example.com b@ims-ms-daemon Mailbox is busy\n")
	for _, l := range []string{
		"16-Feb-2010 10:01:00.00 tcp_intranet J 1 a@example.org rfc822;x@example.com x@example.com 550 5.7.1 access denied by mapping",
		"16-Feb-2010 10:01:05.00 tcp_intranet J 1 c@example.org rfc822;y@example.com y@example.com 550 5.7.1 access denied by mapping",
		"16-Feb-2010 10:02:00.00 tcp_local - Y TCP|192.0.2.1|0|198.51.100.7|25 Connection refused",
		"16-Feb-2010 10:03:00.00 ims-ms R 1 a@example.org rfc822;b@example.com b@ims-ms-daemon Mailbox does not exist",
		"16-Feb-2010 10:04:00.00 tcp_intranet J 1 d@example.org rfc822;z@example.com z@example.com 550 5.7.1 access denied by mapping",
	} {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "mail.log_current"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: checkAt}
	sum, err := clk.probe().Scan(context.Background(), []string{filepath.Join(dir, "mail.log_current")}, restartAt)
	if err != nil {
		t.Fatal(err)
	}
	lr := LogCheck(sum, base, DefaultThresholds())
	// Allowed: 1/h × 1/6 h × 2 + 3 = 3.33 < 5 hard errors.
	if lr.Pass || lr.Totals.Hard != 5 || len(lr.Evidence) != 6 || lr.Evidence[1].Line != 7 || lr.Evidence[1].Action != 'J' {
		t.Errorf("log check %+v; want a fail with the J, Y and R records as evidence", lr)
	}
	golden(t, "fail-log", dir, lr.WriteText)
	if _, err := json.Marshal(lr); err != nil {
		t.Errorf("log result is not JSON: %v", err)
	}
}

func TestQueueCheckFailsOnNewHeldMessages(t *testing.T) {
	dir := t.TempDir()
	base := takeBaseline(t, dir, []qfile{{"ims-ms/ZZold.HELD", time.Hour}})
	makeQueue(t, filepath.Join(dir, "queue"), checkAt, []qfile{
		{"ims-ms/ZYnew1.HELD", 20 * time.Minute},
		{"ims-ms/ZZnew2.HELD", 15 * time.Minute},
	})
	clk := &fakeClock{now: checkAt}
	th := DefaultThresholds()
	qr, err := clk.probe().QueueCheck(context.Background(), filepath.Join(dir, "queue"), th.QueueWindow, th.QueueInterval, base, th.Queue)
	if err != nil {
		t.Fatal(err)
	}
	if qr.Pass || qr.NewHeldTotal != 2 || qr.NewHeld[0].Path != "ims-ms/ZYnew1.HELD" || qr.NewHeld[0].Channel != "ims-ms" || qr.Preexisting != 1 {
		t.Errorf("queue check %+v; want a fail naming the two new held files in ims-ms", qr)
	}
	if len(qr.Samples) != 21 || clk.sleeps != 20 {
		t.Errorf("%d samples, %d sleeps; held mail never clears, so the whole window is sampled (21, 20)", len(qr.Samples), clk.sleeps)
	}
	golden(t, "fail-held", dir, qr.WriteText)
}

func TestQueueCheckFailsOnNeverDrainingChannel(t *testing.T) {
	dir := t.TempDir()
	base := takeBaseline(t, dir, []qfile{{"tcp_local/ZZa.00", time.Minute}})
	var files []qfile
	for _, id := range strings.Split("b c d e f g h i j k", " ") {
		files = append(files, qfile{"tcp_local/ZZ" + id + ".00", 8 * time.Minute})
	}
	files = append(files, qfile{"tcp_local/XZretry.00", 9 * time.Minute}) // 72 attempts: stuck
	makeQueue(t, filepath.Join(dir, "queue"), checkAt, files)
	clk := &fakeClock{now: checkAt}
	clk.onSleep = func(n int) { // new mail keeps arriving and none leaves
		makeQueue(t, filepath.Join(dir, "queue"), clk.now, []qfile{{"tcp_local/ZZn" + string(rune('a'+n)) + ".00", 0}})
	}
	th := DefaultThresholds()
	qr, err := clk.probe().QueueCheck(context.Background(), filepath.Join(dir, "queue"), 2*time.Minute, 30*time.Second, base, th.Queue)
	if err != nil {
		t.Fatal(err)
	}
	var tcp ChannelVerdict
	for _, v := range qr.Channels {
		if v.Channel == "tcp_local" {
			tcp = v
		}
	}
	if qr.Pass || tcp.State != StateStuck || tcp.First != 12 || tcp.Last != 16 || qr.StuckTotal != 1 || qr.Stuck[0].Path != "tcp_local/XZretry.00" {
		t.Errorf("queue check %+v; want tcp_local stuck 12 → 16 and the 72-attempt file named", qr)
	}
	golden(t, "fail-stuck", dir, qr.WriteText)
}

func TestQueueCheckDrainingChannel(t *testing.T) {
	tests := []struct {
		name           string
		requireDrained bool
		wantPass       bool
	}{
		{"going down but above baseline passes by default", false, true},
		{"going down but above baseline fails when drained is required", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			base := takeBaseline(t, dir, nil)
			var files []qfile
			for i := range 20 {
				files = append(files, qfile{"tcp_local/ZZ" + string(rune('a'+i)) + ".00", time.Minute})
			}
			makeQueue(t, filepath.Join(dir, "queue"), checkAt, files)
			clk := &fakeClock{now: checkAt}
			clk.onSleep = func(n int) {
				_ = os.Remove(filepath.Join(dir, "queue", files[n-1].path))
			}
			lim := DefaultThresholds().Queue
			lim.RequireDrained = tt.requireDrained
			qr, err := clk.probe().QueueCheck(context.Background(), filepath.Join(dir, "queue"), time.Minute, 30*time.Second, base, lim)
			if err != nil {
				t.Fatal(err)
			}
			if qr.Pass != tt.wantPass || qr.Channels[0].State != StateDraining || qr.Channels[0].Last != 18 {
				t.Errorf("pass=%v channels=%+v reasons=%v", qr.Pass, qr.Channels, qr.Reasons)
			}
		})
	}
}

func TestQueueCheckStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	base := takeBaseline(t, dir, nil)
	makeQueue(t, filepath.Join(dir, "queue"), checkAt, []qfile{{"ims-ms/ZZx.HELD", 0}})
	ctx, cancel := context.WithCancel(context.Background())
	clk := &fakeClock{now: checkAt, onSleep: func(int) { cancel() }}
	if _, err := clk.probe().QueueCheck(ctx, filepath.Join(dir, "queue"), time.Hour, time.Minute, base, DefaultThresholds().Queue); err == nil {
		t.Error("QueueCheck ignored a cancelled context")
	}
}
