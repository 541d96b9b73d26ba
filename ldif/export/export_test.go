package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
	"mswizard/ldif"
)

const testUsers = 60

// fixed is the injected clock: exports are named 20020304.*.ldif.
var fixed = time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC)

var seedOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "export-seed-")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "seed.ldif")
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	if err := ldapd.WriteSeedLDIF(f, testUsers, 7); err != nil {
		return "", err
	}
	return p, f.Close()
})

func seedFile(t testing.TB) string {
	t.Helper()
	p, err := seedOnce()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeSeed(t testing.TB, users int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.ldif")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := ldapd.WriteSeedLDIF(f, users, 11); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func dialRoot(t testing.TB, s *ldapd.Server) *ldap.Conn {
	t.Helper()
	c, err := Dial(context.Background(), s.URL, Bind{DN: s.RootDN, Password: Secret(s.RootPW)}, TLS{}, DialOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fullSpecs exports both suffixes completely (parents included), so the
// files can be loaded into an empty server.
func fullSpecs() []Spec {
	return []Spec{
		{Name: "siroe", Base: "o=siroe.com", File: "siroe.ldif"},
		{Name: "pab", Base: "o=pab", File: "pab.ldif"},
	}
}

// snapshot reads LDIF files into DN -> attribute (lower-cased) -> sorted
// values, the comparison the re-import check needs (servers may reorder
// attributes and values).
func snapshot(t testing.TB, paths ...string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		es, err := ldif.ReadEntries(f, p, ldif.ReaderOptions{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			m := map[string][]string{}
			for _, a := range e.Attributes {
				k := strings.ToLower(a.Name)
				m[k] = append(m[k], a.Values...)
				slices.Sort(m[k])
			}
			out[strings.ToLower(e.DN)] = m
		}
	}
	return out
}

func compareSnapshots(t testing.TB, what string, got, want map[string]map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entries, want %d", what, len(got), len(want))
	}
	bad := 0
	for dn, wa := range want {
		ga, ok := got[dn]
		if !ok {
			t.Errorf("%s: entry %q missing", what, dn)
		} else if fmt.Sprint(ga) != fmt.Sprint(wa) {
			t.Errorf("%s: entry %q differs:\n got  %q\n want %q", what, dn, ga, wa)
		} else {
			continue
		}
		if bad++; bad > 5 {
			t.Fatalf("%s: too many differences", what)
		}
	}
}

// merge writes the entries of several LDIF files into one (one version
// line), for a single slapadd/ldapadd run.
func merge(t testing.TB, dst string, skipDNs []string, srcs ...string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	w := ldif.NewWriter(f)
	for _, p := range srcs {
		in, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		es, err := ldif.ReadEntries(in, p, ldif.ReaderOptions{})
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range es {
			if slices.Contains(skipDNs, strings.ToLower(es[i].DN)) {
				continue
			}
			if err := w.WriteEntry(&es[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

func exportAll(t testing.TB, s *ldapd.Server, specs []Spec, dir string) []Result {
	t.Helper()
	c := dialRoot(t, s)
	var out []Result
	for _, sp := range specs {
		r, err := Export(context.Background(), c, sp, dir, Options{PageSize: 25, Server: s.URL, Now: func() time.Time { return fixed }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(r.Path, r.Entries); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func assertNoFiles(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("failed export left %s in %s", e.Name(), dir)
	}
}

// TestDefaultSpecs pins the appendix's two backups and their file names.
func TestDefaultSpecs(t *testing.T) {
	got := DefaultSpecs("o=siroe.com", fixed)
	want := []Spec{
		{Name: "ug", Base: "o=siroe.com", Filter: "(objectclass=inetlocalmailrecipient)", File: "20020304.ug.ldif"},
		{Name: "pab", Base: "o=pab", Filter: "(objectclass=*)", File: "20020304.pab.ldif"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestSecretNeverPrints: the password type prints as REDACTED through every
// fmt verb that could reach a log.
func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2-pw")
	b := Bind{DN: "cn=x", Password: s}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", b, b, b, s, s)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
	}
}

// TestRoundTripOpenLDAP: the appendix's exports of seeded data (non-ASCII
// DN and values, binary, leading/trailing spaces, long values, multi-valued
// attributes) match the seed, and a full export loaded with slapadd into a
// fresh slapd exports back equal.
func TestRoundTripOpenLDAP(t *testing.T) {
	t.Parallel()
	seed := seedFile(t)
	src := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed})
	out := t.TempDir()

	def := exportAll(t, src, DefaultSpecs("o=siroe.com", fixed), out)
	siroe, pab := ldapd.SeedCounts(testUsers)
	wantUG := testUsers + ldapd.SeedSpecialUsers + testUsers/20 + 1
	if def[0].Entries != wantUG || def[1].Entries != pab {
		t.Errorf("default exports: ug %d pab %d entries, want %d %d", def[0].Entries, def[1].Entries, wantUG, pab)
	}
	for _, r := range def {
		if filepath.Dir(r.Path) != out || !strings.HasPrefix(filepath.Base(r.Path), "20020304.") || len(r.SHA256) != 64 || r.Bytes == 0 {
			t.Errorf("result %+v", r)
		}
	}

	full := exportAll(t, src, fullSpecs(), t.TempDir())
	if full[0].Entries != siroe || full[1].Entries != pab {
		t.Errorf("full exports: %d %d entries, want %d %d", full[0].Entries, full[1].Entries, siroe, pab)
	}
	want := snapshot(t, seed)
	got := snapshot(t, full[0].Path, full[1].Path)
	compareSnapshots(t, "export vs seed", got, want)
	checkSpecials(t, got)

	merged := filepath.Join(t.TempDir(), "merged.ldif")
	merge(t, merged, nil, full[0].Path, full[1].Path)
	dst := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: merged})
	again := exportAll(t, dst, fullSpecs(), t.TempDir())
	compareSnapshots(t, "re-import vs export", snapshot(t, again[0].Path, again[1].Path), got)
}

// checkSpecials makes sure the seed's hard values really are in the export
// (a comparison of two empty sets would prove nothing).
func checkSpecials(t testing.TB, got map[string]map[string][]string) {
	t.Helper()
	checks := []struct{ dn, attr, value string }{
		{ldapd.SeedNonASCIIDN, "description", "Grüße aus Köln"},
		{ldapd.SeedLeadingSpace, "description", " leading space"},
		{ldapd.SeedTrailing, "description", "trailing space "},
		{ldapd.SeedColonLT, "description", ":colon first"},
	}
	for _, c := range checks {
		if !slices.Contains(got[strings.ToLower(c.dn)][c.attr], c.value) {
			t.Errorf("%s: %s %q missing: %q", c.dn, c.attr, c.value, got[strings.ToLower(c.dn)])
		}
	}
	if p := got[strings.ToLower(ldapd.SeedPhoto)]["jpegphoto"]; len(p) != 1 || len(p[0]) != 512 {
		t.Errorf("jpegPhoto not 512 bytes: %d values", len(p))
	}
}
