package wizard

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"mswizard/wizard/lines"
)

// A child's output must not hang on a pipe to the wizard: were the wizard
// killed, the next line an installer writes would kill it with SIGPIPE,
// half-way. Output still reaches the live writer and the receipt's tail.
func TestOSExecerChildOutputIsNotAPipeAndIsFollowed(t *testing.T) {
	var live bytes.Buffer
	res, err := OSExecer{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c",
		`if test -p /dev/stdout; then echo pipe; else echo file; fi; sleep 0.2; echo done >&2`}, Output: &live})
	if err != nil {
		t.Fatal(err)
	}
	if got := live.String(); got != "file\ndone\n" {
		t.Fatalf("live output %q, want the child writing to a file and both lines followed", got)
	}
	if res.Tail != "file\ndone\n" {
		t.Fatalf("tail %q", res.Tail)
	}
}

func TestOSExecerRules(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		cmd     Command
		wantErr string
		wantOut string
	}{
		{"a non-zero exit is an ExitError naming the command and its last line",
			context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "echo first; echo 'it broke' >&2; exit 3"}},
			"/bin/sh -c 'echo first; echo '\\''it broke'\\'' >&2; exit 3': exit status 3: it broke", ""},
		{"a command past its timeout is ended and says so",
			context.Background(), Command{Path: "/bin/sleep", Args: []string{"30"}, Timeout: 200 * time.Millisecond},
			"timed out after 200ms", ""},
		{"a cancelled context does not start the command",
			cancelled, Command{Path: "/bin/echo", Args: []string{"x"}}, "not started", ""},
		{"secrets travel on stdin, not argv",
			context.Background(), Command{Path: "/bin/cat", Stdin: []byte("s3cret\n")}, "", "s3cret\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := OSExecer{Grace: time.Second}.Run(c.ctx, c.cmd)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || res.Tail != c.wantOut {
				t.Fatalf("err %v, output %q", err, res.Tail)
			}
		})
	}
}

// House rule 2: an operator's interrupt is honoured between actions; a command
// already running (a stop script, the installer) is allowed to finish.
func TestOSExecerLetsARunningCommandFinishWhenTheContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := OSExecer{}.Run(ctx, Command{Path: "/bin/sh", Args: []string{"-c", "sleep 0.4; echo finished"}})
	if err != nil || res.Tail != "finished\n" || res.ExitCode != 0 {
		t.Fatalf("err %v, tail %q: the command was cut short", err, res.Tail)
	}
}

func TestShellQuote(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		want string
	}{
		{"plain words stay bare", []string{"/opt/msg/stop-msg", "imap"}, "/opt/msg/stop-msg imap"},
		{"spaces and quotes are single-quoted", []string{"echo", "it's here"}, `echo 'it'\''s here'`},
		{"an empty argument is kept visible", []string{"x", ""}, "x ''"},
		{"LDAP filters are quoted", []string{"-b", "o=siroe.com", "(objectclass=*)"}, "-b o=siroe.com '(objectclass=*)'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ShellQuote(c.argv...); got != c.want {
				t.Fatalf("ShellQuote(%q) = %s, want %s", c.argv, got, c.want)
			}
		})
	}
}

// A command's output reaches a face as whole lines, even when the child
// writes a line in pieces, and its last line without a newline is handed over
// when the output ends (wizard/lines, flushed by the runner).
func TestOSExecerHandsWholeLinesAndTheLastPartialOne(t *testing.T) {
	var got []string
	w := lines.New(func(l string) { got = append(got, l) })
	_, err := OSExecer{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c",
		`printf 'Stopping wat'; sleep 0.2; printf 'cher ... stopped\nlast line, no newline'`}, Output: w})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Stopping watcher ... stopped", "last line, no newline"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", got, want)
	}
}
