package host

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeInstaller asks each prompt in turn on a pipe and records the line typed
// back (up to the "\r" the dialogue sends), then ends its output.
type fakeInstaller struct {
	out     *io.PipeWriter // what it prints
	in      *bufio.Reader  // what it reads
	answers []string
	done    chan struct{}
}

func startFake(t *testing.T, d *Dialogue, prompts ...string) (*fakeInstaller, Outcome, error) {
	t.Helper()
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	f := &fakeInstaller{out: outW, in: bufio.NewReader(inR), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer outW.Close()
		for _, p := range prompts {
			if _, err := io.WriteString(outW, p); err != nil {
				return
			}
			line, err := f.in.ReadString('\r')
			if err != nil {
				return
			}
			f.answers = append(f.answers, strings.TrimSuffix(line, "\r"))
			io.WriteString(outW, "\r\n") // the terminal's newline after the answer
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oc, err := d.Run(ctx, outR, inW, nil)
	inR.Close()
	outR.Close()
	<-f.done
	return f, oc, err
}

func quick(ps []Prompt, transcript io.Writer, secrets ...string) *Dialogue {
	return &Dialogue{Prompts: ps, Settle: 30 * time.Millisecond, PromptTimeout: 400 * time.Millisecond, Transcript: transcript, Secrets: secrets}
}

const upgradeQuestion = "This machine has a Messaging Server instance installed already. Please choose below whether you want to upgrade the existing server instance or create a new server instance.\n\n" +
	"If you choose to create a new server instance, the configuration for the existing server instance will not be touched. If you choose to upgrade the existing server instance, any missing configuration will be detected and the configuration will be repaired if necessary.\n\n" +
	"   [1]  Create New\n   [2]  Upgrade\n\nPlease enter your choice [1-2]: "

const componentsScreen = "iPlanet Server Products components:\n\n" +
	"    1. Netscape Server Products Core Components (3)\n    2. Netscape Directory Suite (2)\n" +
	"    3. Administration Services (2)\n    4. Messaging Server Components (5)\n\n" +
	"Specify the components you wish to install [All]: "

func TestEveryDocumentedPromptIsAnsweredFromItsSource(t *testing.T) {
	all := PromptAnswers{ConfigDirectoryURL: "ldap://ldap.siroe.com:389/o=NetscapeRoot", ServiceAdminID: "msgadmin", ServiceAdminPwd: "pw-1"}
	upgraded := all
	upgraded.DirectoryUpgraded = true
	cases := []struct {
		name   string
		a      PromptAnswers
		prompt string
		row    string
		want   string
	}{
		{"step 5: the default components when the Directory Server was not upgraded", all, componentsScreen, "components", ""},
		{"step 5: 1, 3, 4 when the Directory Server was upgraded first", upgraded, componentsScreen, "components", "1, 3, 4"},
		{"step 6: 2, upgrade, to the verbatim question", all, upgradeQuestion, "upgrade-choice", "2"},
		{"step 7: the configuration directory URL", all, "\nLDAP Configuration Directory Server URL [ldap://old:389/o=NetscapeRoot]: ", "config-directory-url", all.ConfigDirectoryURL},
		{"step 8: the service administrator's ID", all, "\nService Administrator ID [msgadmin]: ", "service-admin-id", "msgadmin"},
		{"step 8: the service administrator's password", all, "Service Administrator Password: ", "service-admin-password", "pw-1"},
		{"an operator's InstallerAnswer answers its prompt", PromptAnswers{Extra: []ExtraAnswer{{Text: "Install the   Messaging Multiplexor?", Answer: "no"}}},
			"Install the Messaging Multiplexor? [No]: ", "operator-1", "no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, oc, err := startFake(t, quick(InstallerPrompts(c.a), nil), c.prompt)
			if err != nil || oc.Kind != OutcomeExited {
				t.Fatalf("outcome %+v, %v", oc, err)
			}
			if len(f.answers) != 1 || f.answers[0] != c.want {
				t.Fatalf("typed %q, want %q", f.answers, c.want)
			}
			if len(oc.Answered) != 1 || oc.Answered[0] != c.row {
				t.Errorf("answered rows %v, want %s", oc.Answered, c.row)
			}
		})
	}
}

func TestTheWholeDocumentedDialogueInOrder(t *testing.T) {
	var tr strings.Builder
	a := PromptAnswers{ConfigDirectoryURL: "ldap://c:389/o=NetscapeRoot", ServiceAdminID: "msgadmin", ServiceAdminPwd: "pw-2"}
	f, oc, err := startFake(t, quick(InstallerPrompts(a), &tr, a.ServiceAdminPwd), componentsScreen, "\n"+upgradeQuestion,
		"\nLDAP Configuration Directory Server URL [x]: ", "\nService Administrator ID [msgadmin]: ", "Service Administrator Password: ")
	if err != nil || oc.Kind != OutcomeExited {
		t.Fatalf("outcome %+v, %v", oc, err)
	}
	want := []string{"", "2", "ldap://c:389/o=NetscapeRoot", "msgadmin", "pw-2"}
	if strings.Join(f.answers, "|") != strings.Join(want, "|") {
		t.Fatalf("typed %q, want %q", f.answers, want)
	}
	if strings.Contains(tr.String(), "pw-2") || !strings.Contains(tr.String(), "answering REDACTED") {
		t.Errorf("the transcript shows the password or does not say it was redacted:\n%s", tr.String())
	}
}

func TestAnUnknownPromptStopsAfterItsTimeoutAndIsShownVerbatim(t *testing.T) {
	var tr strings.Builder
	start := time.Now()
	f, oc, err := startFake(t, quick(InstallerPrompts(PromptAnswers{}), &tr), "Some text first.\nDo you agree to the license terms? [No]: ")
	if err != nil {
		t.Fatal(err)
	}
	if oc.Kind != OutcomeUnknownPrompt || !oc.Stopped() {
		t.Fatalf("outcome %+v, want an unknown-prompt stop", oc)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond {
		t.Errorf("stopped after %s, before the prompt timeout", waited)
	}
	if oc.Prompt != "Some text first.\nDo you agree to the license terms? [No]: " {
		t.Errorf("prompt shown as %q", oc.Prompt)
	}
	if len(f.answers) != 0 {
		t.Errorf("typed %q to an unknown prompt", f.answers)
	}
	if !strings.Contains(oc.Remedy, "InstallerAnswer = Do you agree to the license terms? [No]: | ANSWER") {
		t.Errorf("remedy %q", oc.Remedy)
	}
	if !strings.Contains(tr.String(), "Do you agree to the license terms? [No]: \n[mswizard] stopped") {
		t.Errorf("transcript:\n%s", tr.String())
	}
}

func TestOutputThatPausesShorterThanTheTimeoutIsNotAPrompt(t *testing.T) {
	outR, outW := io.Pipe()
	go func() {
		io.WriteString(outW, "Extracting files: ")
		time.Sleep(200 * time.Millisecond) // under the 400ms prompt timeout
		io.WriteString(outW, "done\r\n")
		outW.Close()
	}()
	oc, err := quick(InstallerPrompts(PromptAnswers{}), nil).Run(context.Background(), outR, io.Discard, nil)
	if err != nil || oc.Kind != OutcomeExited {
		t.Fatalf("outcome %+v, %v; want the run to go on to the end", oc, err)
	}
}

func TestASubComponentScreenIsNotTakenForTheComponentsQuestion(t *testing.T) {
	sub := "Netscape Server Products Core Components components:\n\n    1. Netscape Core Components\n    2. Netscape Console\n\nSpecify the components you wish to install [1, 2]: "
	f, oc, err := startFake(t, quick(InstallerPrompts(PromptAnswers{DirectoryUpgraded: true}), nil), sub)
	if err != nil || oc.Kind != OutcomeUnknownPrompt || len(f.answers) != 0 {
		t.Fatalf("outcome %+v, typed %q, %v; want an unknown prompt", oc, f.answers, err)
	}
}

func TestADocumentedPromptWithoutItsAnswerStops(t *testing.T) {
	f, oc, err := startFake(t, quick(InstallerPrompts(PromptAnswers{}), nil), "LDAP Configuration Directory Server URL [ldap://x/o=NetscapeRoot]: ")
	if err != nil || oc.Kind != OutcomeMissing || oc.Row != "config-directory-url" || !strings.Contains(oc.Remedy, "ConfigDirectoryLdapURL") {
		t.Fatalf("outcome %+v, %v", oc, err)
	}
	if len(f.answers) != 0 {
		t.Errorf("typed %q", f.answers)
	}
}

func TestAPromptAskedAgainAndAgainStops(t *testing.T) {
	q := "\"3\" is not a valid choice.\n" + upgradeQuestion
	_, oc, err := startFake(t, quick(InstallerPrompts(PromptAnswers{}), nil), upgradeQuestion, q, q, q, q)
	if err != nil || oc.Kind != OutcomeRepeated || oc.Row != "upgrade-choice" {
		t.Fatalf("outcome %+v, %v", oc, err)
	}
}

func TestParseExtraAnswer(t *testing.T) {
	for in, want := range map[string]ExtraAnswer{
		"Do you agree?   | yes":       {Text: "Do you agree?", Answer: "yes"},
		"Pick [a|b]: | a":             {Text: "Pick [a|b]:", Answer: "a"},
		"Press Enter to continue: | ": {Text: "Press Enter to continue:", Answer: ""},
	} {
		got, err := ParseExtraAnswer(in)
		if err != nil || got != want {
			t.Errorf("ParseExtraAnswer(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"no separator", " | yes"} {
		if _, err := ParseExtraAnswer(bad); err == nil {
			t.Errorf("ParseExtraAnswer(%q) took it", bad)
		}
	}
}

// TestTheSupervisorRunsTheInstallerOnAPtyAndNeverWritesTheSecret runs a
// shell-script installer on a real pseudo-terminal (echo on, so the typed
// password comes back in the output) through Supervise.
func TestTheSupervisorRunsTheInstallerOnAPtyAndNeverWritesTheSecret(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "setup")
	os.WriteFile(script, []byte("#!/bin/sh\n"+
		"printf 'This machine has a Messaging Server instance installed already.\\n\\n   [1]  Create New\\n   [2]  Upgrade\\n\\nPlease enter your choice [1-2]: '\n"+
		"read choice\n"+
		"printf 'Service Administrator Password: '\n"+
		"read pw\n"+
		"echo \"choice=$choice pw=$pw\"\n"+
		"[ -t 0 ] && echo on-a-terminal\n"+
		"exit 0\n"), 0o755)
	const secret = "Pw-s3cret-9"
	ps, secrets := SpecPrompts(InstallerPrompts(PromptAnswers{ServiceAdminPwd: secret}))
	spec := InstallerSpec{Nonce: "n1", Argv: []string{script, "-k"}, Prompts: ps, Settle: 50 * time.Millisecond, PromptTimeout: time.Second,
		Transcript: filepath.Join(dir, "installer.transcript"), Result: filepath.Join(dir, "result.json"), Lock: filepath.Join(dir, "installer.lock")}
	b, _ := json.Marshal(spec)
	specPath := filepath.Join(dir, "spec.json")
	os.WriteFile(specPath, b, 0o600)
	if strings.Contains(string(b), secret) {
		t.Fatal("the spec on disk holds the secret")
	}
	in, _ := json.Marshal(secrets)
	var live strings.Builder
	code := Supervise(context.Background(), specPath, strings.NewReader(string(in)), &live)
	if code != 0 {
		t.Fatalf("Supervise = %d\n%s", code, live.String())
	}
	tr, _ := os.ReadFile(spec.Transcript)
	for name, s := range map[string]string{"transcript": string(tr), "live output": live.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("the %s holds the password:\n%s", name, s)
		}
		if !strings.Contains(s, "choice=2 pw=REDACTED") || !strings.Contains(s, "on-a-terminal") {
			t.Errorf("the %s lacks the installer's own lines:\n%s", name, s)
		}
	}
	if fi, err := os.Stat(spec.Transcript); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("transcript mode: %v %v", fi, err)
	}
	res, err := ReadInstallerResult(spec.Result)
	if err != nil || res == nil || res.Nonce != "n1" || res.ExitCode != 0 || res.Outcome.Kind != OutcomeExited ||
		strings.Join(res.Outcome.Answered, ",") != "upgrade-choice,service-admin-password" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if running, _, err := SupervisorRunning(spec.Lock); err != nil || running {
		t.Errorf("the lock is still held after the run: %v %v", running, err)
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"iPlanet Messaging Server 5.2 HotFix 1.16 (built May 14 2003)":      "5.2",
		"iPlanet Messaging Server 5.1":                                      "5.1",
		"Sun Java(tm) System Messaging Server 6.2-3.04 (built Jul 15 2005)": "6.2",
		"5.2":                          "5.2",
		"iPlanet Messaging Server":     "",
		"Messaging Server 5.21x":       "",
		"libimta.so 5.2 (built 19:01)": "",
	} {
		if got := ParseVersion(in); got != want {
			t.Errorf("ParseVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadVersionFailsSafe(t *testing.T) {
	root := t.TempDir()
	say := func(out string, err error) VersionRunner {
		return VersionRunnerFunc(func(context.Context, string) (string, error) { return out, err })
	}
	if v := ReadVersion(context.Background(), say("iPlanet Messaging Server 5.1 (built x)\nlibimta.so 5.1\n", nil), root, "b"); !v.Is("5.1") {
		t.Errorf("plain report: %+v", v)
	}
	if v := ReadVersion(context.Background(), say("", io.ErrUnexpectedEOF), root, "b"); v.Known() || v.Is("5.1") {
		t.Errorf("a failing imsimta gave %+v", v)
	}
	if v := ReadVersion(context.Background(), say("garbage", nil), root, "b"); v.Known() {
		t.Errorf("an unreadable line gave %+v", v)
	}
	os.MkdirAll(filepath.Join(root, "setup"), 0o755)
	os.WriteFile(SetupInf(root), []byte("[General]\nVersion = 9.9\n\n[MessagingServer]\nVersion = 5.2\n"), 0o644)
	if v := ReadVersion(context.Background(), say("iPlanet Messaging Server 5.1", nil), root, "b"); v.Known() || !strings.Contains(v.Why, "records 5.2") {
		t.Errorf("a disagreeing setup/install.inf gave %+v", v)
	}
	if v := ReadVersion(context.Background(), say("iPlanet Messaging Server 5.2", nil), root, "b"); !v.Is("5.2") || v.SetupInf != "5.2" {
		t.Errorf("agreeing records gave %+v", v)
	}
}

func TestTerminalControlSequencesAreNoPartOfAPrompt(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b]11;?\x1b\\Name: ":        "Name: ",
		"\x1b]0;title\x07Name: ":       "Name: ",
		"\x1b[1mBold\x1b[0m\r\nnext: ": "Bold\nnext: ",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnInstallerSilentPastTheQuietTimeoutStopsAsAnUnknownPrompt(t *testing.T) {
	for _, tc := range []struct{ name, out string }{
		{"after a line that is no prompt", "Installing the Messaging Server components\nPress the key you like to go on\n"},
		{"on a tail that does not look like a prompt", "Preparing the upgrade\nhit enter when ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr strings.Builder
			d := quick(InstallerPrompts(PromptAnswers{}), &tr)
			d.QuietTimeout = 500 * time.Millisecond
			start := time.Now()
			f, oc, err := startFake(t, d, tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < d.QuietTimeout || waited > 5*time.Second {
				t.Errorf("stopped after %s; want the quiet timeout %s, not the command's", waited, d.QuietTimeout)
			}
			if oc.Kind != OutcomeUnknownPrompt || !oc.Stopped() {
				t.Fatalf("outcome %+v, want an unknown-prompt stop (exit 3)", oc)
			}
			if want := strings.TrimRight(tc.out, "\n"); oc.Prompt != want {
				t.Errorf("last lines shown as %q, want %q verbatim", oc.Prompt, want)
			}
			if len(f.answers) != 0 {
				t.Errorf("typed %q while the installer was silent", f.answers)
			}
			if !strings.Contains(oc.Remedy, "InstallerQuietTimeout") || !strings.Contains(oc.Remedy, "InstallerAnswer = ") {
				t.Errorf("remedy %q", oc.Remedy)
			}
			if !strings.Contains(tr.String(), strings.TrimRight(tc.out, "\n")+"\n[mswizard] stopped: no output for 500ms") {
				t.Errorf("transcript:\n%s", tr.String())
			}
		})
	}
}
