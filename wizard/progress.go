package wizard

import (
	"fmt"
	"strings"
	"time"
)

// Meter turns the counts a long action reports into elapsed time, rate and
// ETA, on an injected clock (so a test can drive it). One meter follows one
// step; it starts over when a new phase begins: another Phase or What, or
// counts that went back (the step's next action).
type Meter struct {
	now   func() time.Time
	start time.Time
	base  Progress // the first report of the phase
	last  Progress
	on    bool
	sent  time.Time
}

// NewMeter returns a meter reading now.
func NewMeter(now func() time.Time) *Meter { return &Meter{now: now} }

// Observe fills p's Elapsed, Rate and ETA.
//
// The rate is the average over the phase so far (done since the phase's
// first report, over the time since): steadier than a rate over the last
// interval, which a tree of many small files followed by a few big ones makes
// jump. The ETA is the rest at that rate; with both a byte and a file total,
// the slower of the two (a backup of small files is bounded by files, one of
// big files by bytes).
func (m *Meter) Observe(p Progress) Progress {
	t := m.now()
	if !m.on || p.Phase != m.last.Phase || p.What != m.last.What || p.Done < m.last.Done || p.DoneFiles < m.last.DoneFiles {
		m.on, m.start, m.base, m.sent = true, t, p, time.Time{}
	}
	m.last = p
	p.Elapsed = t.Sub(m.start)
	secs := p.Elapsed.Seconds()
	if secs <= 0 {
		return p
	}
	p.Rate = float64(p.Done-m.base.Done) / secs
	var eta time.Duration
	known := false
	if p.Total > 0 && p.Rate > 0 {
		eta, known = rest(p.Total-p.Done, p.Rate), true
	}
	if p.TotalFiles > 0 && p.DoneFiles > m.base.DoneFiles {
		fr := float64(p.DoneFiles-m.base.DoneFiles) / secs
		if e := rest(p.TotalFiles-p.DoneFiles, fr); !known || e > eta {
			eta, known = e, true
		}
	}
	p.ETA, p.ETAKnown = eta, known
	return p
}

func rest(left int64, rate float64) time.Duration {
	if left <= 0 {
		return 0
	}
	return time.Duration(float64(left) / rate * float64(time.Second))
}

// Due says whether p is worth showing now: the first and the last report of
// a phase always, others at most every interval (so a tree of many small
// files does not flood the faces with an event per file).
func (m *Meter) Due(p Progress, interval time.Duration) bool {
	t := m.now()
	complete := (p.Total > 0 && p.Done >= p.Total) || (p.TotalFiles > 0 && p.DoneFiles >= p.TotalFiles)
	if m.sent.IsZero() || complete || t.Sub(m.sent) >= interval {
		m.sent = t
		return true
	}
	return false
}

// Fraction is how much of the total is done, when a total is known.
func (p Progress) Fraction() (float64, bool) {
	switch {
	case p.Total > 0:
		return min(max(float64(p.Done)/float64(p.Total), 0), 1), true
	case p.TotalFiles > 0:
		return min(max(float64(p.DoneFiles)/float64(p.TotalFiles), 0), 1), true
	}
	return 0, false
}

// Text renders the counts, the rate and the ETA as the faces show them:
// "512.0 MiB/1.0 GiB · 10/40 files · 8.0 MiB/s · ETA 1m04s". Parts not
// known are left out.
func (p Progress) Text() string {
	parts := []string{HumanCount(p.Done, p.What)}
	if p.Total > 0 {
		parts[0] = HumanCount(p.Done, p.What) + "/" + HumanCount(p.Total, p.What)
		if p.What != "bytes" && p.What != "" {
			parts[0] = fmt.Sprintf("%d/%d %s", p.Done, p.Total, p.What)
		}
	}
	if p.TotalFiles > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d files", p.DoneFiles, p.TotalFiles))
	} else if p.DoneFiles > 0 {
		parts = append(parts, fmt.Sprintf("%d files", p.DoneFiles))
	}
	if p.DoneBytes > 0 {
		parts = append(parts, HumanCount(p.DoneBytes, "bytes")+" written")
	}
	if p.Rate > 0 {
		if p.What == "bytes" {
			parts = append(parts, HumanCount(int64(p.Rate), "bytes")+"/s")
		} else {
			parts = append(parts, fmt.Sprintf("%.0f %s/s", p.Rate, p.What))
		}
	}
	if p.ETAKnown {
		parts = append(parts, "ETA "+ShortDuration(p.ETA))
	}
	return strings.Join(parts, " · ")
}

// HumanCount renders n of what: bytes in binary units, others as a number
// and its unit.
func HumanCount(n int64, what string) string {
	if what != "bytes" {
		if what == "" {
			return fmt.Sprint(n)
		}
		return fmt.Sprintf("%d %s", n, what)
	}
	return HumanBytes(uint64(max(n, 0)))
}

// HumanBytes renders a byte count in binary units: "512 B", "16.3 MiB".
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	d, exp := uint64(unit), 0
	for x := n / unit; x >= unit; x /= unit {
		d *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(d), "KMGTPE"[exp])
}

// ShortDuration renders d to the second, in at most two units: "4s",
// "1m04s", "2h05m".
func ShortDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
}
