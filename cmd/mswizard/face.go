package main

import (
	"context"
	"os"
)

// useTUI says whether the interactive face runs: only when stdin and stdout are
// terminals and the output is text.
func useTUI(c *common) bool {
	return c.output == "text" && isTerminal(os.Stdin) && isTerminal(os.Stdout) && os.Getenv("TERM") != ""
}

// runTUI runs the interactive face over the same engine as the batch face.
func runTUI(ctx context.Context, s *session, c *common) error {
	return usagef("the interactive face is not available in this build; use --answers with no terminal, or --output json")
}
