package runbook

import (
	"strings"
	"testing"

	"mswizard/steps/node"
	"mswizard/wizard/answers"
)

const nodesBook = `id: two-nodes
title: across nodes
answers:
  setup:
    type: choice
    choices: [new, existing]
    help: which path
  mail:
    type: bool
    default: "false"
    help: mail server too
steps:
  - id: a
    title: on node2 first
    node: node2
    when: "setup == new"
    run: {argv: ["true"]}
  - id: b
    title: on each node
    node: each
    run: {argv: ["true"]}
  - id: m
    title: mail only
    node: node1
    when: "setup == new and mail"
    run: {argv: ["true"]}
  - id: x
    title: existing only
    when: "not mail and setup != new"
    run: {argv: ["true"]}
`

func TestStepsAcrossNodesAndWhen(t *testing.T) {
	rb, err := Parse("two-nodes.yaml", []byte(nodesBook))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, answers, want string
	}{
		{"each walks [Nodes] in order; a false when leaves its step out", "setup = new\nmail = false\n", "a b/node1 b/node2"},
		{"clauses joined by and all hold", "setup = new\nmail = true\n", "a b/node1 b/node2 m"},
		{"not and != select the other path", "setup = existing\n", "b/node1 b/node2 x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inf := "[two-nodes]\n" + tc.answers + "[Nodes]\nnode1 = address=h1 user=root key=/k known_hosts=/kh\nnode2 = address=h2 user=root key=/k known_hosts=/kh\n"
			f, err := answers.Parse("install.inf", []byte(inf))
			if err != nil {
				t.Fatal(err)
			}
			v, err := valuesFrom(rb, f, "/", 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Nodes) != 2 || v.Nodes[0].Name != "node1" {
				t.Fatalf("nodes %+v", v.Nodes)
			}
			nodes := map[string]node.Node{"local": node.Local{}, "node1": node.Local{}, "node2": node.Local{}}
			steps, err := Build(rb, v, Options{StateDir: t.TempDir(), Nodes: nodes, Order: []string{"node1", "node2"}})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range steps {
				ids = append(ids, s.ID())
			}
			if strings.Join(ids, " ") != tc.want {
				t.Errorf("steps %v, want %s", ids, tc.want)
			}
		})
	}
}

func TestNodesProblemsAreReportedWithFileAndLine(t *testing.T) {
	rb, err := Parse("two-nodes.yaml", []byte(nodesBook))
	if err != nil {
		t.Fatal(err)
	}
	f, err := answers.Parse("install.inf", []byte("[two-nodes]\nsetup = new\n[Nodes]\nnode1 = address=h1 user=root key=/k\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = valuesFrom(rb, f, "/", 0o600)
	got := ""
	if err != nil {
		got = err.Error()
	}
	for _, want := range []string{"install.inf:4: [Nodes] node1: known_hosts= is missing", "install.inf:3: runbook two-nodes acts on node node2 (step a): name it in [Nodes]"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestWhenNamingNoAnswerIsAParseError(t *testing.T) {
	bad := strings.Replace(nodesBook, `when: "setup == new and mail"`, `when: "setup == old and mial"`, 1)
	_, err := Parse("two-nodes.yaml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`two-nodes.yaml:25: when "setup == old and mial": setup is one of new, existing, never "old"`, `mial names no answer of this runbook; did you mean "mail"?`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}
