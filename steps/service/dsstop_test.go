package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard"
)

// post/start's undo stops what it started with the Administration Server
// last, and a Directory Server of the server root (Config.DirectoryStop)
// between the Messaging Server and it, as the appendix's backout stops them;
// an undo that stops no Administration Server leaves the directory to its own
// step.
func TestTheStartsUndoStopsTheDirectoryBetweenMessagingAndAdmin(t *testing.T) {
	h := newHost(t)
	ctx, env := t.Context(), h.env()
	receipt := func(d opData) wizard.Receipt {
		b, _ := json.Marshal(d)
		return wizard.Receipt{Step: IDStart, Data: b}
	}
	const dsStop = "SERVER-ROOT/slapd-budgie/stop-slapd"
	cases := []struct {
		name     string
		receipts []wizard.Receipt
		want     []string // summaries, in order, abbreviated to what they stop
	}{
		{"with the Administration Server started: messaging, directory, admin",
			[]wizard.Receipt{receipt(opData{Op: "msg", Units: []string{"imap"}}), receipt(opData{Op: "admin", Units: []string{AdminUnit}})},
			[]string{"stop-msg", dsStop, "stop-admin"}},
		{"without it: messaging only, the directory left to its own step",
			[]wizard.Receipt{receipt(opData{Op: "msg", Units: []string{"imap"}})},
			[]string{"stop-msg"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.config()
			c.DirectoryStop = func(context.Context, *wizard.Env) ([]wizard.Action, error) {
				return []wizard.Action{{Summary: dsStop}}, nil
			}
			acts, err := Start(c).Undo(ctx, env, tc.receipts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range acts {
				for _, w := range []string{"stop-msg", dsStop, "stop-admin"} {
					if strings.Contains(a.Summary, w) {
						got = append(got, w)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("undo stops %q, want %q (summaries %q)", got, tc.want, summaries(acts))
			}
		})
	}
}
