package main

import (
	"strings"
	"testing"
	"time"

	"mswizard/wizard"
)

func TestEstimateRestsOnTheMeasuredRate(t *testing.T) {
	t.Parallel()
	m := measure{sampleBytes: 10 << 20, sampleFiles: 100, sampleTime: time.Second,
		rootBytes: 100 << 20, rootFiles: 50, queueBytes: 1 << 20, queueFiles: 5000}
	for _, c := range []struct {
		name         string
		files, bytes int64
		want         time.Duration
	}{
		{"bytes dominate: ten samples' worth takes ten sample times", 50, 100 << 20, 10 * time.Second},
		{"many small files: the file rate dominates", 5000, 1 << 20, 50 * time.Second},
		{"nothing to read takes nothing", 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := m.passTime(c.files, c.bytes); got != c.want {
				t.Errorf("passTime = %s, want %s", got, c.want)
			}
		})
	}
	rep := &wizard.PlanReport{Steps: []wizard.PlannedStep{
		{ID: "baseline/mail", Actions: []wizard.PlannedAction{{}}},
		{ID: "stop/dispatcher", Actions: []wizard.PlannedAction{{}}},
		{ID: "stop/messaging", Actions: []wizard.PlannedAction{{}}},
		{ID: "backup/server-root", Actions: []wizard.PlannedAction{{}}},
		{ID: "post/start", Done: true},
		{ID: "post/log-check", Actions: []wizard.PlannedAction{{}}},
	}}
	m.apply(rep)
	if got := rep.Steps[3].Estimate; got != 21*time.Second {
		t.Errorf("server-root backup estimate %s, want two passes (20s) and 1s", got)
	}
	// The window runs from stop/dispatcher to the end of post/start: 2s, 2s,
	// 21s, and post/start's goal holds before the stops, so it is taken as
	// one start per stopped service and a check (3 x 2s).
	d := rep.Downtime
	if d == nil || d.Estimate != 31*time.Second || d.From != "stop/dispatcher" || d.To != "post/start" {
		t.Fatalf("downtime %+v, want 31s from stop/dispatcher to post/start", d)
	}
	if rep.Steps[0].Estimate == 0 || rep.Steps[5].Estimate == 0 {
		t.Error("steps outside the window are estimated too")
	}
	if text := wizard.RenderPlan(rep); !strings.Contains(text, "Downtime: mail is refused for about 31s") || !strings.Contains(text, "about 21s") {
		t.Errorf("the plan does not show the estimates:\n%s", text)
	}
}
