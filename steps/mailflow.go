package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mswizard/internal/atomicfile"
	"mswizard/steps/host"
	"mswizard/steps/mailcheck"
	"mswizard/wizard"
)

// Files of the mail-flow checks in the state directory.
const (
	baselineFile   = "baseline.json"
	probeBefore    = "probe-before" // .txt and .json
	probeAfter     = "probe-after"
	logCheckFile   = "log-check"   // .txt and .json
	queueCheckFile = "queue-check" // .txt and .json
)

// maxErrorEvidence bounds the evidence lines a failed check puts in its error
// (and so in the journal and the exit message); the findings files hold all.
const maxErrorEvidence = 20

// thresholds maps the answers onto the checks' limits; what the answers do not
// name keeps mailcheck's defaults.
func (c *Config) thresholds() mailcheck.Thresholds {
	a := c.Answers
	th := mailcheck.DefaultThresholds()
	th.HardAllowance = a.MaxLogErrors
	if a.QueueCheckWindow > 0 {
		th.QueueWindow = a.QueueCheckWindow
	}
	if a.QueueCheckInterval > 0 {
		th.QueueInterval = a.QueueCheckInterval
	}
	th.Queue.MaxAttempts = a.MaxQueueAttempts
	th.Queue.MaxAge = a.MaxQueueAge
	// The probe makes traffic: a window with no record at all proves nothing
	// and is said so rather than passed.
	th.RequireTraffic = true
	return th
}

// mailLogs lists what the log checks read: mail.log_current (seed 003,
// post-upgrade step 7) and, under daemontools, every service's multilog
// directory (SERVICEDIR/NAME/log/main, seed 001).
func (c *Config) mailLogs() []string {
	files := []string{c.Host.MailLog()}
	if c.Answers.Regime == "daemontools" && c.Answers.ServiceDir != "" {
		dirs, _ := filepath.Glob(filepath.Join(c.Answers.ServiceDir, "*", "log", "main"))
		for _, d := range dirs {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				files = append(files, d)
			}
		}
	}
	var out []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

func (c *Config) queueDir() string {
	if fi, err := os.Stat(c.Host.QueueDir()); err == nil && fi.IsDir() {
		return c.Host.QueueDir()
	}
	return ""
}

func (c *Config) probe(env *wizard.Env) *mailcheck.Probe {
	return &mailcheck.Probe{Now: env.Now}
}

// mailProbe is the SMTP probe to the dispatcher's configured port
// (dispatcher.cnf [SERVICE=SMTP] PORT, Messaging Server Reference,
// "Dispatcher configuration file"), on this host: the dispatcher listens on
// every interface unless INTERFACE_ADDRESS says otherwise.
func (c *Config) mailProbe(env *wizard.Env) (*mailcheck.MailProbe, error) {
	b, err := os.ReadFile(filepath.Join(c.Host.IMTAConfig(), "dispatcher.cnf"))
	if err != nil {
		return nil, fmt.Errorf("mail probe: %w", err)
	}
	port := host.DispatcherPort(b)
	if port == 0 {
		port = 25
	}
	addr := "127.0.0.1"
	if a := host.DispatcherAddress(b); a != "" && a != "0.0.0.0" && a != "*" && !strings.EqualFold(a, "ALL") {
		addr = a
	}
	helo := c.Answers.FullMachineName
	if helo == "" {
		helo = "localhost"
	}
	to := c.Answers.ProbeRecipient
	if to == "" {
		to = "postmaster" // RFC 5321 §4.5.1: every SMTP server accepts it
	}
	return &mailcheck.MailProbe{Addr: net.JoinHostPort(addr, strconv.Itoa(port)), Helo: helo, Recipient: to,
		Log: c.Host.MailLog(), Timeout: c.Answers.ProbeTimeout, Now: env.Now}, nil
}

// probeAction sends the mail-flow probe and keeps what it found in
// NAME.txt/.json; check decides whether what it found fails the action.
func (c *Config) probeAction(env *wizard.Env, name string, check func(mailcheck.ProbeResult) error) wizard.Action {
	return wizard.Action{
		Summary:    fmt.Sprintf("send a probe message by SMTP to the dispatcher (recipient %s) and find its enqueue and delivery records in %s", c.probeRecipient(), c.Host.MailLog()),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			var res mailcheck.ProbeResult
			p, err := c.mailProbe(env)
			if err != nil {
				res = mailcheck.ProbeResult{Recipient: c.probeRecipient(), Reason: "cannot probe: " + err.Error()}
			} else if res, err = p.Run(ctx); err != nil {
				return fmt.Errorf("mail probe: %w", err)
			}
			var text strings.Builder
			verdict := "PASS"
			if !res.Pass {
				verdict = "FAIL"
			}
			fmt.Fprintf(&text, "Mail probe: %s\n  %s\n  sent to %s via %s as %s\n", verdict, res.Summary(), res.Recipient, res.Addr, res.Sender)
			if len(res.Records) == 0 {
				text.WriteString("  no record of it in the log\n")
			} else {
				text.WriteString("  its records:\n")
				for _, l := range res.Lines() {
					text.WriteString("    " + l + "\n")
				}
			}
			if _, err := c.writeFindings(env, r, name, []byte(text.String()), res); err != nil {
				return err
			}
			r.Note = res.Summary()
			if err := r.SetData(res); err != nil {
				return err
			}
			return check(res)
		},
	}
}

func (c *Config) probeRecipient() string {
	if c.Answers.ProbeRecipient == "" {
		return "postmaster"
	}
	return c.Answers.ProbeRecipient
}

func (c *Config) readProbe(name string) (mailcheck.ProbeResult, bool) {
	var r mailcheck.ProbeResult
	b, err := os.ReadFile(filepath.Join(c.StateDir, name+".json"))
	if err != nil || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	return r, true
}

// MailProbe is post/mail-probe: after the restart, a message sent by SMTP to
// the dispatcher must be enqueued and delivered, as the one baseline/mail
// sent before the stops was (seed 003, post-upgrade step 7: prove that mail
// flows). Its records fall in the window post/log-check then judges.
func MailProbe(c *Config) wizard.Step {
	return wizard.Phase{ID: "post/mail-probe", Title: "Send a message through the dispatcher and see it delivered", Optional: true,
		Check: func(context.Context, *wizard.Env) (bool, string, error) {
			return false, "always runs: mail is probed as it flows now", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{c.probeAction(env, probeAfter, func(res mailcheck.ProbeResult) error {
				if res.Pass {
					return nil
				}
				var b strings.Builder
				fmt.Fprintf(&b, "mail probe failed: %s", res.Summary())
				if before, ok := c.readProbe(probeBefore); ok && !before.Pass {
					fmt.Fprintf(&b, "\n  mail did not flow before the upgrade either (%s): not caused by it", before.Summary())
				}
				for _, l := range res.Lines() {
					b.WriteString("\n  " + l)
				}
				fmt.Fprintf(&b, "\nfindings: %s", filepath.Join(c.StateDir, probeAfter+".txt"))
				return errors.New(b.String())
			})}, nil
		},
		UndoText: "nothing: the probe message is delivered like any other",
	}.Step()
}

func (c *Config) baselinePath() string { return filepath.Join(c.StateDir, baselineFile) }

func (c *Config) readBaseline() (mailcheck.Baseline, error) {
	var b mailcheck.Baseline
	data, err := os.ReadFile(c.baselinePath())
	if errors.Is(err, os.ErrNotExist) {
		return b, fmt.Errorf("no mail baseline at %s: baseline/mail must run before the upgrade", c.baselinePath())
	}
	if err != nil {
		return b, fmt.Errorf("mail baseline: %w", err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("mail baseline %s: %w", c.baselinePath(), err)
	}
	return b, nil
}

// writeState writes data atomically into the state directory and returns its
// hash for the receipt.
func (c *Config) writeState(name string, data []byte) (wizard.FileHash, error) {
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return wizard.FileHash{}, fmt.Errorf("state directory: %w", err)
	}
	p := filepath.Join(c.StateDir, name)
	if err := atomicfile.WriteFile(p, data, 0o600); err != nil {
		return wizard.FileHash{}, fmt.Errorf("write %s: %w", p, err)
	}
	sum := sha256.Sum256(data)
	return wizard.FileHash{Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// BaselineMail is baseline/mail: before anything is stopped, the queue and the
// last hour of mail.log_current are read (nothing on the host is written), so
// the checks after the restart blame only what the upgrade changed (seed 003,
// post-upgrade step 7 needs a "before" to compare with).
func BaselineMail(c *Config) wizard.Step {
	return wizard.Phase{ID: "baseline/mail", Title: "Record the mail queue and log before the upgrade",
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			b, err := c.readBaseline()
			if err != nil {
				return false, "no baseline yet", nil
			}
			return true, fmt.Sprintf("baseline taken at %s (%s)", b.Taken.Format("2006-01-02 15:04:05"), c.baselinePath()), nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			th := c.thresholds()
			q, logs := c.queueDir(), c.mailLogs()
			return []wizard.Action{{
				Summary:    fmt.Sprintf("read the queue %s and the last %s of %s -> %s (read-only on the host)", q, th.BaselineWindow, strings.Join(logs, ", "), c.baselinePath()),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					b, err := c.probe(env).TakeBaseline(ctx, q, logs, th)
					if err != nil {
						return fmt.Errorf("mail baseline: %w", err)
					}
					data, err := json.MarshalIndent(b, "", "  ")
					if err != nil {
						return err
					}
					fh, err := c.writeState(baselineFile, data)
					if err != nil {
						return err
					}
					r.Files = []wizard.FileHash{fh}
					r.Note = fmt.Sprintf("%d queued (%d held), %d log record(s) in the last %s: %d hard, %d trouble", b.Queue.Messages, b.Queue.Held, b.Log.Records, th.BaselineWindow, b.Log.Hard, b.Log.Trouble)
					env.Output(r.Step, r.Note)
					return r.SetData(b)
				},
			}, c.probeAction(env, probeBefore, func(res mailcheck.ProbeResult) error {
				// A host that cannot deliver before the upgrade is recorded
				// as such, so post/mail-probe does not blame the upgrade.
				if !res.Pass {
					env.Output("baseline/mail", "note: mail does not flow before the upgrade: "+res.Summary())
				}
				return nil
			})}, nil
		},
		UndoText: "nothing: the baseline only read the host",
	}.Step()
}

// evidenceError is a failed check's error: the reasons and the first evidence
// lines, and where the full findings are.
func evidenceError(what string, reasons, evidence []string, total int, file string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed: %s", what, strings.Join(reasons, "; "))
	for i, e := range evidence {
		if i == maxErrorEvidence {
			break
		}
		b.WriteString("\n  " + e)
	}
	if total > min(len(evidence), maxErrorEvidence) {
		fmt.Fprintf(&b, "\n  ... %d evidence item(s) in all", total)
	}
	fmt.Fprintf(&b, "\nfindings: %s", file)
	return errors.New(b.String())
}

// writeFindings stores a check's text and JSON findings and streams the text to
// the faces.
func (c *Config) writeFindings(env *wizard.Env, r *wizard.Receipt, base string, text []byte, v any) (string, error) {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	ft, err := c.writeState(base+".txt", text)
	if err != nil {
		return "", err
	}
	fj, err := c.writeState(base+".json", js)
	if err != nil {
		return "", err
	}
	r.Files = []wizard.FileHash{ft, fj}
	for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		env.Output(r.Step, l)
	}
	return ft.Path, nil
}

// LogCheck is post/log-check: after the restart, mail.log_current must show no
// more errors than before the upgrade allowed (seed 003, post-upgrade step 7:
// "check mail.log_current for errors"). It reads from the baseline's time, so
// every record since the upgrade started counts. Read-only; it runs again on
// every rerun until it passes.
func LogCheck(c *Config) wizard.Step {
	return wizard.Phase{ID: "post/log-check", Title: "Check mail.log_current for errors since the upgrade", Optional: true,
		Check: func(context.Context, *wizard.Env) (bool, string, error) {
			return false, "always runs: the log is read as it is now", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			th := c.thresholds()
			return []wizard.Action{{
				Summary:    fmt.Sprintf("scan %s since the baseline (%s) for error records: at most %d hard error(s) beyond the baseline rate", strings.Join(c.mailLogs(), ", "), c.baselinePath(), th.HardAllowance),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					base, err := c.readBaseline()
					if err != nil {
						return err
					}
					sum, err := c.probe(env).Scan(ctx, c.mailLogs(), base.Taken)
					if err != nil {
						return fmt.Errorf("log check: scan: %w", err)
					}
					res := mailcheck.LogCheck(sum, base, th)
					var text bytes.Buffer
					if err := res.WriteText(&text); err != nil {
						return err
					}
					path, err := c.writeFindings(env, r, logCheckFile, text.Bytes(), res)
					if err != nil {
						return err
					}
					r.Note = fmt.Sprintf("%d hard, %d trouble, %d normal record(s) since %s", res.Totals.Hard, res.Totals.Trouble, res.Totals.Normal, res.Since.Format("15:04:05"))
					if err := r.SetData(res); err != nil {
						return err
					}
					if res.Pass {
						return nil
					}
					var ev []string
					for _, e := range res.Evidence {
						ev = append(ev, e.Where()+": "+e.Raw)
					}
					return evidenceError("log check", res.Reasons, ev, res.EvidenceTotal, path)
				},
			}}, nil
		},
		UndoText: "nothing: the check only reads",
	}.Step()
}

// QueueCheck is post/queue-check: the queue is watched until every channel is
// back at its baseline, with no new held or stuck message (seed 003,
// post-upgrade step 7: "monitor the message queue"). Read-only; it runs again
// on every rerun until it passes.
func QueueCheck(c *Config) wizard.Step {
	return wizard.Phase{ID: "post/queue-check", Title: "Check that no message is stuck in the queue", Optional: true,
		Check: func(context.Context, *wizard.Env) (bool, string, error) {
			return false, "always runs: the queue is sampled as it is now", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			th := c.thresholds()
			return []wizard.Action{{
				Summary: fmt.Sprintf("sample the queue %s every %s for up to %s against the baseline: stuck past %d attempts or %s",
					c.Host.QueueDir(), th.QueueInterval, th.QueueWindow, th.Queue.MaxAttempts, th.Queue.MaxAge),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					base, err := c.readBaseline()
					if err != nil {
						return err
					}
					res, err := c.probe(env).QueueCheck(ctx, c.Host.QueueDir(), th.QueueWindow, th.QueueInterval, base, th.Queue)
					if err != nil {
						return fmt.Errorf("queue check: %w", err)
					}
					var text bytes.Buffer
					if err := res.WriteText(&text); err != nil {
						return err
					}
					path, err := c.writeFindings(env, r, queueCheckFile, text.Bytes(), res)
					if err != nil {
						return err
					}
					last := 0
					if n := len(res.Samples); n > 0 {
						last = res.Samples[n-1].Messages
					}
					r.Note = fmt.Sprintf("%d sample(s); %d queued at the last; %d new held, %d stuck", len(res.Samples), last, res.NewHeldTotal, res.StuckTotal)
					if err := r.SetData(res); err != nil {
						return err
					}
					if res.Pass {
						return nil
					}
					var ev []string
					for _, ch := range res.Channels {
						if ch.State == mailcheck.StateStuck {
							ev = append(ev, fmt.Sprintf("channel %s: %s (baseline %d, first %d, last %d)", ch.Channel, ch.State, ch.Baseline, ch.First, ch.Last))
						}
					}
					for _, m := range res.NewHeld {
						ev = append(ev, fmt.Sprintf("held: %s (channel %s)", m.Path, m.Channel))
					}
					for _, m := range res.Stuck {
						ev = append(ev, fmt.Sprintf("stuck: %s (channel %s, %d attempts, age %s)", m.Path, m.Channel, m.Attempts, m.Age.Round(1e9)))
					}
					return evidenceError("queue check", res.Reasons, ev, len(ev)-len(res.NewHeld)-len(res.Stuck)+res.NewHeldTotal+res.StuckTotal, path)
				},
			}}, nil
		},
		UndoText: "nothing: the check only reads",
	}.Step()
}
