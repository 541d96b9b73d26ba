package wizard

import (
	"strings"
	"testing"
)

// A path the journal pinned refuses a rerun that resolves it elsewhere; a path
// key an older wizard did not pin is not compared, so its journals resume.
func TestPinnedPathsRefuseAChangeButNotAKeyTheJournalLacks(t *testing.T) {
	old := &Pin{AnswersHash: "h", Paths: map[string]string{"server root": "/srv/root"}}
	for _, tc := range []struct {
		name string
		have *Pin
		want map[string]string
		diff string
	}{
		{"a key the older pin lacks is not compared", old, map[string]string{"server root": "/srv/root", "WebServerRoot": "/srv/web"}, ""},
		{"a pinned key that moved is refused", old, map[string]string{"server root": "/elsewhere", "WebServerRoot": "/srv/web"}, "server root: journal /srv/root, now /elsewhere"},
		{"a new key pinned once is compared", &Pin{AnswersHash: "h", Paths: map[string]string{"server root": "/srv/root", "WebServerRoot": "/srv/web"}},
			map[string]string{"server root": "/srv/root", "WebServerRoot": "/other/web"}, "WebServerRoot: journal /srv/web, now /other/web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff := strings.Join(pinDiff(tc.have, Pin{AnswersHash: "h", Paths: tc.want}, &State{Steps: map[string]*StepRecord{}}), "; ")
			if diff != tc.diff {
				t.Errorf("diff %q, want %q", diff, tc.diff)
			}
		})
	}
}
