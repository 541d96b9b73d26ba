package export

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

var siroeAll = Spec{Name: "siroe", Base: "o=siroe.com", File: "20020304.siroe.ldif"}

func exportErr(t *testing.T, ctx context.Context, c Searcher, dir string, opts Options) error {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixed }
	}
	r, err := Export(ctx, c, siroeAll, dir, opts)
	if err == nil {
		t.Fatalf("export succeeded (%d entries), want a failure", r.Entries)
	}
	assertNoFiles(t, dir)
	return err
}

// TestFaultsOpenLDAP: every way a search can end short of success fails the
// export with a message naming the cause and leaves no file behind, on the
// lean path and on go-ldap's.
func TestFaultsOpenLDAP(t *testing.T) {
	t.Parallel()
	t.Run("lean", func(t *testing.T) { t.Parallel(); faults(t, false) })
	t.Run("go-ldap", func(t *testing.T) { t.Parallel(); faults(t, true) })
}

func faults(t *testing.T, golib bool) {
	seed300 := writeSeed(t, 300)

	t.Run("a server size limit fails the export even though entries arrived", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed300, SizeLimit: 10})
		err := exportErr(t, context.Background(), dialRoot(t, s), t.TempDir(), Options{GoLDAPDecoder: golib, PageSize: 1000})
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || !strings.Contains(err.Error(), "Size Limit Exceeded") {
			t.Errorf("got %v, want sizeLimitExceeded", err)
		}
	})

	t.Run("a server killed mid-export fails the export", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed300})
		var once sync.Once
		err := exportErr(t, context.Background(), dialRoot(t, s), t.TempDir(), Options{GoLDAPDecoder: golib, PageSize: 20,
			Progress: func(n int, _ int64) {
				if n > 0 {
					once.Do(func() {
						if err := s.Kill(); err != nil {
							t.Error(err)
						}
					})
				}
			}})
		if !strings.Contains(err.Error(), "page 2, after 20 entries: ") { // "connection to the server lost" or a network error, by timing
			t.Errorf("got %v, want a failure on page 2", err)
		}
		t.Log(err)
	})

	t.Run("a wrong password fails the bind and is never printed", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
		pw := "Wrong-pw-4711"
		_, err := Dial(context.Background(), s.URL, Bind{DN: s.RootDN, Password: Secret(pw)}, TLS{}, DialOptions{Timeout: 5 * time.Second})
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("got %v, want invalidCredentials", err)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
		t.Log(err)
	})

	t.Run("a hanging server fails the dial and the export within the timeout", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed300})
		c := dialRoot(t, s)
		if err := s.Pause(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Resume() })
		_, err := Dial(context.Background(), s.URL, Bind{DN: s.RootDN, Password: Secret(s.RootPW)}, TLS{}, DialOptions{Timeout: 300 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("dial of a stopped server: %v, want a timeout", err)
		}
		err = exportErr(t, context.Background(), c, t.TempDir(), Options{GoLDAPDecoder: golib, IdleTimeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrIdle) {
			t.Errorf("export from a stopped server: %v, want ErrIdle", err)
		}
		t.Log(err)
	})

	t.Run("a referral fails by default and is listed when allowed", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seedFile(t)})
		c := dialRoot(t, s)
		ref := "ldap://ldap.elsewhere.example/ou=Elsewhere,o=siroe.com"
		add := ldap.NewAddRequest("ou=Elsewhere,o=siroe.com", nil)
		add.Attribute("objectClass", []string{"referral", "extensibleObject"})
		add.Attribute("ou", []string{"Elsewhere"})
		add.Attribute("ref", []string{ref})
		if err := c.Add(add); err != nil {
			t.Fatal(err)
		}
		err := exportErr(t, context.Background(), c, t.TempDir(), Options{GoLDAPDecoder: golib})
		if !strings.Contains(err.Error(), "1 referral(s) ("+ref) { // slapd appends "??sub"
			t.Errorf("got %v, want the referral named", err)
		}
		r, err := Export(context.Background(), c, siroeAll, t.TempDir(), Options{GoLDAPDecoder: golib, AllowReferrals: true})
		siroe, _ := ldapd.SeedCounts(testUsers)
		if err != nil || len(r.Referrals) != 1 || r.Entries != siroe {
			t.Errorf("allowed: %+v %v, want %d entries and the referral", r, err, siroe)
		}
		if n := endpointOf(c).searches.Load(); (n == 0) != golib {
			t.Errorf("go-ldap decoder %v, but %d lean searches ran", golib, n)
		}
	})

	t.Run("a cancelled context fails the export and a retry starts over", func(t *testing.T) {
		t.Parallel()
		s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed300})
		c := dialRoot(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		dir := t.TempDir()
		err := exportErr(t, ctx, c, dir, Options{GoLDAPDecoder: golib, PageSize: 20, Progress: func(n int, _ int64) {
			if n > 0 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		r, err := Export(context.Background(), c, siroeAll, dir, Options{GoLDAPDecoder: golib, PageSize: 20})
		siroe, _ := ldapd.SeedCounts(300)
		if err != nil || r.Entries != siroe || r.Path != filepath.Join(dir, siroeAll.File) {
			t.Fatalf("retry: %+v %v, want %d entries", r, err, siroe)
		}
		if _, err := Verify(r.Path, siroe+1); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("Verify with a wrong count: %v", err)
		}
	})
}
