package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"mswizard/steps"
	"mswizard/wizard"
)

// The faces ask the steps: on the same world the preflight screen, `status`
// and the step that acts on the queue say the same thing about it, and the
// free space is the one preflight/disk-space weighs, on the same volume.
func TestTheFacesShowTheCountsTheStepsComputed(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	// The services stay down, so no mail moves the queue between the readings.
	h := upHost(t, bin, hostOptions{seed: 7, noStart: true})
	ctx := context.Background()
	c := &common{answersPath: h.inf, output: "text"}
	s, err := c.load(ctx, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()

	// What the steps say, asked the way a run asks them.
	var queueWhy string
	for _, st := range s.steps {
		if st.ID() == "backup/queue" {
			_, why, err := st.Check(ctx, s.env)
			if err != nil {
				t.Fatal(err)
			}
			queueWhy = why
		}
	}
	if queueWhy == "" {
		t.Fatal("the runbook has no backup/queue step")
	}

	p := detect(ctx, s)
	if p.Queue.Text != queueWhy {
		t.Errorf("the preflight screen says the queue holds %q, backup/queue says %q", p.Queue.Text, queueWhy)
	}
	if p.Queue.Value <= 0 {
		t.Errorf("the world's queue holds messages; the preflight screen counts %d", p.Queue.Value)
	}

	out, code := run(t, bin, "status", "--answers", h.inf, "--output", "json")
	if code != 0 {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	var rep StatusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	if q := rep.Host[steps.CountQueueMessages]; q != p.Queue {
		t.Errorf("status says the queue is %+v, the preflight screen %+v", q, p.Queue)
	}
	// Free space moves while other tests write; the volume and the rule do not.
	free := rep.Host[steps.CountBackupFree]
	if free.Value <= 0 || p.Backup.Value <= 0 || onVolume(free.Text) != onVolume(p.Backup.Text) {
		t.Errorf("status says %+v of the backup volume, the preflight screen %+v", free, p.Backup)
	}
	text, _ := run(t, bin, "status", "--answers", h.inf)
	if !strings.Contains(text, queueWhy) {
		t.Errorf("status text does not say %q:\n%s", queueWhy, text)
	}
	var fs []wizard.Finding
	r := &wizard.Runner{Steps: s.steps, Env: s.env}
	plan, err := r.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs = plan.Findings
	for _, f := range fs {
		if f.ID == "PRE-DISK-000" && !strings.Contains(f.Message, onVolume(p.Backup.Text)) {
			t.Errorf("preflight/disk-space weighs %q, the screen shows %q", f.Message, p.Backup.Text)
		}
	}
}

// onVolume is the "on DIR" part of a free-space count.
func onVolume(s string) string {
	if i := strings.LastIndex(s, " free on "); i >= 0 {
		return s[i+len(" free"):]
	}
	return s
}
