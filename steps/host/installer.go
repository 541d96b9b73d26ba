package host

// The Messaging Server installer's interactive dialogue (`setup -k`), as the
// iPlanet Messaging Server 5.2 Installation Guide, appendix C, "Messaging Server
// 5.2 へのアップグレード", documents it (docs/host-facts.md, rows
// F-INS-001 to F-INS-008): the prompts the wizard answers, where each answer comes
// from, and the rules for everything else — a prompt no row covers stops the
// run and is shown verbatim; the wizard never guesses an answer.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Prompt is one installer question the wizard answers, and where from.
type Prompt struct {
	// Name identifies the row in transcripts and errors ("upgrade-choice").
	Name string `json:"name"`
	// Match is applied to the prompt's text: everything the installer printed
	// since the previous answer, "\r" and terminal escapes removed.
	Match *regexp.Regexp `json:"-"`
	// Source is where the question is documented, or the answers line the
	// operator added for it.
	Source string `json:"source"`
	// Answer is what is typed, followed by Enter; "" is Enter alone (the
	// installer's shown default).
	Answer string `json:"answer,omitempty"`
	// Secret answers are typed into the terminal only: the transcript, the
	// spec on disk and every message show REDACTED.
	Secret bool `json:"secret,omitempty"`
	// Missing, when set, says the answers lack this prompt's answer and how
	// to give it: the prompt then stops the run (exit 3) rather than be
	// answered with a guess.
	Missing string `json:"missing,omitempty"`
}

// DefaultQuietTimeout is how long an installer may print nothing before
// the run stops as at an unknown prompt ([Wizard] InstallerQuietTimeout).
const DefaultQuietTimeout = 10 * time.Minute

// Redacted is what a secret shows as in transcripts and messages.
const Redacted = "REDACTED"

// PromptAnswers are the answers-file values the documented prompts take.
type PromptAnswers struct {
	// DirectoryUpgraded: the Directory Server in this server root was already
	// upgraded, so the components are 1, 3 and 4 (appendix C step 5).
	DirectoryUpgraded bool
	// ConfigDirectoryURL is [General] ConfigDirectoryLdapURL (step 7).
	ConfigDirectoryURL string
	// ServiceAdminID and ServiceAdminPwd are the service administrator chosen
	// at the first installation (step 8).
	ServiceAdminID, ServiceAdminPwd string
	// Extra are the operator's own answers ([Wizard] InstallerAnswer) for
	// prompts the documentation does not list.
	Extra []ExtraAnswer
}

// ExtraAnswer is one [Wizard] InstallerAnswer line: "TEXT | ANSWER", answering
// any prompt whose last line contains TEXT (white space collapsed).
type ExtraAnswer struct {
	Text, Answer string
}

// ParseExtraAnswer reads "TEXT | ANSWER" (split at the last "|"; an empty
// ANSWER is Enter alone, the installer's default).
func ParseExtraAnswer(s string) (ExtraAnswer, error) {
	i := strings.LastIndex(s, "|")
	if i < 0 {
		return ExtraAnswer{}, fmt.Errorf("InstallerAnswer %q: write the prompt's text, \"|\" and the answer, e.g. \"Do you agree to the license terms? | yes\"", s)
	}
	text := collapse(s[:i])
	if text == "" {
		return ExtraAnswer{}, fmt.Errorf("InstallerAnswer %q: the prompt's text is empty", s)
	}
	return ExtraAnswer{Text: text, Answer: strings.TrimSpace(s[i+1:])}, nil
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// lastLineRE builds a pattern that must match the prompt's last line (the one
// the cursor waits on), case-insensitively.
func lastLineRE(pat string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|\n)[^\n]*` + pat + `[^\n]*$`)
}

// Documented prompts (rows F-INS-003 to F-INS-006). The upgrade question is quoted
// verbatim by the appendix; the others are matched on the words the appendix
// uses for them, on the line the installer waits on.
var (
	// The top-level components screen lists the appendix's 1, 2, 3 in order
	// (a sub-component screen does not, and is not answered by this row).
	componentsRE = regexp.MustCompile(`(?is)1\.\s*Netscape Server Products Core Components.*\n\s*2\.\s*Netscape Directory Suite.*\n\s*3\.\s*Administration Services.*\n[^\n]*components?[^\n]*$`)
	upgradeRE    = regexp.MustCompile(`(?s)\[1\]\s*Create New\s*\n\s*\[2\]\s*Upgrade\b.*$`)
	configDirRE  = lastLineRE(`configuration directory[^\n]*(?:url|ldap)|(?:url|ldap)[^\n]*configuration directory`)
	adminIDRE    = lastLineRE(`service administrator[^\n]*\b(?:id|user)\b`)
	adminPwdRE   = lastLineRE(`service administrator[^\n]*password`)
)

// InstallerPrompts is the prompt table: the documented prompts first, then the
// operator's own. Each row names its source.
func InstallerPrompts(a PromptAnswers) []Prompt {
	comp := Prompt{Name: "components", Match: componentsRE,
		Source: "appendix C step 5: the default (1, 2, 3, 4) unless the Directory Server was already upgraded"}
	if a.DirectoryUpgraded {
		comp.Answer = "1, 3, 4"
		comp.Source = "appendix C step 5: 1, 3, 4 — the Directory Server was already upgraded ([Wizard] DirectoryUpgraded = yes)"
	}
	url := Prompt{Name: "config-directory-url", Match: configDirRE, Answer: a.ConfigDirectoryURL,
		Source: "appendix C step 7: the LDAP Configuration Directory Server's URL, [General] ConfigDirectoryLdapURL"}
	if a.ConfigDirectoryURL == "" {
		url.Missing = "set [General] ConfigDirectoryLdapURL = ldap://HOST:PORT/o=NetscapeRoot (the configuration directory of the first installation) and rerun"
	}
	id := Prompt{Name: "service-admin-id", Match: adminIDRE, Answer: a.ServiceAdminID,
		Source: "appendix C step 8: the service administrator of the first installation, [MessagingServer] ServiceAdminID"}
	if a.ServiceAdminID == "" {
		id.Missing = "set [MessagingServer] ServiceAdminID to the service administrator chosen at the first installation and rerun"
	}
	pwd := Prompt{Name: "service-admin-password", Match: adminPwdRE, Answer: a.ServiceAdminPwd, Secret: true,
		Source: "appendix C step 8: the service administrator's password, [MessagingServer] ServiceAdminPwd(File)"}
	if a.ServiceAdminPwd == "" {
		pwd.Missing = "set [MessagingServer] ServiceAdminPwdFile = /path/to/0600-file holding the service administrator's password and rerun"
	}
	ps := []Prompt{
		comp,
		{Name: "upgrade-choice", Match: upgradeRE, Answer: "2",
			Source: "appendix C step 6: \"[1] Create New [2] Upgrade\" — choose 2 to upgrade"},
		url, pwd, id,
	}
	for i, x := range a.Extra {
		ps = append(ps, Prompt{Name: fmt.Sprintf("operator-%d", i+1), Match: lastLineRE(collapsedQuote(x.Text)),
			Answer: x.Answer, Source: "[Wizard] InstallerAnswer = " + x.Text + " | " + x.Answer})
	}
	return ps
}

// collapsedQuote quotes text for a pattern in which any run of white space
// matches any other.
func collapsedQuote(text string) string {
	fs := strings.Fields(text)
	for i, f := range fs {
		fs[i] = regexp.QuoteMeta(f)
	}
	return strings.Join(fs, `\s+`)
}

// Outcome kinds of a dialogue.
const (
	OutcomeExited        = "exited"         // the installer ended by itself
	OutcomeUnknownPrompt = "unknown-prompt" // it asked something no row answers
	OutcomeMissing       = "missing-answer" // a documented prompt the answers lack
	OutcomeRepeated      = "repeated-prompt"
	OutcomeCancelled     = "cancelled"
)

// Outcome is how a dialogue ended.
type Outcome struct {
	Kind string `json:"kind"`
	// Prompt is the prompt that stopped the dialogue, verbatim (secrets
	// redacted), for the operator.
	Prompt string `json:"prompt,omitempty"`
	// Row is the table row involved (missing-answer, repeated-prompt).
	Row string `json:"row,omitempty"`
	// Remedy says what the operator adds to the answers.
	Remedy   string   `json:"remedy,omitempty"`
	Answered []string `json:"answered,omitempty"`
}

// Stopped reports whether the wizard stopped the installer at a prompt.
func (o Outcome) Stopped() bool {
	return o.Kind == OutcomeUnknownPrompt || o.Kind == OutcomeMissing || o.Kind == OutcomeRepeated
}

// Dialogue answers an installer's prompts from a table. Out is the installer's
// terminal output, In its terminal input.
type Dialogue struct {
	Prompts []Prompt
	// Settle is how long the output must stay quiet before a recognized
	// prompt is answered (default 300ms).
	Settle time.Duration
	// PromptTimeout is how long a line that looks like a prompt (it ends in
	// ":", "?", "]" or ">") and that no row answers may wait before it stops
	// the run as an unknown prompt (default 30s): a shorter pause is output
	// still coming. A row that answers is not held to it.
	PromptTimeout time.Duration
	// QuietTimeout is how long the installer may print nothing at all, on any
	// line, before the run stops as at an unknown prompt (default 10m): a
	// question that does not end the way looksLikePrompt expects, or a wait
	// for input the installer does not announce, would otherwise hold the
	// run until the command's own timeout kills it (F-INS-008:
	// **assumption**, no installer phase documented as silent that long).
	QuietTimeout time.Duration
	// MaxRepeats stops a row answered this many times in a row: the
	// installer did not take the answer (default 3).
	MaxRepeats int
	// Transcript receives the installer's output line by line and a line per
	// answer, every secret replaced by REDACTED.
	Transcript io.Writer
	// Secrets are redacted from everything written to Transcript or reported.
	Secrets []string
}

// Run converses until the installer's output ends (exited closes when the
// installer has exited; the output is then drained) or a stop. A stop returns
// at once; the caller ends the installer.
func (d *Dialogue) Run(ctx context.Context, out io.Reader, in io.Writer, exited <-chan struct{}) (Outcome, error) {
	settle, wait, maxRep := d.Settle, d.PromptTimeout, d.MaxRepeats
	if settle <= 0 {
		settle = 300 * time.Millisecond
	}
	if wait <= 0 {
		wait = 30 * time.Second
	}
	if maxRep <= 0 {
		maxRep = 3
	}
	quietMax := d.QuietTimeout
	if quietMax <= 0 {
		quietMax = DefaultQuietTimeout
	}
	chunks := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 8192)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				b := make([]byte, n)
				copy(b, buf[:n])
				chunks <- b
			}
			if err != nil {
				readErr <- err
				close(chunks)
				return
			}
		}
	}()

	var (
		oc       Outcome
		block    strings.Builder // output since the last answer
		recent   string          // the last output, answers or not, for a quiet stop
		partial  string          // the unterminated tail not yet in the transcript
		lastOut  = time.Now()
		lastRow  string
		repeats  int
		drainBy  time.Time
		tick     = time.NewTicker(settle / 3)
		exitedCh = exited
	)
	defer tick.Stop()
	emit := func(s string) {
		if d.Transcript != nil && s != "" {
			_, _ = io.WriteString(d.Transcript, d.redact(s))
		}
	}
	note := func(s string) { emit("[mswizard] " + s + "\n") }
	flushPartial := func() {
		if partial != "" {
			emit(partial + "\n")
			partial = ""
		}
	}
	for {
		select {
		case <-ctx.Done():
			flushPartial()
			oc.Kind = OutcomeCancelled
			return oc, ctx.Err()
		case b, ok := <-chunks:
			if !ok {
				flushPartial()
				oc.Kind = OutcomeExited
				if err := <-readErr; err != nil && !errors.Is(err, io.EOF) && !isEIO(err) {
					return oc, fmt.Errorf("read the installer's terminal: %w", err)
				}
				return oc, nil
			}
			s := clean(string(b))
			block.WriteString(s)
			if recent += s; len(recent) > 8192 {
				recent = recent[len(recent)-8192:]
			}
			partial += s
			if i := strings.LastIndexByte(partial, '\n'); i >= 0 {
				emit(partial[:i+1])
				partial = partial[i+1:]
			}
			lastOut = time.Now()
		case <-exitedCh:
			// The installer is gone: what it printed is still to be read,
			// until the terminal reports its end (or a short grace).
			exitedCh = nil
			drainBy = time.Now().Add(2 * time.Second)
		case <-tick.C:
			if !drainBy.IsZero() && time.Now().After(drainBy) {
				flushPartial()
				oc.Kind = OutcomeExited
				return oc, nil
			}
			if !drainBy.IsZero() {
				continue
			}
			tail := partial
			quiet := time.Since(lastOut)
			text := block.String()
			if quiet >= quietMax {
				// Silent past any documented phase, on whatever line: a
				// prompt the wizard cannot see, stopped and shown, never
				// waited out until the command's timeout kills the installer.
				flushPartial()
				last := strings.TrimRight(recent, "\n")
				oc.Kind, oc.Prompt = OutcomeUnknownPrompt, d.redact(shown(last))
				if strings.TrimSpace(last) == "" {
					oc.Prompt = "(the installer printed nothing)"
				}
				oc.Remedy = fmt.Sprintf("the installer printed nothing for %s: if it waits for an answer, add to [Wizard]: InstallerAnswer = %s | ANSWER; if it is only slow, raise [Wizard] InstallerQuietTimeout — then rerun",
					quietMax, collapse(d.redact(lastLine(last))))
				note("stopped: no output for " + fmt.Sprint(quietMax) + " (InstallerQuietTimeout); the installer may be waiting for an answer, and the wizard never guesses")
				return oc, nil
			}
			if strings.TrimSpace(tail) == "" || quiet < settle {
				continue
			}
			row, ok := d.match(text)
			if !ok {
				if looksLikePrompt(tail) && quiet >= wait {
					flushPartial()
					oc.Kind, oc.Prompt = OutcomeUnknownPrompt, d.redact(shown(text))
					oc.Remedy = "if the answer is known, add to [Wizard]: InstallerAnswer = " + collapse(d.redact(lastLine(text))) + " | ANSWER — then rerun"
					note("stopped: no answer for this prompt (" + fmt.Sprint(wait) + " without output); the wizard never guesses")
					return oc, nil
				}
				continue
			}
			if row.Name == lastRow {
				repeats++
			} else {
				lastRow, repeats = row.Name, 1
			}
			flushPartial()
			if row.Missing != "" {
				oc.Kind, oc.Prompt, oc.Row, oc.Remedy = OutcomeMissing, d.redact(shown(text)), row.Name, row.Missing
				note("stopped: prompt " + row.Name + " (" + row.Source + ") has no answer in the answers file")
				return oc, nil
			}
			if repeats > maxRep {
				oc.Kind, oc.Prompt, oc.Row = OutcomeRepeated, d.redact(shown(text)), row.Name
				oc.Remedy = fmt.Sprintf("the installer asked %q %d times: it does not take the answer from %s; check that answer", row.Name, repeats, row.Source)
				note("stopped: prompt " + row.Name + " asked again after the answer")
				return oc, nil
			}
			shownAnswer := row.Answer
			if row.Secret {
				shownAnswer = Redacted
			}
			if shownAnswer == "" {
				shownAnswer = "(Enter: the installer's default)"
			}
			note(fmt.Sprintf("prompt %s (%s): answering %s", row.Name, row.Source, shownAnswer))
			if _, err := io.WriteString(in, row.Answer+"\r"); err != nil {
				return oc, fmt.Errorf("answer prompt %s: %w", row.Name, err)
			}
			oc.Answered = append(oc.Answered, row.Name)
			block.Reset()
			lastOut = time.Now()
		}
	}
}

// match finds the row answering text: the first that matches.
func (d *Dialogue) match(text string) (Prompt, bool) {
	for _, p := range d.Prompts {
		if p.Match != nil && p.Match.MatchString(text) {
			return p, true
		}
	}
	return Prompt{}, false
}

func (d *Dialogue) redact(s string) string {
	for _, sec := range d.Secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// looksLikePrompt: a line waiting for input ends in ":", "?", "]", ">" or ")".
func looksLikePrompt(tail string) bool {
	t := strings.TrimSpace(tail)
	return t != "" && strings.ContainsAny(t[len(t)-1:], ":?]>)")
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// shown is the prompt as the operator sees it: its last 24 lines.
func shown(text string) string {
	ls := strings.Split(strings.Trim(text, "\n"), "\n")
	if len(ls) > 24 {
		ls = ls[len(ls)-24:]
	}
	return strings.Join(ls, "\n")
}

// escRE matches terminal control sequences an installer may print: CSI, OSC
// (ended by BEL or ST) and two-byte escapes.
var escRE = regexp.MustCompile(`\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])`)

// clean turns terminal output into text: carriage returns and control
// sequences go (a CRLF split across two reads stays one newline).
func clean(s string) string {
	s = escRE.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r", "")
}
