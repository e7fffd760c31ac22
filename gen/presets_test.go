package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPresetsUpToDate regenerates every package under generated/ from its
// spec.json and compares it with the checked-in files, byte for byte: a
// template change that is not followed by `make generate` fails here.
func TestPresetsUpToDate(t *testing.T) {
	specs, err := filepath.Glob("../generated/*/spec.json")
	require.NoError(t, err)
	require.NotEmpty(t, specs)
	for _, specPath := range specs {
		dir := filepath.Dir(specPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(specPath)
			require.NoError(t, err)
			spec, err := ParseSpec("spec.json", data)
			require.NoError(t, err)
			plan, err := NewPlan(spec)
			require.NoError(t, err)
			files, err := Generate(plan)
			require.NoError(t, err)
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if assert.NoError(t, err, "%s is missing: run make generate", name) {
					assert.True(t, string(want) == string(got), "%s/%s differs from a fresh regeneration: run make generate", dir, name)
				}
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				if _, ok := files[e.Name()]; ok || !(strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), ".s")) {
					continue
				}
				gen, err := isGenerated(filepath.Join(dir, e.Name()))
				require.NoError(t, err)
				assert.False(t, gen, "%s/%s is a stale generated file: run make generate", dir, e.Name())
			}
		})
	}
}

// TestGenerateTwiceIsIdentical: same spec, same bytes.
func TestGenerateTwiceIsIdentical(t *testing.T) {
	data, err := os.ReadFile("../generated/mobilenetv2/spec.json")
	require.NoError(t, err)
	var outs []map[string][]byte
	for range 2 {
		spec, err := ParseSpec("spec.json", data)
		require.NoError(t, err)
		plan, err := NewPlan(spec)
		require.NoError(t, err)
		files, err := Generate(plan)
		require.NoError(t, err)
		outs = append(outs, files)
	}
	assert.Equal(t, outs[0], outs[1])
}
