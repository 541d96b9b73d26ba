package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mswizard/wizard"
)

// progressEvents is 10 s of an archive's progress as the runner emits it
// (every 250 ms), its clock in the events' times.
func progressEvents() []wizard.Event {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	clk := t0
	m := wizard.NewMeter(func() time.Time { return clk })
	var evs []wizard.Event
	for i := int64(0); i <= 40; i++ {
		clk = t0.Add(time.Duration(i) * 250 * time.Millisecond)
		p := m.Observe(wizard.Progress{Step: "backup/server-root", Phase: "archive", What: "bytes", Done: i << 20, Total: 40 << 20, DoneFiles: i * 10, TotalFiles: 400})
		evs = append(evs, wizard.Event{Time: clk, Kind: wizard.EvProgress, Step: "backup/server-root", Progress: &p})
	}
	return evs
}

// TestBatchProgressIsThrottledAndCarriesTheNumbers: the text output gives a
// long action a line every few seconds with bytes, files, rate and ETA; the
// JSON output a progress event a second at most with the numbers as fields.
func TestBatchProgressIsThrottledAndCarriesTheNumbers(t *testing.T) {
	t.Parallel()
	var text bytes.Buffer
	pr := batchPrinter(&text, "text")
	for _, e := range progressEvents() {
		pr(e)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 4 { // at 0, 3, 6 and 9 s
		t.Fatalf("%d text lines for 10 s of progress, want 4:\n%s", len(lines), text.String())
	}
	if want := "    ... backup/server-root archive 90% 36.0 MiB/40.0 MiB · 360/400 files · 4.0 MiB/s · ETA 1s"; lines[3] != want {
		t.Errorf("line %q\nwant %q", lines[3], want)
	}
	var js bytes.Buffer
	pr = batchPrinter(&js, "json")
	for _, e := range progressEvents() {
		pr(e)
	}
	dec := json.NewDecoder(&js)
	n := 0
	for dec.More() {
		var e struct {
			V        int              `json:"v"`
			Kind     string           `json:"kind"`
			Progress *wizard.Progress `json:"progress"`
		}
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		n++
		if e.Kind != "progress" || e.Progress == nil || e.Progress.Total != 40<<20 || e.Progress.TotalFiles != 400 {
			t.Fatalf("event %+v lacks the numbers", e)
		}
		if n > 1 && (!e.Progress.ETAKnown || e.Progress.Rate <= 0) {
			t.Errorf("event %d has no rate or ETA: %+v", n, e.Progress)
		}
	}
	if n != 11 { // one a second over 10 s, both ends included
		t.Fatalf("%d JSON progress events for 10 s, want 11", n)
	}
}
