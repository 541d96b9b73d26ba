package mailcheck

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Thresholds decide when the post-restart checks fail. The lead maps them
// from the answers file; DefaultThresholds gives the values used otherwise.
type Thresholds struct {
	// BaselineWindow is how far back the baseline reads the log.
	BaselineWindow time.Duration `json:"baseline_window"`
	// RateFactor scales the baseline error rate into what the window after
	// the restart may show; the allowances are added on top so a quiet
	// baseline does not fail on the first ordinary bounce.
	RateFactor       float64 `json:"rate_factor"`
	HardAllowance    int     `json:"hard_allowance"`
	TroubleAllowance int     `json:"trouble_allowance"`
	// RequireTraffic fails the log check when no normal record (E, D, …)
	// was logged since the restart.
	RequireTraffic bool `json:"require_traffic,omitempty"`
	// QueueWindow and QueueInterval drive QueueCheck's sampling.
	QueueWindow   time.Duration `json:"queue_window"`
	QueueInterval time.Duration `json:"queue_interval"`
	Queue         QueueLimits   `json:"queue"`
}

// DefaultThresholds: one hour of baseline; at most twice the baseline
// error rate plus 3 hard errors and 10 trouble records; the queue sampled
// every 30 s for 10 min; a message is stuck past 10 attempts or 4 hours; 5
// messages of slack per channel for mail in transit.
func DefaultThresholds() Thresholds {
	return Thresholds{
		BaselineWindow:   time.Hour,
		RateFactor:       2,
		HardAllowance:    3,
		TroubleAllowance: 10,
		QueueWindow:      10 * time.Minute,
		QueueInterval:    30 * time.Second,
		Queue:            QueueLimits{MaxAttempts: 10, MaxAge: 4 * time.Hour, Slack: 5},
	}
}

// LogBaseline is the error rate of the log before the upgrade.
type LogBaseline struct {
	Since          time.Time `json:"since"`
	Until          time.Time `json:"until"`
	Records        int       `json:"records"`
	Hard           int       `json:"hard"`
	Trouble        int       `json:"trouble"`
	HardPerHour    float64   `json:"hard_per_hour"`
	TroublePerHour float64   `json:"trouble_per_hour"`
	ParseErrors    int       `json:"parse_errors,omitempty"`
}

// maxFlagged caps the IDs a baseline remembers.
const maxFlagged = 1000

// Baseline is the read-only picture taken before the upgrade; it marshals
// to JSON for the journal receipt.
type Baseline struct {
	Taken time.Time `json:"taken"`
	// QueueDir is empty when the queue was not read.
	QueueDir string        `json:"queue_dir,omitempty"`
	Queue    QueueSnapshot `json:"queue"`
	Limits   QueueLimits   `json:"limits"`
	// Flagged lists "channel/ID" of messages already held or stuck before
	// the upgrade (at most 1000; FlaggedTotal counts all), so the checks
	// after the restart blame only new ones.
	Flagged      []string    `json:"flagged,omitempty"`
	FlaggedTotal int         `json:"flagged_total,omitempty"`
	LogFiles     []string    `json:"log_files,omitempty"`
	Log          LogBaseline `json:"log"`
}

// TakeBaseline reads the queue at queueDir (skipped when "") and the logs
// in logFiles over the last th.BaselineWindow (skipped when empty). It
// writes nothing.
func (p *Probe) TakeBaseline(ctx context.Context, queueDir string, logFiles []string, th Thresholds) (Baseline, error) {
	now := p.now()
	b := Baseline{Taken: now, QueueDir: queueDir, Limits: th.Queue, LogFiles: logFiles}
	if queueDir != "" {
		snap, msgs, err := p.ScanQueue(ctx, queueDir)
		if err != nil {
			return Baseline{}, fmt.Errorf("baseline: %w", err)
		}
		b.Queue = snap
		for _, m := range msgs {
			if m.Held || th.Queue.Stuck(m) {
				b.FlaggedTotal++
				if len(b.Flagged) < maxFlagged {
					b.Flagged = append(b.Flagged, m.Channel+"/"+m.ID)
				}
			}
		}
	}
	if len(logFiles) > 0 {
		sum, err := p.Scan(ctx, logFiles, now.Add(-th.BaselineWindow))
		if err != nil {
			return Baseline{}, fmt.Errorf("baseline: %w", err)
		}
		b.Log = LogBaseline{
			Since: sum.Since, Until: sum.Until, Records: sum.Records,
			Hard: sum.Totals.Hard, Trouble: sum.Totals.Trouble,
			HardPerHour: sum.HardPerHour, TroublePerHour: sum.TroublePerHour,
			ParseErrors: sum.ParseErrors,
		}
	}
	return b, nil
}

// LogResult is the verdict of LogCheck with the records that prove it.
type LogResult struct {
	Pass           bool                   `json:"pass"`
	Since          time.Time              `json:"since"`
	Until          time.Time              `json:"until"`
	Totals         ClassCounts            `json:"totals"`
	Channels       map[string]ClassCounts `json:"channels"`
	AllowedHard    float64                `json:"allowed_hard"`
	AllowedTrouble float64                `json:"allowed_trouble"`
	Reasons        []string               `json:"reasons"`
	Evidence       []Record               `json:"evidence"`
	EvidenceTotal  int                    `json:"evidence_total"`
	ParseErrors    int                    `json:"parse_errors,omitempty"`
}

// LogCheck judges the log since the upgrade started (sum) against the
// baseline: it fails when hard errors exceed baseline-rate × window ×
// RateFactor + HardAllowance, likewise for trouble records, when nothing
// in the window could be parsed although lines were there, and (with
// RequireTraffic) when no normal record was logged.
func LogCheck(sum Summary, base Baseline, th Thresholds) LogResult {
	r := LogResult{
		Pass: true, Since: sum.Since, Until: sum.Until, Totals: sum.Totals, Channels: sum.Channels,
		Evidence: sum.Evidence, EvidenceTotal: sum.EvidenceTotal, ParseErrors: sum.ParseErrors,
		Reasons: []string{},
	}
	if r.Evidence == nil {
		r.Evidence = []Record{}
	}
	hours := max(sum.Until.Sub(sum.Since).Hours(), 0)
	r.AllowedHard = base.Log.HardPerHour*hours*th.RateFactor + float64(th.HardAllowance)
	r.AllowedTrouble = base.Log.TroublePerHour*hours*th.RateFactor + float64(th.TroubleAllowance)
	if float64(sum.Totals.Hard) > r.AllowedHard {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d hard-error records (R, K, J, X, Y) since %s; allowed %.1f (baseline %.1f/h)",
			sum.Totals.Hard, stamp(sum.Since), r.AllowedHard, base.Log.HardPerHour))
	}
	if float64(sum.Totals.Trouble) > r.AllowedTrouble {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d delivery-trouble records (Q, W) since %s; allowed %.1f (baseline %.1f/h)",
			sum.Totals.Trouble, stamp(sum.Since), r.AllowedTrouble, base.Log.TroublePerHour))
	}
	if sum.Records == 0 && sum.ParseErrors > 0 {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("no line since %s could be read as a record (%d unreadable); is LOG_FORMAT=1?",
			stamp(sum.Since), sum.ParseErrors))
	}
	if th.RequireTraffic && sum.Totals.Normal == 0 {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("no mail was enqueued or delivered since %s", stamp(sum.Since)))
	}
	return r
}

// Channel states of a QueueCheck.
const (
	StateOK       = "ok"       // at or below baseline + slack
	StateDraining = "draining" // above, but fewer than at the first sample
	StateStuck    = "stuck"    // above, and not going down
)

// ChannelVerdict is one channel's queue over the sampling window.
type ChannelVerdict struct {
	Channel  string `json:"channel"`
	Baseline int    `json:"baseline"`
	First    int    `json:"first"`
	Last     int    `json:"last"`
	Peak     int    `json:"peak"`
	State    string `json:"state"`
}

// QueueSample is the queue at one sample.
type QueueSample struct {
	At       time.Time      `json:"at"`
	Messages int            `json:"messages"`
	Held     int            `json:"held"`
	Channels map[string]int `json:"channels"`
}

// maxListed caps the message files a QueueResult lists.
const maxListed = 50

// QueueResult is the verdict of QueueCheck with the files that prove it.
type QueueResult struct {
	Pass     bool             `json:"pass"`
	Window   time.Duration    `json:"window"`
	Interval time.Duration    `json:"interval"`
	Limits   QueueLimits      `json:"limits"`
	Samples  []QueueSample    `json:"samples"`
	Channels []ChannelVerdict `json:"channels"`
	// NewHeld and Stuck list held and over-limit messages present at the
	// last sample that were not flagged in the baseline (capped; the
	// totals count all). Preexisting counts those the baseline knew.
	NewHeld      []QueueMessage `json:"new_held"`
	NewHeldTotal int            `json:"new_held_total"`
	Stuck        []QueueMessage `json:"stuck"`
	StuckTotal   int            `json:"stuck_total"`
	Preexisting  int            `json:"preexisting,omitempty"`
	Reasons      []string       `json:"reasons"`
}

// QueueCheck samples the queue at queueDir every interval for up to window
// (clock and sleep from the Probe) and passes as soon as every channel is
// at or below its baseline count plus limits.Slack with no new held or
// stuck message. Otherwise the last sample decides: a channel above
// baseline that did not go down is stuck (a channel going down is
// draining, which passes unless limits.RequireDrained); any held message
// or message over limits.MaxAttempts / limits.MaxAge that the baseline did
// not already flag fails, named by file and channel.
func (p *Probe) QueueCheck(ctx context.Context, queueDir string, window, interval time.Duration, base Baseline, limits QueueLimits) (QueueResult, error) {
	res := QueueResult{Window: window, Interval: interval, Limits: limits}
	known := make(map[string]bool, len(base.Flagged))
	for _, id := range base.Flagged {
		known[id] = true
	}
	first := map[string]int{}
	peak := map[string]int{}
	start := p.now()
	maxSamples := 1
	if interval > 0 {
		maxSamples = int(window/interval) + 2 // bound the loop even if the clock never moves
	}
	for n := 1; ; n++ {
		snap, msgs, err := p.ScanQueue(ctx, queueDir)
		if err != nil {
			return QueueResult{}, fmt.Errorf("queue check: %w", err)
		}
		sample := QueueSample{At: snap.Taken, Messages: snap.Messages, Held: snap.Held, Channels: map[string]int{}}
		for ch, cq := range snap.Channels {
			sample.Channels[ch] = cq.Messages
			if n == 1 {
				first[ch] = cq.Messages
			}
			peak[ch] = max(peak[ch], cq.Messages)
		}
		res.Samples = append(res.Samples, sample)
		res.judge(snap, msgs, base, limits, known, first, peak)
		end := n >= maxSamples || interval <= 0 || p.now().Sub(start)+interval > window
		if res.clean() || end {
			res.finish(limits)
			return res, nil
		}
		if err := p.sleep(ctx, interval); err != nil {
			return QueueResult{}, fmt.Errorf("queue check: %w", err)
		}
	}
}

// judge fills the per-channel verdicts and flagged files from one sample.
func (r *QueueResult) judge(snap QueueSnapshot, msgs []QueueMessage, base Baseline, l QueueLimits, known map[string]bool, first, peak map[string]int) {
	names := map[string]bool{}
	for ch := range snap.Channels {
		names[ch] = true
	}
	for ch := range base.Queue.Channels {
		names[ch] = true
	}
	r.Channels = r.Channels[:0]
	for ch := range names {
		v := ChannelVerdict{Channel: ch, Baseline: base.Queue.Channels[ch].Messages,
			First: first[ch], Last: snap.Channels[ch].Messages, Peak: peak[ch]}
		switch {
		case v.Last <= v.Baseline+l.Slack:
			v.State = StateOK
		case v.Last < v.First:
			v.State = StateDraining
		default:
			v.State = StateStuck
		}
		r.Channels = append(r.Channels, v)
	}
	sort.Slice(r.Channels, func(i, j int) bool { return r.Channels[i].Channel < r.Channels[j].Channel })
	r.NewHeld, r.Stuck = []QueueMessage{}, []QueueMessage{}
	r.NewHeldTotal, r.StuckTotal, r.Preexisting = 0, 0, 0
	for _, m := range msgs {
		if !m.Held && !l.Stuck(m) {
			continue
		}
		if known[m.Channel+"/"+m.ID] {
			r.Preexisting++
			continue
		}
		if m.Held {
			r.NewHeldTotal++
			if len(r.NewHeld) < maxListed {
				r.NewHeld = append(r.NewHeld, m)
			}
		} else {
			r.StuckTotal++
			if len(r.Stuck) < maxListed {
				r.Stuck = append(r.Stuck, m)
			}
		}
	}
}

// clean reports whether the last sample needs no more waiting.
func (r *QueueResult) clean() bool {
	if r.NewHeldTotal > 0 || r.StuckTotal > 0 {
		return false
	}
	for _, v := range r.Channels {
		if v.State != StateOK {
			return false
		}
	}
	return true
}

// finish turns the last judgement into Pass and Reasons.
func (r *QueueResult) finish(l QueueLimits) {
	r.Pass = true
	r.Reasons = []string{}
	for _, v := range r.Channels {
		switch {
		case v.State == StateStuck:
			r.Pass = false
			r.Reasons = append(r.Reasons, fmt.Sprintf("channel %s did not drain: %d messages (baseline %d, first sample %d)",
				v.Channel, v.Last, v.Baseline, v.First))
		case v.State == StateDraining && l.RequireDrained:
			r.Pass = false
			r.Reasons = append(r.Reasons, fmt.Sprintf("channel %s still draining: %d messages (baseline %d, first sample %d)",
				v.Channel, v.Last, v.Baseline, v.First))
		}
	}
	if r.NewHeldTotal > 0 {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d held message(s) not held before the upgrade", r.NewHeldTotal))
	}
	if r.StuckTotal > 0 {
		r.Pass = false
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d message(s) over the limits (attempts > %d or age > %s)",
			r.StuckTotal, l.MaxAttempts, l.MaxAge))
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "the start"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}
