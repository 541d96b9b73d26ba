package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// CheckManifestHash compares the sha256 of the manifest at path with want, the
// hash recorded when the archive was made (the run's backups.json and the
// action's receipt). The manifest holds every entry's sha256, and Verify holds
// the archive to the manifest; so an archive and manifest replaced together
// under their names — a consistent pair, but not the backup this run made —
// are caught here, before they are trusted for a verify or a restore. A
// mismatch is a *VerifyError.
func CheckManifestHash(path, want string) error {
	if want == "" {
		return &VerifyError{Reason: fmt.Sprintf("no sha256 is recorded for %s: it cannot be told from a replaced one", path)}
	}
	got, err := ManifestHash(path)
	if err != nil {
		return err
	}
	if got != want {
		return &VerifyError{Reason: fmt.Sprintf("manifest %s has sha256 %s, but the backup recorded %s: the archive was replaced or changed since it was made; it is not used", path, got, want)}
	}
	return nil
}

// ManifestHash is the sha256 of the manifest at path, as CheckManifestHash
// compares it.
func ManifestHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("manifest %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
