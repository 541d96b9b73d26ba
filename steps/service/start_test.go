package service

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// startMsgScript is a start-msg that logs its argument ("all" for none) and
// starts that service, or without one the enabled services in order.
func (h *fakeHost) startMsgScript(enabled []string, extra map[string]string) {
	var b strings.Builder
	b.WriteString(`echo "${1:-all}" >> ` + filepath.Join(h.w.Dir, "start.log") + "\ncase \"$1\" in\n")
	for _, s := range MessagingServices() {
		b.WriteString(s + ") " + h.spawnLine(s) + "\n" + extra[s] + ";;\n")
	}
	b.WriteString(`"")` + "\n")
	for _, s := range enabled {
		b.WriteString(h.spawnLine(s) + "\n" + extra[s] + "\n")
	}
	b.WriteString(";;\nesac")
	h.script(h.w.StartMsg(), b.String())
}

func TestStartFollowsTheDocumentedOrderSkippingDisabledServices(t *testing.T) {
	h := newHost(t, "service.pop.enable = no", "service.http.enable = 0", "local.sched.enable = off")
	on := []string{"ens", "store", "imap", "dispatcher", "job_controller"} // a 5.x host: no watcher
	h.startMsgScript(on, nil)
	ctx, env := t.Context(), h.env()
	s := Start(h.config())
	acts, err := s.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	// The appendix's restart is one start-msg; then each enabled service is
	// proved up (host-facts: F-CMD-001).
	want := []string{h.w.StartMsg(), "verify every started service still answers"}
	if got := summaries(acts); !slices.Equal(got, want) {
		t.Fatalf("plan =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := runActions(ctx, s.ID(), acts); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(filepath.Join(h.w.Dir, "start.log"))
	if got := strings.Fields(string(log)); !slices.Equal(got, []string{"all"}) {
		t.Errorf("start-msg ran for %q", got)
	}
	for _, svc := range []string{"ens", "imap", "dispatcher", "job_controller"} {
		if !portOpen(ctx, "127.0.0.1", h.ports[svc]) {
			t.Errorf("%s does not answer after the start", svc)
		}
	}
	for _, svc := range []string{"pop", "http", "sched"} {
		if portOpen(ctx, "127.0.0.1", h.ports[svc]) {
			t.Errorf("disabled %s was started", svc)
		}
	}
	if done, why, err := s.Check(ctx, env); err != nil || !done {
		t.Errorf("check after the start = %v (%s), %v; want done", done, why, err)
	}
}

func TestServiceThatCrashesDuringTheStartIsReportedWithTheManualsAdvice(t *testing.T) {
	h := newHost(t, "local.ens.enable = no", "service.pop.enable = no",
		"service.http.enable = no", "local.sched.enable = no", "local.imta.enable = no")
	// Starting imap makes the store crash.
	h.startMsgScript([]string{"store", "imap"}, map[string]string{"imap": h.killLine("store")})
	ctx, env := t.Context(), h.env()
	_, err := runPlan(t, ctx, env, Start(h.config()))
	if err == nil {
		t.Fatal("the start succeeded although the store crashed")
	}
	for _, want := range []string{"store not up", CrashAdvice} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestUndoOfTheStartStopsWhatItStarted(t *testing.T) {
	h := newHost(t, "local.ens.enable = no", "service.pop.enable = no",
		"service.http.enable = no", "local.sched.enable = no", "local.imta.enable = no")
	h.startMsgScript([]string{"store", "imap"}, nil)
	h.script(h.w.StopMsg(), `case "$1" in "") `+h.killLine("imap")+`; `+h.killLine("store")+`;; *) exit 3;; esac`)
	ctx, env := t.Context(), h.env()
	s := Start(h.config())
	rs, err := runPlan(t, ctx, env, s)
	if err != nil {
		t.Fatal(err)
	}
	undo, err := s.Undo(ctx, env, rs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summaries(undo), []string{h.w.StopMsg()}; !slices.Equal(got, want) {
		t.Fatalf("undo = %q, want %q (the whole-server stop reverses the one start-msg)", got, want)
	}
	if _, err := runActions(ctx, s.ID(), undo); err != nil {
		t.Fatal(err)
	}
	if portOpen(ctx, "127.0.0.1", h.ports["imap"]) {
		t.Error("imap still answers after the undo")
	}
}
