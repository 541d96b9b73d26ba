package mounts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const table = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /srv/mail\040store rw,nosuid master:3 - ext4 /dev/mapper/vg-store rw,data=ordered
41 22 8:1 /data/queue /srv/queue rw - ext4 /dev/sda1 rw
42 40 0:50 / /srv/mail\040store rw - tmpfs tmpfs rw,size=1024k
bad line
`

func TestFindReadsMountinfo(t *testing.T) {
	cases := []struct {
		name, path string
		want       Entry
		ok         bool
	}{
		{"an escaped mount point, the last mount on it wins", "/srv/mail store/", Entry{Target: "/srv/mail store", Root: "/", FSType: "tmpfs", Source: "tmpfs", Options: "rw"}, true},
		{"a bind mount keeps its root", "/srv/queue", Entry{Target: "/srv/queue", Root: "/data/queue", FSType: "ext4", Source: "/dev/sda1", Options: "rw"}, true},
		{"a path nothing is mounted on", "/srv", Entry{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := Find(strings.NewReader(table), c.path)
			if err != nil || ok != c.ok || got != c.want {
				t.Fatalf("Find(%q) = %+v, %v, %v; want %+v, %v", c.path, got, ok, err, c.want, c.ok)
			}
		})
	}
}

func TestIsMountPointOnThisHost(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "proc-link")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       bool
	}{
		{"the root is a mount point", "/", true},
		{"/proc is a mount point (another device)", "/proc", true},
		{"a symbolic link to a mount point is resolved", link, true},
		{"a plain directory is not", dir, false},
		{"a file is not", file, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := IsMountPoint(c.path)
			if err != nil || got != c.want {
				t.Fatalf("IsMountPoint(%q) = %v, %v; want %v", c.path, got, err, c.want)
			}
		})
	}
	if m, err := IsMountPoint(filepath.Join(dir, "missing")); m || err != nil {
		t.Fatalf("a missing path: %v, %v; nothing is mounted there", m, err)
	}
	if _, err := IsMountPoint(filepath.Join(file, "below")); err == nil {
		t.Fatal("a path below a file cannot be read: an error, not \"not a mount point\"")
	}
}
