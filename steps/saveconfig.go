package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mswizard/internal/atomicfile"
	"mswizard/wizard"
)

// savedConfigDir and its manifest in the state directory.
const (
	savedConfigDir      = "saved-config"
	savedConfigManifest = "manifest.json"
)

// savedFile is one entry of the saved-config manifest.
type savedFile struct {
	Path   string `json:"path"`   // relative to the saved-config directory and the server root
	Source string `json:"source"` // where it was copied from
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// savedConfig is the manifest of post/save-config.
type savedConfig struct {
	Saved   time.Time   `json:"saved"`
	Files   []savedFile `json:"files"`
	Missing []string    `json:"missing,omitempty"`
}

func (c *Config) savedConfigPath(rel string) string {
	return filepath.Join(c.StateDir, savedConfigDir, rel)
}

// configToSave lists the files seed 003 post-upgrade step 1 says to keep:
// setup/install.inf, msg-INSTANCE/config/local.conf and msg.conf,
// admin-serv/config/adm.conf, and setup/msg/*.log.
func (c *Config) configToSave() []string {
	files := []string{c.Host.SetupInstallInf(), c.Host.LocalConf(), c.Host.MsgConf(), c.Host.AdmConf()}
	logs, _ := filepath.Glob(filepath.Join(c.Host.SetupLogDir(), "*.log"))
	sort.Strings(logs)
	return append(files, logs...)
}

func sha256File(p string) (string, int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), int64(len(b)), nil
}

// verifySavedConfig reports whether every copy the manifest lists is present
// with its recorded hash.
func (c *Config) verifySavedConfig() (savedConfig, error) {
	var m savedConfig
	b, err := os.ReadFile(c.savedConfigPath(savedConfigManifest))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	for _, f := range m.Files {
		sum, _, err := sha256File(c.savedConfigPath(f.Path))
		if err != nil {
			return m, err
		}
		if sum != f.SHA256 {
			return m, fmt.Errorf("%s: sha256 %s, manifest %s", f.Path, sum, f.SHA256)
		}
	}
	return m, nil
}

// SaveConfig is post/save-config: the upgrade's result is kept by copying its
// configuration out of the server root (seed 003, post-upgrade step 1). Each
// copy is written atomically and the manifest, written last, gives its sha256.
func SaveConfig(c *Config) wizard.Step {
	dir := filepath.Join(c.StateDir, savedConfigDir)
	return wizard.Phase{ID: "post/save-config", Title: "Save the upgraded configuration",
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			m, err := c.verifySavedConfig()
			if err != nil {
				return false, "not saved yet", nil
			}
			for _, f := range m.Files {
				if sum, _, err := sha256File(f.Source); err != nil || sum != f.SHA256 {
					return false, fmt.Sprintf("the saved copy of %s is not the live file: save again", f.Path), nil
				}
			}
			return true, fmt.Sprintf("%d file(s) saved in %s at %s, each matching its manifest sha256", len(m.Files), dir, m.Saved.Format("2006-01-02 15:04:05")), nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			// The summary names the logs by pattern: the installer writes its
			// own (setup/msg/upgrade.TIMESTAMP.log), so a whole-run plan made
			// before it runs says the same; the receipt lists each file.
			var rels []string
			for _, f := range []string{c.Host.SetupInstallInf(), c.Host.LocalConf(), c.Host.MsgConf(), c.Host.AdmConf(), filepath.Join(c.Host.SetupLogDir(), "*.log")} {
				rel, _ := filepath.Rel(c.Host.ServerRoot(), f)
				rels = append(rels, rel)
			}
			return []wizard.Action{{
				Summary:    fmt.Sprintf("copy %s from %s -> %s with a sha256 manifest", strings.Join(rels, ", "), c.Host.ServerRoot(), dir),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					m := savedConfig{Saved: env.Now().UTC()}
					for _, src := range c.configToSave() {
						rel, err := filepath.Rel(c.Host.ServerRoot(), src)
						if err != nil || strings.HasPrefix(rel, "..") {
							return fmt.Errorf("save config: %s is outside the server root", src)
						}
						b, err := os.ReadFile(src)
						if errors.Is(err, os.ErrNotExist) {
							m.Missing = append(m.Missing, rel)
							continue
						}
						if err != nil {
							return fmt.Errorf("save config: %w", err)
						}
						dst := filepath.Join(dir, rel)
						if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
							return fmt.Errorf("save config: %w", err)
						}
						if err := atomicfile.WriteFile(dst, b, 0o600); err != nil {
							return fmt.Errorf("save config: %w", err)
						}
						sum := sha256.Sum256(b)
						m.Files = append(m.Files, savedFile{Path: rel, Source: src, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
					}
					if len(m.Files) == 0 {
						return fmt.Errorf("save config: none of %s exists", strings.Join(m.Missing, ", "))
					}
					js, err := json.MarshalIndent(m, "", "  ")
					if err != nil {
						return err
					}
					mp := filepath.Join(dir, savedConfigManifest)
					if err := atomicfile.WriteFile(mp, js, 0o600); err != nil {
						return fmt.Errorf("save config: manifest: %w", err)
					}
					sum := sha256.Sum256(js)
					r.Files = []wizard.FileHash{{Path: mp, Size: int64(len(js)), SHA256: hex.EncodeToString(sum[:])}}
					r.Note = fmt.Sprintf("%d file(s) saved", len(m.Files))
					if len(m.Missing) > 0 {
						r.Note += "; not on the host: " + strings.Join(m.Missing, ", ")
					}
					return r.SetData(m)
				},
			}}, nil
		},
		UndoText: "nothing: the copies stay in the state directory",
	}.Step()
}
