package steps

import (
	"strings"
	"testing"
)

func TestTheWizardReachesADirectoryInstanceWhereItsDSELDIFSaysItListens(t *testing.T) {
	for _, tc := range []struct{ name, listen, want string }{
		{"nsslapd-listenhost set: that address", "nsslapd-listenhost: 127.0.0.9\n", "ldap://127.0.0.9:389"},
		{"an IPv6 listen address is bracketed", "nsslapd-listenhost: ::1\n", "ldap://[::1]:389"},
		{"unset: the instance binds every interface, reached at 127.0.0.1", "", "ldap://127.0.0.1:389"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dse := strings.Replace(dseConfig, "nsslapd-port: 389\n", "nsslapd-port: 389\n"+tc.listen, 1)
			if !strings.Contains(dse, tc.listen) {
				t.Fatalf("fixture: %q", dse)
			}
			d, err := parseDSE(strings.NewReader(dse+dseBackend("userRoot", "o=siroe.com")), "dse.ldif")
			if err != nil {
				t.Fatal(err)
			}
			if got := d.url(); got != tc.want {
				t.Errorf("url = %s, want %s", got, tc.want)
			}
		})
	}
}
