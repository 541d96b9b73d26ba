package main

import (
	"fmt"
	"strings"

	"mswizard/wizard"
)

// stepNode is the node a step acts on ("" for the upgrade's own steps, which
// act on the host the wizard runs on).
func stepNode(s wizard.Step) string {
	return wizard.Describe(s).Node
}

// nodeOrder lists the nodes the steps act on, in the order they first act.
func nodeOrder(steps []wizard.Step) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range steps {
		if n := stepNode(s); n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// perNode counts a node's steps by state: "12 done, 1 in-doubt, 30 pending".
func perNode(steps []statusStep, node string) string {
	counts := map[wizard.StepState]int{}
	var order []wizard.StepState
	for _, x := range steps {
		if x.Node != node {
			continue
		}
		if counts[x.State] == 0 {
			order = append(order, x.State)
		}
		counts[x.State]++
	}
	var parts []string
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
	}
	return strings.Join(parts, ", ")
}
