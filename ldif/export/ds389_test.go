package export

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mswizard/fixtures/ldapd"
)

// start389Pair starts two 389 instances at once (each takes ~10 s): src
// seeded with seed, dst holding only the suffix entries (seeded, so the
// harness adds its inetLocalMailRecipient schema), and removes both at the
// end of the test.
func start389Pair(t *testing.T, seed string) (src, dst *ldapd.Server) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: 389 Directory Server tests take ~20 s")
	}
	bases := filepath.Join(t.TempDir(), "bases.ldif")
	err := os.WriteFile(bases, []byte("dn: o=siroe.com\nobjectClass: top\nobjectClass: organization\no: siroe.com\n\n"+
		"dn: o=pab\nobjectClass: top\nobjectClass: organization\no: pab\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var errSrc, errDst error
	wg.Go(func() { src, errSrc = ldapd.Start389(ctx, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed}) })
	wg.Go(func() { dst, errDst = ldapd.Start389(ctx, ldapd.Options{Dir: t.TempDir(), SeedLDIF: bases}) })
	wg.Wait()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := errors.Join(src.Stop(ctx), dst.Stop(ctx)); err != nil {
			t.Errorf("remove 389 instances: %v", err)
		}
	})
	if err := errors.Join(errSrc, errDst); err != nil {
		t.Fatalf("start 389 (Debian package 389-ds-base): %v", err)
	}
	return src, dst
}

// ldapadd loads an LDIF file with OpenLDAP's ldapadd (Debian ldap-utils),
// the password passed in a 0600 file, never on the command line.
func ldapadd(t *testing.T, s *ldapd.Server, file string) {
	t.Helper()
	bin, err := exec.LookPath("ldapadd")
	if err != nil {
		t.Fatalf("ldapadd not found: install the Debian package ldap-utils: %v", err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(s.RootPW), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-x", "-H", s.URL, "-D", s.RootDN, "-y", pw, "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ldapadd -f %s: %v\n%s", file, err, out)
	}
}

// TestRoundTrip389: the same round trip as TestRoundTripOpenLDAP against
// real 389 Directory Server, re-imported with ldapadd.
func TestRoundTrip389(t *testing.T) {
	t.Parallel()
	seed := seedFile(t)
	src, dst := start389Pair(t, seed)

	def := exportAll(t, src, DefaultSpecs("o=siroe.com", fixed), t.TempDir())
	_, pab := ldapd.SeedCounts(testUsers)
	wantUG := testUsers + ldapd.SeedSpecialUsers + testUsers/20 + 1
	if def[0].Entries != wantUG || def[1].Entries != pab {
		t.Errorf("default exports: ug %d pab %d entries, want %d %d", def[0].Entries, def[1].Entries, wantUG, pab)
	}

	full := exportAll(t, src, fullSpecs(), t.TempDir())
	got := strip389(snapshot(t, full[0].Path, full[1].Path))
	compareSnapshots(t, "389 export vs seed", got, snapshot(t, seed))
	checkSpecials(t, got)

	merged := filepath.Join(t.TempDir(), "merged.ldif")
	merge(t, merged, []string{"o=siroe.com", "o=pab"}, full[0].Path, full[1].Path)
	ldapadd(t, dst, merged)
	again := exportAll(t, dst, fullSpecs(), t.TempDir())
	compareSnapshots(t, "389 re-import vs export", strip389(snapshot(t, again[0].Path, again[1].Path)), got)
	if t.Failed() {
		b, _ := os.ReadFile(full[0].Path)
		t.Logf("export head:\n%s", strings.Join(strings.SplitN(string(b), "\n", 40)[:39], "\n"))
	}
}

// strip389 drops the "description: SUFFIX" 389 gives the suffix entries it
// creates (dscreate backend setup), which the seed does not hold.
func strip389(m map[string]map[string][]string) map[string]map[string][]string {
	for _, suffix := range []string{"o=siroe.com", "o=pab"} {
		if e := m[suffix]; e != nil && len(e["description"]) == 1 && strings.EqualFold(e["description"][0], suffix) {
			delete(e, "description")
		}
	}
	return m
}
