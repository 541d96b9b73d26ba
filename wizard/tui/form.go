package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/huh"

	"mswizard/internal/atomicfile"
	"mswizard/wizard/answers"
)

// AnswerValues are what the answers form asks: the required keys of the
// answers file, the password by reference (a path to a 0600 file) so the saved
// file holds no secret.
type AnswerValues struct {
	ServerRoot, FullMachineName, Instance               string
	UserDirectoryLdapURL, UserDirectoryAdminID, PwdFile string
	StateDir, BackupDir, Installer, Regime, StoreAction string
}

// DefaultAnswerValues starts the form from the answers file's defaults.
func DefaultAnswerValues() AnswerValues {
	v := AnswerValues{Regime: "plain", StoreAction: "move", UserDirectoryAdminID: "cn=Directory Manager"}
	if h, err := os.Hostname(); err == nil {
		v.FullMachineName = h
	}
	return v
}

// File renders the values as an answers file: [General] for the product's
// keys, [Wizard] for ours. A relative password file is made absolute so the
// file means the same wherever it is saved.
func (v AnswerValues) File() *answers.File {
	f := &answers.File{Name: "install.inf"}
	pwd := v.PwdFile
	if pwd != "" && !filepath.IsAbs(pwd) {
		if abs, err := filepath.Abs(pwd); err == nil {
			pwd = abs
		}
	}
	for _, kv := range [][3]string{
		{answers.General, "FullMachineName", v.FullMachineName},
		{answers.General, "ServerRoot", v.ServerRoot},
		{answers.General, "UserDirectoryLdapURL", v.UserDirectoryLdapURL},
		{answers.General, "UserDirectoryAdminID", v.UserDirectoryAdminID},
		{answers.General, "UserDirectoryAdminPwdFile", pwd},
		{answers.Wiz, "Instance", v.Instance},
		{answers.Wiz, "StateDir", v.StateDir},
		{answers.Wiz, "BackupDir", v.BackupDir},
		{answers.Wiz, "Installer", v.Installer},
		{answers.Wiz, "Regime", v.Regime},
		{answers.Wiz, "StoreAction", v.StoreAction},
	} {
		f.Set(kv[0], kv[1], strings.TrimSpace(kv[2]))
	}
	return f
}

// ValidateAnswers checks the values exactly as the file would be checked: they
// are written to a temporary 0600 file and loaded with answers.Load. The error
// lists every problem, each named by its key.
func ValidateAnswers(v AnswerValues) error {
	dir, err := os.MkdirTemp("", "mswizard-answers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := answers.Render(v.File())
	path := filepath.Join(dir, "install.inf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	_, err = answers.Load(path, answers.LoadOptions{})
	var probs answers.Problems
	if !errors.As(err, &probs) {
		return err
	}
	// Name each problem by its key: the temporary file's lines mean nothing to
	// the operator.
	keyAt := map[int]string{}
	if f, perr := answers.Parse("install.inf", data); perr == nil {
		for _, s := range f.Sections {
			for _, kv := range s.Keys {
				keyAt[kv.Line] = kv.Key
			}
		}
	}
	var lines []string
	for _, p := range probs {
		if k, ok := keyAt[p.Line]; ok && p.Line > 0 {
			lines = append(lines, k+": "+p.Msg)
		} else {
			lines = append(lines, p.Msg)
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// SaveAnswers writes the values as an install.inf at path, atomically and
// 0600; the password stays in its own file (UserDirectoryAdminPwdFile).
func SaveAnswers(path string, v AnswerValues) error {
	if err := atomicfile.WriteFile(path, answers.Render(v.File()), 0o600); err != nil {
		return fmt.Errorf("answers: save %s: %w", path, err)
	}
	return nil
}

func required(name string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s is required", name)
		}
		return nil
	}
}

// answersForm is the form over v; problems, when set, are shown first.
func answersForm(v *AnswerValues, problems string) *huh.Form {
	var groups []*huh.Group
	if problems != "" {
		groups = append(groups, huh.NewGroup(huh.NewNote().Title("The answers have problems: fix them").Description(problems)))
	}
	opts := func(xs ...string) []huh.Option[string] { return huh.NewOptions(xs...) }
	groups = append(groups,
		huh.NewGroup(
			huh.NewNote().Title("mswizard — the answers").Description("No answers file was given: these are the keys install.inf would hold.\nThey are checked as the file is, then saved (0600) and used for the run."),
			huh.NewInput().Title("ServerRoot").Description("the messaging server root (one instance per server root)").Placeholder("/usr/iplanet/server5").Value(&v.ServerRoot).Validate(required("ServerRoot")),
			huh.NewInput().Title("Instance").Description("the server root holds msg-INSTANCE").Placeholder("budgie").Value(&v.Instance).Validate(required("Instance")),
			huh.NewInput().Title("FullMachineName").Description("fully qualified host name").Value(&v.FullMachineName).Validate(required("FullMachineName")),
			huh.NewInput().Title("Installer").Description("the new version's setup program").Placeholder("/cdrom/ims52/setup").Value(&v.Installer).Validate(required("Installer")),
		),
		huh.NewGroup(
			huh.NewInput().Title("UserDirectoryLdapURL").Description("ldap://host:port/SUFFIX (or ldaps://)").Placeholder("ldap://ldap.siroe.com:389/o=siroe.com").Value(&v.UserDirectoryLdapURL).Validate(required("UserDirectoryLdapURL")),
			huh.NewInput().Title("UserDirectoryAdminID").Description("bind DN for the exports and the schema").Value(&v.UserDirectoryAdminID).Validate(required("UserDirectoryAdminID")),
			huh.NewInput().Title("UserDirectoryAdminPwdFile").Description("path to a 0600 file holding the bind password (never the password itself)").Value(&v.PwdFile).Validate(required("UserDirectoryAdminPwdFile")),
		),
		huh.NewGroup(
			huh.NewInput().Title("StateDir").Description("journal, logs, reports and LDIF exports of this run").Placeholder("/var/opt/mswizard/state").Value(&v.StateDir).Validate(required("StateDir")),
			huh.NewInput().Title("BackupDir").Description("where the archives go; not inside the server root").Placeholder("/backup/mswizard").Value(&v.BackupDir).Validate(required("BackupDir")),
			huh.NewSelect[string]().Title("Regime").Description("how services are controlled").Options(opts(answers.RegimeNames()...)...).Value(&v.Regime),
			huh.NewSelect[string]().Title("StoreAction").Description("how the message store is kept out of the upgrade").Options(opts("move", "umount")...).Value(&v.StoreAction),
		),
	)
	return huh.NewForm(groups...)
}

// AskAnswers asks for the answers with a form until they validate, then for a
// path to save them to, saves them there and returns the path. An aborted form
// returns huh.ErrUserAborted.
func AskAnswers(ctx context.Context, in io.Reader, out io.Writer, v *AnswerValues) (string, error) {
	check := func() (string, error) {
		if err := ValidateAnswers(*v); err != nil {
			return err.Error(), nil
		}
		return "", nil
	}
	save := func(abs string) error { return SaveAnswers(abs, *v) }
	return askAndSave(ctx, in, out, func(problems string) *huh.Form { return answersForm(v, problems) }, check,
		"install.inf", "the password stays in its own file", save)
}

// askAndSave is the dialogue of both answers forms: the form, asked again with
// the problems check finds until it finds none; then the path to save the
// answers to, asked again until save succeeds there. A form the operator
// aborts, or declining to save, returns huh.ErrUserAborted.
func askAndSave(ctx context.Context, in io.Reader, out io.Writer, form func(problems string) *huh.Form, check func() (string, error),
	path, secretNote string, save func(abs string) error) (string, error) {
	accessible := os.Getenv("TERM") == "dumb"
	run := func(f *huh.Form) error {
		f = formOn(f, in, out, accessible)
		if os.Getenv("NO_COLOR") != "" {
			f = f.WithTheme(huh.ThemeBase())
		}
		return f.RunWithContext(ctx)
	}
	problems := ""
	for {
		if err := run(form(problems)); err != nil {
			return "", err
		}
		p, err := check()
		if err != nil {
			return "", err
		}
		if p == "" {
			break
		}
		problems = p
	}
	saveIt := true
	for {
		if err := run(huh.NewForm(huh.NewGroup(
			huh.NewInput().Title("Save these answers to").Description("written 0600; "+secretNote).Value(&path).Validate(required("the path")),
			huh.NewConfirm().Title("Save and start the wizard on them?").Value(&saveIt),
		))); err != nil {
			return "", err
		}
		if !saveIt {
			return "", huh.ErrUserAborted
		}
		abs, err := filepath.Abs(strings.TrimSpace(path))
		if err != nil {
			return "", err
		}
		if err := save(abs); err != nil {
			fmt.Fprintln(out, err)
			continue
		}
		return abs, nil
	}
}
