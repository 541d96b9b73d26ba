package mailcheck

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// WriteText renders the log verdict for the operator: the window, the
// counts per channel, why it failed, and the evidence lines as file:line
// followed by the raw record.
func (r LogResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Mail log check: %s\n", verdict(r.Pass))
	fmt.Fprintf(&b, "  window: %s .. %s\n", stamp(r.Since), stamp(r.Until))
	t := r.Totals
	fmt.Fprintf(&b, "  records: %d (hard %d, trouble %d, normal %d, other %d); allowed hard %.1f, trouble %.1f\n",
		t.Total(), t.Hard, t.Trouble, t.Normal, t.Other, r.AllowedHard, r.AllowedTrouble)
	if r.ParseErrors > 0 {
		fmt.Fprintf(&b, "  unreadable lines: %d\n", r.ParseErrors)
	}
	if len(r.Channels) > 0 {
		b.WriteString("  per channel:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    channel\thard\ttrouble\tnormal\tother")
		names := make([]string, 0, len(r.Channels))
		for ch := range r.Channels {
			names = append(names, ch)
		}
		sort.Strings(names)
		for _, ch := range names {
			c := r.Channels[ch]
			fmt.Fprintf(tw, "    %s\t%d\t%d\t%d\t%d\n", ch, c.Hard, c.Trouble, c.Normal, c.Other)
		}
		tw.Flush()
	}
	writeReasons(&b, r.Reasons)
	if r.EvidenceTotal > 0 {
		fmt.Fprintf(&b, "  evidence (%d of %d error and trouble records):\n", len(r.Evidence), r.EvidenceTotal)
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "    %s: %s\n", e.Where(), e.Raw)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText renders the queue verdict: the channels with their baseline,
// first, peak and last counts, why it failed, and the held and stuck files
// by channel.
func (r QueueResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Mail queue check: %s\n", verdict(r.Pass))
	if n := len(r.Samples); n > 0 {
		fmt.Fprintf(&b, "  samples: %d from %s to %s (window %s, every %s)\n",
			n, stamp(r.Samples[0].At), stamp(r.Samples[n-1].At), r.Window, r.Interval)
	}
	if len(r.Channels) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    channel\tbaseline\tfirst\tpeak\tlast\tstate")
		for _, v := range r.Channels {
			fmt.Fprintf(tw, "    %s\t%d\t%d\t%d\t%d\t%s\n", v.Channel, v.Baseline, v.First, v.Peak, v.Last, v.State)
		}
		tw.Flush()
	}
	writeReasons(&b, r.Reasons)
	writeMessages(&b, "held messages", r.NewHeld, r.NewHeldTotal)
	writeMessages(&b, "stuck messages", r.Stuck, r.StuckTotal)
	if r.Preexisting > 0 {
		fmt.Fprintf(&b, "  already held or stuck before the upgrade (not counted): %d\n", r.Preexisting)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeReasons(b *strings.Builder, reasons []string) {
	if len(reasons) == 0 {
		return
	}
	b.WriteString("  reasons:\n")
	for _, r := range reasons {
		fmt.Fprintf(b, "    - %s\n", r)
	}
}

func writeMessages(b *strings.Builder, title string, msgs []QueueMessage, total int) {
	if total == 0 {
		return
	}
	fmt.Fprintf(b, "  %s (%d of %d):\n", title, len(msgs), total)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, m := range msgs {
		fmt.Fprintf(tw, "    %s\t%s\tattempts %d\tage %s\n", m.Channel, m.Path, m.Attempts, m.Age.Round(time.Second))
	}
	tw.Flush()
}
