package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/NAME, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update to accept):\n%s", name, t.Name(), got)
	}
}

// reportJournal is a run written by hand: the dispatcher stopped, a backup,
// an installer confirmed by the operator, a merge that stopped for a decision
// and went on once the answers gave it, the dispatcher started again, and a
// log check.
func reportJournal(t *testing.T) reportInput {
	t0 := time.Date(2026, 12, 6, 4, 32, 19, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rc := func(r wizard.Receipt) json.RawMessage {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	data := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	td := filepath.Join("testdata", "report")
	var recs []journal.Record
	add := func(s float64, k journal.Kind, step string, action int, summary string, receipt json.RawMessage, errText, note string) {
		recs = append(recs, journal.Record{V: 1, Seq: int64(len(recs) + 1), Run: "r1", Time: at(s), Kind: k, Step: step, Action: action, Summary: summary, Receipt: receipt, Error: errText, Note: note})
	}
	add(0, journal.KindRunStart, "", 0, "", nil, "", "")
	add(0.1, journal.KindSkipped, "preflight/disk-space", 0, "", nil, "", "read-only check; its findings ran first")
	stop := "/srv/msg-budgie/imsimta stop dispatcher"
	add(1, journal.KindBegin, "stop/dispatcher", 0, stop, nil, "", "")
	add(1.2, journal.KindDone, "stop/dispatcher", 0, stop, rc(wizard.Receipt{Step: "stop/dispatcher", Summary: stop,
		Command: &wizard.Result{Argv: []string{"/srv/msg-budgie/imsimta", "stop", "dispatcher"}, ExitCode: 0, Duration: 200 * time.Millisecond},
		Data:    data(map[string]any{"op": "dispatcher", "units": []string{"dispatcher"}})}), "", "")
	add(1.2, journal.KindStepDone, "stop/dispatcher", 0, "", nil, "", "")
	arch := "archive /srv/msg-budgie/imta/queue -> /backups/queue.tar.zst"
	add(2, journal.KindBegin, "backup/queue", 0, arch, nil, "", "")
	add(3.5, journal.KindDone, "backup/queue", 0, arch, rc(wizard.Receipt{Step: "backup/queue", Summary: arch, Duration: 1500 * time.Millisecond,
		Files: []wizard.FileHash{{Path: filepath.Join(td, "queue.manifest.jsonl"), SHA256: "recorded-manifest-hash"}, {Path: filepath.Join(td, "queue.tar.zst")}, {Path: filepath.Join(td, "gone.tar.zst"), Size: 10, SHA256: "abc"}},
		Data:  data(map[string]any{"files": 72, "bytes": 151824, "archive_size": 50183, "manifest_sha256": "recorded-manifest-hash"})}), "", "")
	add(3.5, journal.KindStepDone, "backup/queue", 0, "", nil, "", "")
	inst := "/srv/installer/setup -s -f install.inf"
	add(4, journal.KindConfirmed, "upgrade/run-installer", 0, "", nil, "", "")
	add(4, journal.KindBegin, "upgrade/run-installer", 0, inst, nil, "", "")
	add(9, journal.KindDone, "upgrade/run-installer", 0, inst, rc(wizard.Receipt{Step: "upgrade/run-installer", Summary: inst,
		Command: &wizard.Result{Argv: []string{"/srv/installer/setup", "-s", "-f", "install.inf"}, ExitCode: 0, Duration: 5 * time.Second, Tail: "copying files\ndone\n"},
		Note:    "iPlanet Messaging Server 5.1 -> iPlanet Messaging Server 5.2"}), "", "")
	add(9, journal.KindStepDone, "upgrade/run-installer", 0, "", nil, "", "")
	merge := "merge backup.20261206 into msg-budgie"
	add(9.5, journal.KindBegin, "upgrade/config-diff", 0, merge, nil, "", "")
	add(9.8, journal.KindFailed, "upgrade/config-diff", 0, merge, nil, "step upgrade/config-diff needs a decision: 1 configuration conflict(s)", "")
	add(9.8, journal.KindRunEnd, "", 0, "", nil, "", "")
	add(60, journal.KindRunStart, "", 0, "", nil, "", "")
	add(60, journal.KindBegin, "upgrade/config-diff", 0, merge, nil, "", "")
	add(60.3, journal.KindDone, "upgrade/config-diff", 0, merge, rc(wizard.Receipt{Step: "upgrade/config-diff", Summary: merge, Duration: 300 * time.Millisecond,
		Note: "2 re-applied, 11 kept, 0 conflict(s)",
		Data: data([]mergeDecision{{"config/local.conf", "store.quotawarn", "reapply"}, {"imta/config/mappings", "PORT_ACCESS TCP|*|25|192.0.2.66|*", "reapply"}})}), "", "")
	add(60.3, journal.KindStepDone, "upgrade/config-diff", 0, "", nil, "", "")
	start := "/srv/msg-budgie/start-msg dispatcher"
	add(61, journal.KindBegin, "post/start", 0, start, nil, "", "")
	add(61.4, journal.KindDone, "post/start", 0, start, rc(wizard.Receipt{Step: "post/start", Summary: start,
		Command: &wizard.Result{Argv: []string{"/srv/msg-budgie/start-msg", "dispatcher"}, Duration: 400 * time.Millisecond},
		Data:    data(map[string]any{"op": "msg-svc", "units": []string{"dispatcher"}})}), "", "")
	add(61.4, journal.KindStepDone, "post/start", 0, "", nil, "", "")
	lc := "scan mail.log_current since the baseline"
	add(62, journal.KindBegin, "post/log-check", 0, lc, nil, "", "")
	add(62.1, journal.KindDone, "post/log-check", 0, lc, rc(wizard.Receipt{Step: "post/log-check", Summary: lc, Duration: 100 * time.Millisecond,
		Files: []wizard.FileHash{{Path: filepath.Join(td, "log-check.txt")}},
		Data:  data(map[string]any{"pass": true})}), "", "")
	add(62.1, journal.KindStepDone, "post/log-check", 0, "", nil, "", "")
	add(62.2, journal.KindRunEnd, "", 0, "", nil, "", "")
	return reportInput{
		Generated: at(63),
		StateDir:  "/state",
		Journal:   "/state/journal.jsonl",
		Steps: []stepInfo{{ID: "preflight/disk-space", Title: "Check the disk space"}, {ID: "stop/dispatcher", Title: "Stop the dispatcher"}, {ID: "backup/queue", Title: "Back up the queue"},
			{ID: "upgrade/run-installer", Title: "Run the installer"}, {ID: "upgrade/config-diff", Title: "Merge the configuration"}, {ID: "post/start", Title: "Start the services"},
			{ID: "post/log-check", Title: "Check mail.log_current"}, {ID: "post/queue-check", Title: "Check the queue"}},
		Records: recs,
		Backout: []wizard.BackoutStep{{ID: "post/start", Actions: []wizard.PlannedAction{{Summary: "/srv/msg-budgie/stop-msg dispatcher"}}}, {ID: "backup/queue"}},
		Findings: []wizard.Finding{{ID: "PRE-DISK-000", Severity: wizard.Info, Message: "backups need about 16 MiB; 76 GiB free"},
			{ID: "PRE-HA-002", Severity: wizard.Warning, Message: "the cluster could not be asked", Remediation: "say Regime"},
			{ID: "PRE-DISK-001", Severity: wizard.Inhibitor, Message: "no room", Remediation: "another BackupDir", Waived: true}},
		ConfigDecisions: []string{"config/local.conf store.quotawarn reapply"},
		Hash:            newHashCache(""),
		Host: map[string]wizard.Count{"queue-messages": {Name: "queue-messages", Value: 0, Text: "the queue is empty: nothing to save"},
			"config-differences": {Name: "config-differences", Value: -1, Text: "no backup.TIMESTAMP yet"}},
		Estimate: &savedEstimate{Steps: map[string]time.Duration{"stop/dispatcher": 2 * time.Second, "backup/queue": 3 * time.Second, "upgrade/run-installer": 12 * time.Second},
			Downtime: &wizard.Downtime{What: "mail is refused", From: "stop/dispatcher", To: "post/start", Estimate: 25 * time.Second, Basis: "a measured sample"}},
	}
}

func TestReportRendersTheRunForReaders(t *testing.T) {
	t.Parallel()
	rep := buildReport(reportJournal(t))
	var md, html bytes.Buffer
	renderMarkdown(&md, rep)
	if err := renderHTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.md", md.Bytes())
	golden(t, "report.golden.html", html.Bytes())

	for name, rule := range map[string]func(*testing.T){
		"the mail-refused window runs from the dispatcher's stop to its start": func(t *testing.T) {
			w := rep.Window
			if w == nil || w.Open || w.Length != 60400*time.Millisecond {
				t.Fatalf("window %+v, want 1m0.4s closed by post/start", w)
			}
		},
		"markdown holds no JSON and no empty hash": func(t *testing.T) {
			if regexp.MustCompile(`[{\[]"`).Match(md.Bytes()) {
				t.Errorf("report.md contains JSON:\n%s", md.String())
			}
			if strings.Contains(md.String(), "sha256 ``") || strings.Contains(md.String(), " 0 bytes") {
				t.Errorf("report.md lists a file without its size or hash:\n%s", md.String())
			}
		},
		"an archive is listed with its real size and hash": func(t *testing.T) {
			// sha256 of testdata/report/queue.tar.zst
			if !strings.Contains(md.String(), "queue.tar.zst`: 36 bytes, sha256 `") {
				t.Errorf("archive line:\n%s", md.String())
			}
		},
		"a step that needed a decision shows the decision, not the old error": func(t *testing.T) {
			for _, v := range rep.Steps {
				if v.ID == "upgrade/config-diff" {
					if strings.Contains(v.Note, "needs a decision") || len(v.Decisions) != 1 || !strings.Contains(v.Decisions[0], "store.quotawarn reapply") {
						t.Errorf("config-diff note %q decisions %q", v.Note, v.Decisions)
					}
				}
			}
		},
		"the estimate made before the run stands beside what happened": func(t *testing.T) {
			if !strings.Contains(md.String(), "Estimated before the run: 25s") || !strings.Contains(md.String(), "| `backup/queue` | done | 04:32:21 ✉✗ | 1.5s | 3s |") {
				t.Errorf("estimate not compared:\n%s", md.String())
			}
		},
		"the html is self-contained": func(t *testing.T) {
			for _, bad := range []string{"<script", "http://", "https://", "<link", "@import", "url("} {
				if strings.Contains(html.String(), bad) {
					t.Errorf("report.html contains %q", bad)
				}
			}
		},
		"findings run from inhibitors to info": func(t *testing.T) {
			if rep.Findings[0].Severity != wizard.Inhibitor || rep.Findings[2].Severity != wizard.Info {
				t.Errorf("findings order %+v", rep.Findings)
			}
		},
		"active time leaves out the pause between runs": func(t *testing.T) {
			for _, v := range rep.Steps {
				if v.ID == "upgrade/config-diff" && v.Active != 600*time.Millisecond {
					t.Errorf("config-diff active %s, want 600ms (two attempts)", v.Active)
				}
			}
		},
	} {
		t.Run(name, rule)
	}
}

// A journal that ends with a backout reports the backed-out epoch, and the
// window closes at the undo of stop/dispatcher.
func TestReportOfABackedOutRun(t *testing.T) {
	t.Parallel()
	in := reportJournal(t)
	in.Records = in.Records[:6] // up to the queue backup's begin... then backout
	t1 := in.Records[len(in.Records)-1].Time
	in.Records = append(in.Records,
		journal.Record{Seq: 99, Time: t1.Add(time.Second), Kind: journal.KindRunStart, Note: "backout",
			Decision: &journal.Decision{Kind: journal.DecideConfirm, Subject: "backout", Choice: "yes", Source: journal.SourceFlag, Reason: "Back out 1 step(s) in the backout procedure's order?"}},
		journal.Record{Seq: 100, Time: t1.Add(time.Second), Kind: journal.KindUndoBegin, Step: "stop/dispatcher"},
		journal.Record{Seq: 101, Time: t1.Add(2 * time.Second), Kind: journal.KindUndoDone, Step: "stop/dispatcher"},
		journal.Record{Seq: 102, Time: t1.Add(2 * time.Second), Kind: journal.KindUndone, Step: "stop/dispatcher"},
		journal.Record{Seq: 103, Time: t1.Add(3 * time.Second), Kind: journal.KindBackoutDone})
	rep := buildReport(in)
	if !rep.BackedOut {
		t.Fatal("not reported as backed out")
	}
	if w := rep.Window; w == nil || w.Open || !strings.Contains(w.Closer, "backout") {
		t.Fatalf("window %+v, want closed by the backout", w)
	}
	var md bytes.Buffer
	renderMarkdown(&md, rep)
	if !strings.Contains(md.String(), "| `stop/dispatcher` | undone |") {
		t.Errorf("the dispatcher stop is not shown undone:\n%s", md.String())
	}
	if want := "Decision: the backout was confirmed by --yes"; !strings.Contains(md.String(), want) {
		t.Errorf("the report does not say who confirmed the backout (%q):\n%s", want, md.String())
	}
}

// The golden report renders in a browser too (the demo's own report is opened
// by TestBatchUpgradeOnTheSimulatedHost).
func TestReportHTMLRendersInChromium(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	var html bytes.Buffer
	if err := renderHTML(&html, buildReport(reportJournal(t))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "report.html"), html.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	requireReportRenders(t, state)
}
