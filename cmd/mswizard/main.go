// Command mswizard walks a mail-server operator through upgrading an iPlanet /
// Sun ONE Messaging Server and backing it out, as one journaled runbook.
//
// Only main decides exit codes (README "Exit codes").
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"mswizard/backup"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitStepFailed  = 1
	exitUsage       = 2
	exitDecision    = 3
	exitLocked      = 4
	exitVerify      = 5
	exitInterrupted = 130
)

func main() {
	// SIGINT, SIGTERM and SIGHUP end the run at the next safe point: between
	// actions, never in the middle of a stop script or the installer.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	code := exitCode(ctx, err)
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintf(os.Stderr, "mswizard: %v\n", err)
	}
	stop()
	os.Exit(code)
}

// exitCode maps an error to the documented exit code.
func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var (
		usage     *usageError
		probs     answers.Problems
		decision  *wizard.DecisionError
		locked    *journal.LockedError
		verifyErr *backup.VerifyError
		verifyFl  *verifyFailed
		pinErr    *wizard.PinError
	)
	switch {
	case errors.Is(err, wizard.ErrInterrupted), ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &usage), errors.As(err, &probs), errors.As(err, &pinErr):
		return exitUsage
	case errors.As(err, &locked):
		return exitLocked
	case errors.As(err, &decision):
		return exitDecision
	case errors.As(err, &verifyErr), errors.As(err, &verifyFl):
		return exitVerify
	case errors.Is(err, errSilent):
		var c *codedError
		if errors.As(err, &c) {
			return c.code
		}
		return exitStepFailed
	}
	return exitStepFailed
}

// usageError is a command-line or answers mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// verifyFailed is a verification that found damage (exit 5).
type verifyFailed struct{ err error }

func (e *verifyFailed) Error() string { return e.err.Error() }
func (e *verifyFailed) Unwrap() error { return e.err }

// errSilent marks an error already reported to the operator.
var errSilent = errors.New("already reported")

type codedError struct{ code int }

func (e *codedError) Error() string { return errSilent.Error() }
func (e *codedError) Unwrap() error { return errSilent }
