package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const specJSON = `{"package": "capabilities",
 "layers": [
  {"name": "b2_dw"}, {"name": "b2_project"},
  {"name": "gc1_g3_shuffle"}, {"name": "gc1_g3"},
  {"name": "dwm2_c32_56"}, {"name": "dw3_c64_56"},
  {"name": "pw1"}, {"name": "pw1_nchw"}
 ],
 "blocks": [{"name": "b2_block"}]}`

const benchOut = `goos: linux
pkg: github.com/convgen/convgen/bench/capabilities
BenchmarkB2_block/fused-2         	 100	 1000 ns/op	 150.0 GFLOP/s
BenchmarkB2_block/unfused-2       	 100	 1000 ns/op	 120.0 GFLOP/s
BenchmarkB2_block/fused_parallel-2  	 100	 1000 ns/op	 280.0 GFLOP/s
BenchmarkB2_block/unfused_parallel-2	 100	 1000 ns/op	 200.0 GFLOP/s
BenchmarkGc1_g3_shuffle/avx2-2    	 100	 1000 ns/op	 99.0 GFLOP/s
BenchmarkGc1_g3/avx2-2            	 100	 1000 ns/op	 100.0 GFLOP/s
BenchmarkGc1_g3/avx512-2          	 100	 1000 ns/op	 200.0 GFLOP/s
BenchmarkGc1_g3/avx512_parallel-2 	 100	 1000 ns/op	 380.0 GFLOP/s
BenchmarkDwm2_c32_56/avx2-2       	 100	 1000 ns/op	 60.0 GFLOP/s
BenchmarkDwm2_c32_56/purego-2     	 100	 1000 ns/op	 6.0 GFLOP/s
BenchmarkDwm2_c32_56/naive-2      	 100	 1000 ns/op	 0.5 GFLOP/s
BenchmarkDw3_c64_56/avx512-2      	 100	 1000 ns/op	 120.0 GFLOP/s
BenchmarkPw1/avx2-2               	 100	 1000 ns/op	 130.0 GFLOP/s
BenchmarkPw1_nchw/avx2-2          	 100	 1000 ns/op	 104.0 GFLOP/s
BenchmarkPw1_nchw/purego-2        	 100	 1000 ns/op	 8.0 GFLOP/s
BenchmarkPw1_nchw/naive-2         	 100	 1000 ns/op	 0.5 GFLOP/s
`

// TestTables: every ratio comes from the right pair of cells, and rows
// with nothing measured show dashes rather than vanish or divide by zero.
func TestTables(t *testing.T) {
	dir := t.TempDir()
	spec, raw := filepath.Join(dir, "spec.json"), filepath.Join(dir, "raw.txt")
	require.NoError(t, os.WriteFile(spec, []byte(specJSON), 0o644))
	require.NoError(t, os.WriteFile(raw, []byte(benchOut), 0o644))
	var b strings.Builder
	require.NoError(t, run(spec, []string{raw}, &b))
	out := b.String()
	for _, want := range []string{
		"| b2_block | 150.0 | 120.0 | 1.25× | 280.0 | 200.0 | 1.40× |",
		"| pw1 | 130.0 | 104.0 | 0.80× | 8.0 | 0.5 | 16.00× |",
		"| gc1_g3 | 99.0 | 100.0 | 0.99× | — | 200.0 | — |",
		"| dwm2_c32_56 | 60.0 | — | 6.0 | 0.5 | 0.50× |",
		"| gc1_g3 | avx512 | 200.0 | 380.0 | 1.90× |",
		"| b2_block | fused | 150.0 | 280.0 | 1.87× |",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "| b2_dw |", "rows with no results are left out of the scaling table")
}

func TestNoResults(t *testing.T) {
	dir := t.TempDir()
	spec, raw := filepath.Join(dir, "spec.json"), filepath.Join(dir, "raw.txt")
	require.NoError(t, os.WriteFile(spec, []byte(specJSON), 0o644))
	require.NoError(t, os.WriteFile(raw, []byte("PASS\n"), 0o644))
	assert.ErrorContains(t, run(spec, []string{raw}, io.Discard), "no GFLOP/s")
	assert.Error(t, run(filepath.Join(dir, "missing.json"), []string{raw}, io.Discard))
}
