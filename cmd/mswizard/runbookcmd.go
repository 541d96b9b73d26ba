package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/fixtures/qmail"
	"mswizard/internal/atomicfile"
	"mswizard/steps/node"
	"mswizard/steps/runbook"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// rbSession is what a session holds for a runbook file's run: the runbook,
// its answers, and the RUNBOOK argument that names it again.
type rbSession struct {
	book   *runbook.Runbook
	values *runbook.Values
	ref    string // a shipped id, or the runbook file's absolute path
}

// runbookRefFile, in the state directory, names the runbook of the run there,
// so `status`, `resolve` and `backout --state-dir D` load the same one.
const runbookRefFile = "runbook.ref"

// runbookRef says which runbook a session runs, or "" for the Messaging
// Server upgrade: `run RUNBOOK`, else the state directory's runbook.ref, else
// the journal's pin, else the answers file's [Runbook] Runbook.
func (c *common) runbookRef(answersPath string) string {
	if c.runbook != "" {
		return c.runbook
	}
	if c.stateDir != "" {
		if b, err := os.ReadFile(filepath.Join(c.stateDir, runbookRefFile)); err == nil {
			return strings.TrimSpace(string(b))
		}
		if recs, err := journal.Read(c.stateDir); err == nil {
			if st := wizard.Fold(recs); st.Pin != nil && st.Pin.Runbook != "" {
				return st.Pin.Runbook
			}
		}
	}
	if name, err := runbook.ReadRunbookName(answersPath); err == nil && name != "" {
		return name
	}
	return ""
}

// loadRunbook builds a session for a runbook file's run: the same engine,
// journal and faces as the upgrade, with the runbook's steps.
func (c *common) loadRunbook(ref, answersPath string) (*session, error) {
	rb, err := runbook.Load(ref)
	if err != nil {
		return nil, err
	}
	v, err := runbook.LoadValues(rb, answersPath)
	if err != nil {
		return nil, err
	}
	if v.Runbook != "" && c.runbook != "" && v.Runbook != c.runbook && filepath.Base(strings.TrimSuffix(v.Runbook, filepath.Ext(v.Runbook))) != rb.ID {
		return nil, usagef("%s is the answers for runbook %s, not %s", answersPath, v.Runbook, c.runbook)
	}
	state := v.StateDir
	if c.stateDir != "" {
		state = c.stateDir
	}
	if state == "" {
		return nil, usagef("%s: [%s] has no StateDir, and no --state-dir was given", answersPath, runbook.Section)
	}
	// The answers' [Nodes] are reached over SSH; each connects on first use,
	// so a plan or a status does not need them up.
	nodes, order := map[string]node.Node{"local": node.Local{}}, []string(nil)
	for _, c := range v.Nodes {
		nodes[c.Name] = node.NewSSH(c)
		order = append(order, c.Name)
	}
	steps, err := runbook.Build(rb, v, runbook.Options{StateDir: state, Nodes: nodes, Order: order})
	if err != nil {
		return nil, err
	}
	if runbook.IsFile(ref) {
		if abs, err := filepath.Abs(ref); err == nil {
			ref = abs
		}
	}
	return &session{
		rb:    &rbSession{book: rb, values: v, ref: ref},
		state: state, steps: steps,
		env: &wizard.Env{Root: "/", StateDir: state, Exec: wizard.OSExecer{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)},
	}, nil
}

func (s *session) answersHash() string {
	if s.rb != nil {
		return s.rb.values.Hash(s.rb.book)
	}
	return s.answers.Hash()
}

func (s *session) answersFile() string {
	if s.rb != nil {
		return s.rb.values.Path
	}
	return s.answers.Path
}

// rememberRunbook writes the state directory's runbook.ref.
func (s *session) rememberRunbook() {
	if s.rb == nil {
		return
	}
	if err := atomicfile.WriteFile(filepath.Join(s.state, runbookRefFile), []byte(s.rb.ref+"\n"), 0o600); err != nil {
		s.env.Log.Error("runbook.ref", "err", err)
	}
}

// runCmd is `mswizard run RUNBOOK`: a runbook file's run through the same
// engine, journal and faces as the upgrade.
func runCmd() *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK",
		Short: "Run a runbook (a shipped id or a runbook file) with its answers; --dry-run prints the plan",
		Long: "Run a runbook (a shipped id or a runbook file) with its answers.\n\n" +
			"Batch with --answers FILE (see `mswizard answers template --runbook RUNBOOK`); on a terminal,\n" +
			"--state-dir of a run in progress resumes it in the TUI. `mswizard runbook list` names the shipped ones.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.runbook = args[0]
			return runRunbook(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	addCommon(cmd, c, true)
	return cmd
}

func runRunbook(ctx context.Context, c *common, out io.Writer) error {
	if c.answersPath == "" && c.stateDir == "" {
		// The TUI's answers form knows the Messaging Server's answers only; a
		// runbook's answers come from its template.
		return usagef("no answers: give --answers FILE (`mswizard answers template --runbook %s > FILE` writes one), or --state-dir of a run in progress", c.runbook)
	}
	if _, err := runbook.Load(c.runbook); err != nil {
		return err
	}
	return applyRun(ctx, c, out)
}

// runbookCmd is `mswizard runbook list|validate`.
func runbookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runbook", Short: "List the shipped runbooks, or validate a runbook file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the runbooks that come with the wizard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, id := range runbook.Shipped() {
				rb, err := runbook.Load(id)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %s (%d steps)\n", id, rb.Title, len(rb.Steps))
			}
			return nil
		},
	})
	var answersPath string
	validate := &cobra.Command{
		Use:   "validate RUNBOOK|FILE",
		Short: "Check a runbook and list every problem at once, as FILE:LINE: message (with --answers, its answers too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rb, err := runbook.Load(args[0])
			if err != nil {
				return err
			}
			v := runbook.Defaults(rb)
			if answersPath != "" {
				if v, err = runbook.LoadValues(rb, answersPath); err != nil {
					return err
				}
			}
			o := runbook.PlanNodes(rb) // nothing runs: the nodes are not reached
			o.StateDir = "/nonexistent"
			steps, err := runbook.Build(rb, v, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid runbook %s (%d answers, %d preflight checks, %d steps)\n", args[0], rb.ID, len(rb.Answers), len(rb.Preflight), len(steps))
			for _, st := range steps {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-28s %s\n", st.ID(), st.Title())
			}
			return nil
		},
	}
	validate.Flags().StringVar(&answersPath, "answers", "", "also check this answers file against the runbook")
	cmd.AddCommand(validate)
	return cmd
}

// validateRunbookAnswers is `answers validate FILE` for a runbook's answers
// (a file with [Runbook] Runbook = RUNBOOK).
func validateRunbookAnswers(w io.Writer, ref, path string) error {
	rb, err := runbook.Load(ref)
	if err != nil {
		return err
	}
	v, err := runbook.LoadValues(rb, path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s: valid answers for runbook %s (state directory %s)\n", path, rb.ID, v.StateDir)
	return err
}

// answersTemplate prints the answers template of a runbook.
func answersTemplate(w io.Writer, ref string) error {
	rb, err := runbook.Load(ref)
	if err != nil {
		return err
	}
	return runbook.WriteTemplate(w, rb, ref)
}

// qmailSimCmd runs the qmail stand-ins behind a qmail world's bin/.
func qmailSimCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "qmail-sim TOOL ROOT [ARGS]",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := qmail.Main(cmd.Context(), args, os.Stdin, os.Stdout, os.Stderr); code != 0 {
				return &codedError{code: code}
			}
			return nil
		},
	}
}

// qmailDemo builds a qmail world in dir (rc-started qmail, svscan on its scan
// directory) and writes the answers for the qmail-daemontools runbook.
func qmailDemo(ctx context.Context, dir string, stop bool, out io.Writer) error {
	if stop {
		w, err := qmail.Open(filepath.Join(dir, "root"))
		if err != nil {
			return err
		}
		w.Stop()
		fmt.Fprintf(out, "stopped everything the qmail world in %s started\n", dir)
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The world's users (nobody for the logs and qmail-smtpd) must reach the
	// stand-ins and the world: a copy of the wizard beside it, all 0755.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(dir, "mswizard")
	data, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return err
	}
	smtpPort, pop3Port := freeLowPort(17600), freeLowPort(18600)
	w, err := qmail.Build(filepath.Join(dir, "root"), qmail.Options{Exe: bin, SMTPPort: smtpPort, POP3Port: pop3Port})
	if err != nil {
		return err
	}
	if err := w.StartSvscan(); err != nil {
		return err
	}
	if err := w.StartRC(ctx); err != nil {
		w.Stop()
		return err
	}
	inf := filepath.Join(dir, "qmail.inf")
	if err := w.Answers(inf, filepath.Join(dir, "state"), "3s"); err != nil {
		return err
	}
	fmt.Fprintf(out, "qmail world in %s\n  root:    %s (qmail started by %s, svscan on %s)\n  smtp:    127.0.0.1:%d   pop3: 127.0.0.1:%d\n  answers: %s\n",
		dir, w.Root, w.RCScript(), w.ServiceDir(), smtpPort, pop3Port, inf)
	fmt.Fprintf(out, "next:\n  mswizard run qmail-daemontools --answers %s --dry-run\n  mswizard run qmail-daemontools --answers %s\n  mswizard backout --answers %s --yes\n  mswizard demo --world qmail --stop --dir %s\n", inf, inf, inf, dir)
	return nil
}

// freeLowPort returns the first port from p on that nothing listens on; the
// world's servers stay below the ephemeral range (README, "What the code
// taught us").
func freeLowPort(p int) int {
	for ; p < 32000; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	return p
}
