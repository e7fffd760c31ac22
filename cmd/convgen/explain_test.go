package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExplainCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runExplain([]string{"-spec", "../../generated/alexnet/spec.json"}, &stdout, &stderr), stderr.String())
	table := stdout.String()
	assert.Regexp(t, `(?m)^conv2 +96->256 5x5 g2 s1 pad 2 bias relu +27x27->27x27 +307\.5K +307\.2K +223\.95M +447\.90M +2x +198\.5 +compute +gconv`, table)
	assert.Regexp(t, `(?m)^total \(3\) +1\.41M +410\.85M +821\.70M +2x`, table)
	assert.Contains(t, table, "ridge 4.18 FLOP/B")

	// -json, another machine, and an ONNX model with a spec in one report.
	dir := t.TempDir()
	model, _ := roundTripModel()
	modelPath := writeFile(t, dir, "model.onnx", string(model.Marshal()))
	stdout.Reset()
	require.Equal(t, 0, runExplain([]string{"-json", "-peak", "200", "-bw", "117", "-spec", "../../generated/resnext50/spec.json", "-onnx", modelPath}, &stdout, &stderr), stderr.String())
	var report struct {
		Ridge  float64 `json:"ridge"`
		Layers []struct {
			Name   string  `json:"name"`
			Groups int     `json:"groups"`
			Saving float64 `json:"saving"`
			MACs   int64   `json:"macs"`
			Bound  string  `json:"bound"`
			Family string  `json:"family"`
		} `json:"layers"`
		Totals struct {
			NoInput int `json:"layers_without_input"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &report), stdout.String())
	assert.InDelta(t, 200.0/117, report.Ridge, 1e-12)
	require.Len(t, report.Layers, 7+6)
	for _, l := range report.Layers {
		assert.Equal(t, float64(l.Groups), l.Saving, l.Name)
		assert.NotEmpty(t, l.Family, l.Name)
	}
	assert.Equal(t, "stem_conv_1", report.Layers[7].Name)
	assert.NotZero(t, report.Layers[7].MACs, "the model gives the first conv's input size")
	assert.Equal(t, 5, report.Totals.NoInput, "the other model layers have no size")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "no layers"},
		{[]string{"-spec", "../../generated/alexnet/spec.json", "-peak", "0"}, "-peak=0 -bw=28: both must be positive"},
		{[]string{"-layer", "x:cin=8,cout=8,k=3,groups=3"}, `-layer 1: layer "x": groups=3 does not divide cin=8`},
		{[]string{"-spec", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		stdout.Reset()
		stderr.Reset()
		assert.Equal(t, 2, runExplain(c.args, &stdout, &stderr), c.args)
		assert.Contains(t, stderr.String(), c.want, c.args)
		assert.True(t, strings.HasPrefix(stderr.String(), "convgen explain: "), stderr.String())
		assert.Empty(t, stdout.String())
	}
	stderr.Reset()
	assert.Equal(t, 0, runExplain([]string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-bw")
}
