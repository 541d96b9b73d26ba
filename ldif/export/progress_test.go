package export

import (
	"context"
	"testing"
	"time"

	"mswizard/fixtures/ldapd"
)

// TestProgressEndsAtTheResult: an export's progress never goes back, and
// its last report is the entries and bytes of the file it wrote, which the
// server's count (the total a face shows the ETA against) matches; on the
// lean decoder and on go-ldap's.
func TestProgressEndsAtTheResult(t *testing.T) {
	t.Parallel()
	seed := writeSeed(t, 700)
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seed})
	for _, golib := range []bool{false, true} {
		c := dialRoot(t, s)
		var n, calls int
		var b int64
		opts := Options{GoLDAPDecoder: golib, PageSize: 100, Now: func() time.Time { return fixed }, Progress: func(entries int, bytes int64) {
			if entries < n || bytes < b {
				t.Errorf("progress went back: %d/%d after %d/%d", entries, bytes, n, b)
			}
			n, b = entries, bytes
			calls++
		}}
		total, err := Count(context.Background(), c, siroeAll, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Export(context.Background(), c, siroeAll, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if n != res.Entries || b != res.Bytes || total != res.Entries {
			t.Errorf("go-ldap %v: progress ended at %d entries %d bytes, the server counted %d, the file holds %d entries %d bytes", golib, n, b, total, res.Entries, res.Bytes)
		}
		if calls < 7 {
			t.Errorf("go-ldap %v: %d progress reports for %d entries in pages of 100, want one per page at least", golib, calls, res.Entries)
		}
	}
}
