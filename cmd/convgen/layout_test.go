package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayoutFiles: an NCHW layer, from -spec or -layer, brings the NCHW
// half of the driver and the nchwconv assembly; regenerating without one
// removes them (they are generated files), and -emit-spec keeps the layout.
func TestLayoutFiles(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	spec := writeFile(t, dir, "l.json", `{"package": "k", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 3, "pad": 1, "layout": "nchw"}]}`)
	emitted := filepath.Join(dir, "emitted.json")
	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-spec", spec, "-layer", "b:cin=8,cout=4,k=1,layout=nchw", "-emit-spec", emitted, "-out", out}, &stderr), stderr.String())
	for _, name := range []string{"convgen_driver.go", "convgen_driver_nchw.go", "nchwconv_amd64.s", "layers.go"} {
		assert.FileExists(t, filepath.Join(out, name))
	}
	e, err := os.ReadFile(emitted)
	require.NoError(t, err)
	assert.Equal(t, 2, bytes.Count(e, []byte(`"layout": "nchw"`)), string(e))

	require.Equal(t, 0, run([]string{"-layer", "a:cin=8,cout=8,k=3,pad=1", "-pkg", "k", "-out", out}, &stderr), stderr.String())
	assert.NoFileExists(t, filepath.Join(out, "convgen_driver_nchw.go"))
	assert.NoFileExists(t, filepath.Join(out, "nchwconv_amd64.s"))
	assert.FileExists(t, filepath.Join(out, "gconv_amd64.s"))
	assert.FileExists(t, filepath.Join(out, "convgen_driver.go"))
}
