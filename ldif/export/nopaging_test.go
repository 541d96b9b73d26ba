package export

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

// noPaging starts slapd behind the proxy that hides and refuses the paged
// results control (fixtures/ldapd/nopaging.go).
func noPaging(t *testing.T, o ldapd.Options) (*ldapd.Server, *ldapd.NoPaging) {
	t.Helper()
	s := ldapd.RequireOpenLDAP(t, o)
	p, err := ldapd.StartNoPaging(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return s, p
}

func dialURL(t testing.TB, url string, s *ldapd.Server) *ldap.Conn {
	t.Helper()
	c, err := Dial(context.Background(), url, Bind{DN: s.RootDN, Password: Secret(s.RootPW)}, TLS{}, DialOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ldapsearchLDIF runs ldapsearch (no paging) and returns its LDIF file.
func ldapsearchLDIF(t *testing.T, url string, s *ldapd.Server, base string, extra ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("ldapsearch")
	if err != nil {
		t.Fatal("ldapsearch not found: install the Debian package ldap-utils")
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(s.RootPW), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-D", s.RootDN, "-y", pw, "-b", base}, extra...)
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: errb.Bytes()}
	}
	f := filepath.Join(t.TempDir(), "ldapsearch.ldif")
	if err := os.WriteFile(f, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, nil
}

// TestServerWithoutPagedResults: a directory server that does not offer the
// paged results control gets a plain search, and the export holds exactly
// the entries ldapsearch without paging returns, on the lean path and on
// go-ldap's; the independent count agrees.
func TestServerWithoutPagedResults(t *testing.T) {
	t.Parallel()
	s, p := noPaging(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: writeSeed(t, 300)})

	// The proxy is an honest old server: the root DSE does not list the
	// control and a critical one is refused.
	if _, err := ldapsearchLDIF(t, p.URL, s, "o=siroe.com", "-E", "!pr=10/noprompt"); err == nil ||
		!strings.Contains(string(err.(*exec.ExitError).Stderr), "Critical extension is unavailable") && !strings.Contains(string(err.(*exec.ExitError).Stderr), "(12)") {
		t.Fatalf("a critical paged search through the proxy: %v, want unavailableCriticalExtension", err)
	}
	if p.Refused.Load() != 1 {
		t.Fatalf("proxy refused %d critical paged searches, want 1", p.Refused.Load())
	}
	want, err := ldapsearchLDIF(t, p.URL, s, "o=siroe.com")
	if err != nil {
		t.Fatalf("ldapsearch: %v: %s", err, err.(*exec.ExitError).Stderr)
	}
	for _, golib := range []bool{false, true} {
		c := dialURL(t, p.URL, s)
		dir := t.TempDir()
		opts := Options{PageSize: 25, Server: p.URL, GoLDAPDecoder: golib, AllowReferrals: true, Now: func() time.Time { return fixed }}
		r, err := Export(context.Background(), c, siroeAll, dir, opts)
		if err != nil {
			t.Fatalf("go-ldap %v: %v", golib, err)
		}
		if r.Paged {
			t.Errorf("go-ldap %v: the export says it paged against a server without the control", golib)
		}
		compareSnapshots(t, "export vs ldapsearch", snapshot(t, r.Path), snapshot(t, want))
		n, err := Count(context.Background(), c, siroeAll, opts)
		if err != nil || n != r.Entries {
			t.Errorf("go-ldap %v: independent count %d (%v), export %d", golib, n, err, r.Entries)
		}
	}
	if p.Stripped.Load() != 0 || p.RootDSE.Load() < 4 {
		t.Errorf("the export sent the control %d times and read the root DSE %d times; want 0 and >= 4", p.Stripped.Load(), p.RootDSE.Load())
	}
}

// TestServerWithoutPagedResultsSizeLimit: the plain search meets the
// server's size limit; the export fails naming it and leaves no file (a
// short file would look like a backup).
func TestServerWithoutPagedResultsSizeLimit(t *testing.T) {
	t.Parallel()
	s, p := noPaging(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: writeSeed(t, 60), SizeLimit: 10})
	for _, golib := range []bool{false, true} {
		c := dialURL(t, p.URL, s)
		err := exportErr(t, context.Background(), c, t.TempDir(), Options{GoLDAPDecoder: golib})
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || !strings.Contains(err.Error(), "plain search (the server does not offer paged results)") ||
			!strings.Contains(err.Error(), "partial set") {
			t.Errorf("go-ldap %v: got %v, want sizeLimitExceeded on a plain search", golib, err)
		}
		if _, err := Count(context.Background(), c, siroeAll, Options{GoLDAPDecoder: golib}); !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			t.Errorf("go-ldap %v: count: %v, want sizeLimitExceeded", golib, err)
		}
	}
}

// TestPagedControlNotCritical: against a server that lists the control the
// export pages, and the control it sends is not critical (a proxy that
// removes a non-critical control turns the search into a plain one that
// still succeeds).
func TestPagedControlNotCritical(t *testing.T) {
	t.Parallel()
	s, p := noPaging(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seedFile(t)})
	c := dialURL(t, p.URL, s)
	r, err := Export(context.Background(), c, siroeAll, t.TempDir(), Options{Paging: PagingOn, PageSize: 7, AllowReferrals: true})
	if err != nil {
		t.Fatal(err)
	}
	siroe, _ := ldapd.SeedCounts(testUsers)
	if !r.Paged || r.Entries != siroe || p.Stripped.Load() != 1 || p.Refused.Load() != 0 {
		t.Errorf("paged %v, %d entries (want %d), control stripped %d refused %d: want a non-critical control", r.Paged, r.Entries, siroe, p.Stripped.Load(), p.Refused.Load())
	}
	direct := dialRoot(t, s)
	r2, err := Export(context.Background(), direct, siroeAll, t.TempDir(), Options{PageSize: 7})
	if err != nil || !r2.Paged || r2.Entries != siroe {
		t.Errorf("slapd direct: paged %v, %d entries, %v; want a paged export of %d", r2.Paged, r2.Entries, err, siroe)
	}
}
