package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDownstreamModule is how users meet convgen: a module of their own
// adds it as a tool, writes a go:generate line, runs go generate and tests
// the generated package on both kernel paths.
func TestDownstreamModule(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	writeFile(t, dir, "go.mod", "module example.com/app\n\ngo 1.24\n\nrequire github.com/convgen/convgen v0.0.0\n\nreplace github.com/convgen/convgen => "+root+"\n")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "kernels"), 0o755))
	spec, err := os.ReadFile("testdata/every_field.json")
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "kernels"), "layers.json", string(spec))
	// The spec uses every field of the JSON form; the -layer flags use the inline form's
	// (layer n is NCHW in the inline form, planar and planar_shuffle in the JSON one).
	writeFile(t, filepath.Join(dir, "kernels"), "gen.go", `package kernels

//go:generate go tool convgen -spec layers.json -layer "pw:cin=24,cout=40,k=1,bias=true" -layer "g:cin=16,cout=16,k=3x5,groups=4,stride=2x1,pad=1x2x0x2,dilation=1x2,act=-1:2" -layer "s:cin=8,cout=8,k=3,groups=8,pad=same,act=relu6,input=9x9" -layer "n:cin=4,cout=8,k=3x1,groups=2,stride=2,pad=1x0,bias=true,layout=nchw" -pkg kernels
`)
	gocmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %v:\n%s", args, out)
	}
	// What `go get -tool github.com/convgen/convgen/cmd/convgen` does for a
	// published module. Here the module is only a replace directive, and
	// `go get` would first ask the module proxy whether cmd/convgen is a
	// module of its own, which fails offline.
	gocmd("mod", "edit", "-tool=github.com/convgen/convgen/cmd/convgen")
	gocmd("mod", "tidy")
	gocmd("generate", "./...")
	gocmd("mod", "tidy")
	gocmd("vet", "./...")
	gocmd("test", "-count=1", "./kernels")
	gocmd("test", "-count=1", "-tags", "purego", "./kernels")
	for _, f := range []string{"dwconv_amd64.s", "gconv_amd64.s", "pwconv_amd64.s", "pgconv_amd64.s", "pgconv_avx512_amd64.s", "nchwconv_amd64.s", "convgen_driver_nchw.go", "layers.go"} {
		require.FileExists(t, filepath.Join(dir, "kernels", f))
	}
}
