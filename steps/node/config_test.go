package node_test

import (
	"strings"
	"testing"
	"time"

	"mswizard/steps/node"
	"mswizard/wizard/answers"
)

func parseNodes(t *testing.T, body string) ([]node.Config, answers.Problems) {
	t.Helper()
	f, err := answers.Parse("install.inf", []byte(body))
	if err != nil {
		t.Fatalf("syntax: %v", err)
	}
	return node.ParseNodes(f)
}

func TestParseNodesReadsEveryFieldInOrder(t *testing.T) {
	cs, probs := parseNodes(t, `[General]
FullMachineName = gmaxhost
[Nodes]
# node 1 is the primary, node 2 the standby (seed 002)
node1 = address=172.1.1.1:2222 user=root key=/root/.ssh/id_ed25519 known_hosts=/etc/mswizard/known_hosts
node2 = address=172.1.1.2 user=root agent=yes known_hosts=/etc/mswizard/known_hosts connect_timeout=5s keepalive=3s
`)
	if probs != nil {
		t.Fatal(probs)
	}
	want := []node.Config{
		{Name: "node1", Address: "172.1.1.1:2222", User: "root", KeyFile: "/root/.ssh/id_ed25519", KnownHosts: "/etc/mswizard/known_hosts", File: "install.inf", Line: 5},
		{Name: "node2", Address: "172.1.1.2:22", User: "root", Agent: true, KnownHosts: "/etc/mswizard/known_hosts", ConnectTimeout: 5 * time.Second, KeepAlive: 3 * time.Second, File: "install.inf", Line: 6},
	}
	if len(cs) != 2 || cs[0] != want[0] || cs[1] != want[1] {
		t.Fatalf("got %+v\nwant %+v", cs, want)
	}
}

func TestParseNodesReportsEveryProblemWithItsLine(t *testing.T) {
	_, probs := parseNodes(t, `[Nodes]
local = address=h user=root key=/k known_hosts=/kh
node1 = address=h:99999 user=root key=relative known_hosts=/kh
node2 = address=h user=root key=/k agent=yes known_hosts=/kh
node3 = address=h user=root key=/k password=secret known_hosts=/kh
node4 = address=h user=root key=/k
node5 = adress=h user=root key=/k known_hosts=/kh
node1 = address=h user=root key=/k known_hosts=/kh
`)
	got := probs.Error()
	for _, want := range []string{
		`install.inf:2: [Nodes] local: "local" is reserved`,
		`install.inf:3: [Nodes] node1: address "h:99999"`,
		`install.inf:3: [Nodes] node1: key "relative": give an absolute path`,
		`install.inf:4: [Nodes] node2: give key= or agent=yes, not both`,
		`install.inf:5: [Nodes] node3: password: passwords are not accepted`,
		`install.inf:6: [Nodes] node4: known_hosts= is missing (host keys are always checked)`,
		`install.inf:7: [Nodes] node5: unknown field "adress"`,
		`install.inf:8: [Nodes] node "node1" is named twice (first at line 3)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret") {
		t.Errorf("a password value is echoed back:\n%s", got)
	}
}
