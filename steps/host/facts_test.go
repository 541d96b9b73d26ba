package host

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every fact the code names has its row in docs/host-facts.md, and every row
// has a source or says it is an assumption (issue 13, part 2).
func TestEveryFactTheCodeNamesHasASourcedRow(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docs", "host-facts.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !regexp.MustCompile(`^ F-[A-Z]+-\d+ $`).MatchString(cells[1]) {
			continue
		}
		id := strings.TrimSpace(cells[1])
		rows[id] = true
		src := strings.TrimSpace(cells[3])
		if (src == "" || src == "—") && !strings.Contains(line, "assumption") {
			t.Errorf("%s has no source and is not marked an assumption", id)
		}
	}
	ref := regexp.MustCompile(`\bF-[A-Z]+-\d+\b`)
	missing := map[string][]string{}
	for _, dir := range []string{"steps", "wizard", "backup", "ldif", "cmd", "fixtures"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, id := range ref.FindAllString(string(src), -1) {
				if !rows[id] {
					missing[id] = append(missing[id], p)
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	var ids []string
	for id := range missing {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.Errorf("%s is named in %s but has no row in docs/host-facts.md", id, strings.Join(missing[id], ", "))
	}
}
