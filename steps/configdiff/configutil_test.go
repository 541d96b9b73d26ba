package configdiff

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeConfigutil keeps parameters in memory, as configutil would keep them in
// its own store; it never touches the files.
type fakeConfigutil struct {
	vals map[string]string
	sets []string
	lie  string // a parameter whose read-back differs
}

func (f *fakeConfigutil) Set(_ context.Context, name, value string) error {
	f.vals[name] = value
	f.sets = append(f.sets, name+"="+value)
	return nil
}

func (f *fakeConfigutil) Get(_ context.Context, name string) (string, error) {
	if name == f.lie {
		return "something else", nil
	}
	return f.vals[name], nil
}

func TestMergeSetsConfigutilParametersThroughConfigutilNotByEditingTheFiles(t *testing.T) {
	tr, _ := sampleTree(t)
	before, _ := os.ReadFile(filepath.Join(tr.New, "config/local.conf"))
	cu := &fakeConfigutil{vals: map[string]string{}}
	tr.Configutil = cu
	res, err := Merge(context.Background(), tr, PolicyReapply, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"service.http.port=8080", "local.autorestart.timeout=600", "service.pop.port="} {
		if !slices.Contains(cu.sets, want) {
			t.Errorf("configutil was not asked to set %s; sets: %v", want, cu.sets)
		}
	}
	after, _ := os.ReadFile(filepath.Join(tr.New, "config/local.conf"))
	if string(after) != string(before) {
		t.Errorf("the merge edited local.conf itself:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(tr.New, "config/local.conf"+PreMergeSuffix)); err != nil {
		t.Errorf("no pre-merge copy of local.conf: %v", err)
	}
	if slices.Contains(res.Written, "config/local.conf") || !slices.Contains(res.Changed, "config/local.conf") || !slices.Contains(res.Changed, "imta/config/imta.cnf") {
		t.Errorf("written %v, changed %v", res.Written, res.Changed)
	}
	var cleared bool
	for _, c := range res.Configutil {
		if c.Name == "service.pop.port" && c.Clear {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the report does not say service.pop.port was cleared: %+v", res.Configutil)
	}
}

func TestAConfigutilValueThatDoesNotReadBackStopsTheMerge(t *testing.T) {
	tr, _ := sampleTree(t)
	tr.Configutil = &fakeConfigutil{vals: map[string]string{}, lie: "service.http.port"}
	_, err := Merge(context.Background(), tr, PolicyReapply, nil)
	if err == nil || !strings.Contains(err.Error(), "service.http.port reads back") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialParametersAreNeverShown(t *testing.T) {
	for name, want := range map[string]bool{"local.ugldapbindcred": true, "local.service.pab.ldappasswd": true, "service.http.port": false} {
		if secretParam(name) != want {
			t.Errorf("secretParam(%s) = %v", name, !want)
		}
	}
}
