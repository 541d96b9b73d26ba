package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/wizard"
)

func TestDirectoryVersionRules(t *testing.T) {
	cases := []struct {
		name     string
		ds       directoryServer
		id       string
		severity wizard.Severity
		mention  []string
	}{
		{"netscape older than 4.16 is upgraded first by the appendix's procedure",
			directoryServer{VendorName: "Netscape Communications Corp.", VendorVersion: "Netscape-Directory/4.13 B00.193.0237"},
			"PRE-DS-001", wizard.Inhibitor, []string{"4.13", "4.16", "setup -k", "1 (Netscape Server Products Core Components)", "2 (Netscape Directory Suite)", "3 (Administration Services)", "not 4", "install.inf", "ims_dssetup", "rerun"}},
		{"netscape 4.16 passes", directoryServer{VendorVersion: "Netscape-Directory/4.16 B01.123"}, "PRE-DS-000", wizard.Info, []string{"4.16"}},
		{"a later dotted part compares as a number", directoryServer{VendorVersion: "Netscape-Directory/4.2"}, "PRE-DS-001", wizard.Inhibitor, []string{"4.2"}},
		{"iplanet 5 is a successor and passes", directoryServer{VendorName: "Sun Microsystems, Inc.", VendorVersion: "iPlanet-Directory/5.1"}, "PRE-DS-000", wizard.Info, []string{"iPlanet-Directory/5.1"}},
		{"389 passes with a fact naming it", directoryServer{VendorName: "389 Project", VendorVersion: "389-Directory/2.3.1 B2023"}, "PRE-DS-000", wizard.Info, []string{"389-Directory/2.3.1", "389 Project"}},
		{"openldap passes with a fact naming it", directoryServer{OpenLDAP: true}, "PRE-DS-000", wizard.Info, []string{"OpenLDAP"}},
		{"a server that says nothing is a warning to check by hand", directoryServer{}, "PRE-DS-003", wizard.Warning, []string{"by hand"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := judgeDirectory(c.ds, "5.2")
			if f.ID != c.id || f.Severity != c.severity {
				t.Fatalf("finding %s %s, want %s %s: %+v", f.ID, f.Severity, c.id, c.severity, f)
			}
			text := f.Message + " " + f.Remediation
			for _, m := range c.mention {
				if !strings.Contains(text, m) {
					t.Errorf("finding does not mention %q: %s", m, text)
				}
			}
		})
	}
}

type failingDialer struct{}

func (failingDialer) DialLDAP(context.Context) (ldap.Client, error) {
	return nil, errors.New("dial tcp 127.0.0.1:3890: connection refused")
}

func TestUnreachableDirectoryIsAnInhibitor(t *testing.T) {
	c := testConfig(t)
	c.Directory = failingDialer{}
	p := wizard.Describe(DirectoryVersion(c)).Preflight
	fs, err := p(t.Context(), (&wizard.Env{}).Nop())
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ID != "PRE-DS-002" || fs[0].Severity != wizard.Inhibitor || !strings.Contains(fs[0].Message, "connection refused") {
		t.Errorf("findings %+v, want one PRE-DS-002 inhibitor with the cause", fs)
	}
}

func TestThresholdsComeFromTheAnswers(t *testing.T) {
	c := testConfig(t, "MaxLogErrors = 4", "QueueCheckWindow = 7s", "QueueCheckInterval = 500ms", "MaxQueueAttempts = 3", "MaxQueueAge = 2h")
	th := c.thresholds()
	if th.HardAllowance != 4 || th.QueueWindow != 7*time.Second || th.QueueInterval != 500*time.Millisecond ||
		th.Queue.MaxAttempts != 3 || th.Queue.MaxAge != 2*time.Hour {
		t.Errorf("thresholds %+v do not follow the answers", th)
	}
}

// runStep plans and runs a step's actions the way the runner does, returning
// the receipts and the first error.
func runStep(t *testing.T, s wizard.Step, env *wizard.Env) ([]wizard.Receipt, error) {
	t.Helper()
	as, err := s.Plan(t.Context(), env)
	if err != nil {
		return nil, err
	}
	var rs []wizard.Receipt
	for i, a := range as {
		r := wizard.Receipt{Step: s.ID(), Action: i, Summary: a.Summary}
		if err := a.Do(t.Context(), &r); err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSaveConfigCopiesTheAppendixFilesWithAManifest(t *testing.T) {
	c := testConfig(t)
	w := c.Host
	writeFile(t, w.SetupInstallInf(), "[General]\n")
	writeFile(t, w.LocalConf(), "service.imap.port = 143\n")
	writeFile(t, w.MsgConf(), "local.hostname = budgie\n")
	writeFile(t, filepath.Join(w.SetupLogDir(), "upgrade.20260101.log"), "done\n")
	env := (&wizard.Env{}).Nop()
	s := SaveConfig(c)
	rs, err := runStep(t, s, env)
	if err != nil {
		t.Fatal(err)
	}
	var m savedConfig
	if err := rs[0].DataInto(&m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 4 || len(m.Missing) != 1 || m.Missing[0] != filepath.Join("admin-serv", "config", "adm.conf") {
		t.Errorf("saved %+v, want 4 files and adm.conf missing", m)
	}
	b, err := os.ReadFile(filepath.Join(c.StateDir, "saved-config", "msg-budgie", "config", "local.conf"))
	if err != nil || string(b) != "service.imap.port = 143\n" {
		t.Errorf("saved local.conf = %q, %v", b, err)
	}
	if done, why, _ := s.Check(t.Context(), env); !done {
		t.Errorf("check after saving: not done (%s)", why)
	}
	writeFile(t, filepath.Join(c.StateDir, "saved-config", "msg-budgie", "config", "local.conf"), "tampered\n")
	if done, _, _ := s.Check(t.Context(), env); done {
		t.Error("check says done although a copy no longer matches its manifest")
	}
}

// mailLine is a mail.log_current record (FORMATS.md §3.2) at t.
func mailLine(at time.Time, src, code, diag string) string {
	return at.Format("02-Jan-2006 15:04:05.00") + " " + src + " " + code + " 1 ann@example.org rfc822;bob@siroe.com bob@siroe.com " + diag + "\n"
}

func TestLogCheckBlamesOnlyRecordsSinceTheBaselineAndReruns(t *testing.T) {
	c := testConfig(t)
	now := time.Now().Truncate(time.Second)
	clock := now
	env := (&wizard.Env{Now: func() time.Time { return clock }}).Nop()
	var out []string
	env.Output = func(_, l string) { out = append(out, l) }
	log := c.Host.MailLog()
	writeFile(t, log, mailLine(now.Add(-30*time.Minute), "tcp_local", "E", "")+mailLine(now.Add(-20*time.Minute), "tcp_local", "D", ""))
	if _, err := runStep(t, BaselineMail(c), env); err != nil {
		t.Fatal(err)
	}
	if done, _, _ := BaselineMail(c).Check(t.Context(), env); !done {
		t.Error("baseline/mail is not done once baseline.json exists")
	}

	clock = now.Add(time.Minute)
	if _, err := runStep(t, LogCheck(c), env); err == nil || !strings.Contains(err.Error(), "no mail was enqueued or delivered") {
		t.Fatalf("a window without any record: %v, want a failure that says so, not a pass", err)
	}
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(mailLine(now.Add(10*time.Second), "ims-ms", "D", ""))
	f.Close()
	if _, err := runStep(t, LogCheck(c), env); err != nil {
		t.Fatalf("a log with no errors since the baseline fails: %v", err)
	}
	if done, _, _ := LogCheck(c).Check(t.Context(), env); done {
		t.Error("post/log-check claims done: it must run again on every rerun")
	}

	f, _ = os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(mailLine(now.Add(30*time.Second), "tcp_local", "R", "smtp;550 5.1.1 unknown user"))
	f.Close()
	clock = now.Add(2 * time.Minute)
	out = nil
	_, err := runStep(t, LogCheck(c), env)
	if err == nil || !strings.Contains(err.Error(), "mail.log_current:4:") || !strings.Contains(err.Error(), "unknown user") {
		t.Fatalf("an R record after the restart: %v, want a failure naming mail.log_current:4", err)
	}
	if !strings.Contains(strings.Join(out, "\n"), "unknown user") {
		t.Errorf("the evidence was not streamed to the output:\n%s", strings.Join(out, "\n"))
	}
	txt, _ := os.ReadFile(filepath.Join(c.StateDir, "log-check.txt"))
	if _, err := os.Stat(filepath.Join(c.StateDir, "log-check.json")); err != nil || !strings.Contains(string(txt), "unknown user") {
		t.Errorf("findings not written to the state directory: %v\n%s", err, txt)
	}
}

func TestMailChecksWithoutABaselineSayWhichStepIsMissing(t *testing.T) {
	c := testConfig(t)
	env := (&wizard.Env{}).Nop()
	for _, s := range []wizard.Step{LogCheck(c), QueueCheck(c)} {
		if _, err := runStep(t, s, env); err == nil || !strings.Contains(err.Error(), "baseline/mail") {
			t.Errorf("%s without a baseline: %v", s.ID(), err)
		}
	}
}
