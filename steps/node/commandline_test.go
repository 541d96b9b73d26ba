package node

import (
	"strings"
	"testing"
)

// The exec request's string becomes the node's login shell's argv (ps -ef
// shows it until the shell execs the command): environment values go to
// stdin, never into it.
func TestCommandLineKeepsEnvValuesOutOfTheExecRequest(t *testing.T) {
	secret := "pw-'\"$(reboot)`x` \\ end"
	line, stdin, err := commandLine(Command{Argv: []string{"/opt/GroupMail/bin/GM_SETUP", "-q"}, Env: []string{"GM_PW=" + secret, "B=2"}, Dir: "/var/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, "pw-") || strings.Contains(line, "B=2") {
		t.Errorf("the exec request holds an environment value: %s", line)
	}
	if stdin != secret+"\n2\n" {
		t.Errorf("stdin %q", stdin)
	}
	want := "cd /var/tmp && IFS= read -r GM_PW && export GM_PW && IFS= read -r B && export B && exec /opt/GroupMail/bin/GM_SETUP -q"
	if line != want {
		t.Errorf("exec request\n got %s\nwant %s", line, want)
	}
	if line, stdin, _ := commandLine(Command{Argv: []string{"true"}}); line != "exec true" || stdin != "" {
		t.Errorf("without env: %q %q", line, stdin)
	}
}
