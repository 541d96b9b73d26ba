package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// sgrColor matches an SGR sequence that sets a colour (30-37, 90-97, 38;5,
// 38;2 and their backgrounds): what NO_COLOR (https://no-color.org) forbids.
var sgrColor = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-8]|9[0-7]|4[0-8]|10[0-7])(;[0-9;]*)?m`)

// terminalNeutralEnv is the test's environment without the variables that
// decide colour on their own: NO_COLOR, CLICOLOR, CLICOLOR_FORCE, COLORTERM,
// TERM, TERM_PROGRAM, and CI (termenv treats any CI as "not a terminal"), so
// each case states the variables it is about and a CI runner's own settings
// do not change what the program draws.
func terminalNeutralEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLORTERM", "TERM", "TERM_PROGRAM", "CI":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// onTerminal runs the binary on a pseudo-terminal for a while with env added,
// answering the terminal queries a real terminal answers (background colour,
// cursor position) so the program does not wait for them, and returns what
// it drew.
func onTerminal(t *testing.T, bin string, env []string, wait time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(terminalNeutralEnv(), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				chunk := buf[:n]
				mu.Lock()
				out.Write(chunk)
				mu.Unlock()
				if bytes.Contains(chunk, []byte("\x1b]11;?")) {
					f.Write([]byte("\x1b]11;rgb:0000/0000/0000\x1b\\"))
				}
				if bytes.Contains(chunk, []byte("\x1b[6n")) {
					f.Write([]byte("\x1b[1;1R"))
				}
			}
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(wait)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	f.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return out.String()
}

// TestPlainOutput: a piped stdout, NO_COLOR and TERM=dumb each give output
// without colour; a piped stdout and TERM=dumb without any escape sequence.
func TestPlainOutput(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	t.Run("a piped stdout carries no escape sequence", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {"upgrade", "--help"}, {"answers", "template"}, {"version"}, {"upgrade"}} {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "TERM=xterm-256color", "CLICOLOR_FORCE=1")
			out, _ := cmd.CombinedOutput()
			if bytes.ContainsRune(out, 0x1b) || len(out) == 0 {
				t.Errorf("mswizard %s piped: %q", strings.Join(args, " "), out)
			}
		}
	})
	t.Run("TERM=dumb on a terminal asks in plain lines", func(t *testing.T) {
		out := onTerminal(t, bin, []string{"TERM=dumb"}, 3*time.Second, "upgrade")
		if !strings.Contains(out, "No answers file was given") {
			t.Fatalf("no answers form on a dumb terminal:\n%q", out)
		}
		if strings.ContainsRune(out, 0x1b) {
			t.Errorf("escape sequences on a dumb terminal:\n%q", out)
		}
	})
	t.Run("NO_COLOR on a terminal draws without colour", func(t *testing.T) {
		out := onTerminal(t, bin, []string{"TERM=xterm-256color", "NO_COLOR=1"}, 3*time.Second, "upgrade")
		if !strings.Contains(out, "ServerRoot") {
			t.Fatalf("the answers form was not drawn:\n%q", out)
		}
		if m := sgrColor.FindString(out); m != "" {
			t.Errorf("colour %q despite NO_COLOR:\n%q", m, out)
		}
		// The same screen with colours allowed does colour: the check above
		// can see colour when there is some.
		coloured := onTerminal(t, bin, []string{"TERM=xterm-256color", "COLORTERM=truecolor"}, 3*time.Second, "upgrade")
		if !sgrColor.MatchString(coloured) {
			t.Errorf("no colour even without NO_COLOR; the test cannot tell:\n%q", coloured)
		}
	})
}
