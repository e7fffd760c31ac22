package main

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ox "github.com/convgen/convgen/internal/onnxtest"
)

func TestLanesCommand(t *testing.T) {
	dir := t.TempDir()
	// AlexNet-like: conv (G=2) → ReLU → LRN → MaxPool → conv (G=2); and a dense conv after.
	r := rand.New(rand.NewPCG(3, 3))
	m := ox.Model{Graph: ox.Graph{
		Initializers: []ox.Tensor{randTensor(r, "w1", 32, 8, 3, 3), randTensor(r, "w2", 24, 16, 3, 3), randTensor(r, "w3", 16, 24, 1, 1)},
		Nodes: []ox.Node{
			conv("conv4", []string{"x", "w1"}, "c1", ox.Int("group", 2)),
			{Op: "Relu", Inputs: []string{"c1"}, Outputs: []string{"r1"}},
			{Op: "LRN", Inputs: []string{"r1"}, Outputs: []string{"n1"}},
			{Op: "MaxPool", Inputs: []string{"n1"}, Outputs: []string{"p1"}},
			conv("conv5", []string{"p1", "w2"}, "c2", ox.Int("group", 2)),
			conv("fc", []string{"c2", "w3"}, "c3"),
		},
	}}
	modelPath := writeFile(t, dir, "alex.onnx", string(m.Marshal()))
	out := filepath.Join(dir, "lanes.png")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runLanes([]string{"-onnx", modelPath, "-first", "conv4", "-second", "conv5", "-o", out, "-size", "256"}, &stdout, &stderr), stderr.String())
	assert.Regexp(t, `lanes.png: conv4 -> conv5: 32 x 24 filters, 2 lanes \(layer 2's groups\): mean correlation [0-9.e-]+ on the diagonal blocks, 0 off them\n$`, stdout.String())
	f, err := os.Open(out)
	require.NoError(t, err)
	img, err := png.Decode(f)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, 192, img.Bounds().Dx())
	assert.Equal(t, 256, img.Bounds().Dy())

	// Raw weight files: the same layers give the same picture.
	raw := func(name string, data []float32) string {
		var b []byte
		for _, x := range data {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return writeFile(t, dir, name, string(b))
	}
	w1 := raw("w1.bin", m.Graph.Initializers[0].Data)
	w2 := raw("w2.bin", m.Graph.Initializers[1].Data)
	out2 := filepath.Join(dir, "raw.png")
	stdout.Reset()
	require.Equal(t, 0, runLanes([]string{"-w1", w1, "-shape1", "32,8,3,3", "-groups1", "2", "-w2", w2, "-shape2", "24,16,3,3", "-groups2", "2", "-o", out2, "-size", "256"}, &stdout, &stderr), stderr.String())
	a, err := os.ReadFile(out)
	require.NoError(t, err)
	b, err := os.ReadFile(out2)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	before := snapshot(t, dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-onnx", modelPath, "-first", "conv4", "-second", "fc"}, `node 5 "fc" does not read the output of node 0 "conv4"`},
		{[]string{"-onnx", modelPath, "-first", "conv4"}, "-onnx needs -first NODE and -second NODE"},
		{[]string{"-onnx", modelPath, "-first", "conv4", "-second", "nope"}, `no Conv node named "nope" (the Conv layers are "conv4", "conv5", "fc")`},
		{[]string{"-w1", w1, "-shape1", "32,8,3", "-w2", w2, "-shape2", "24,16,3,x"}, `-shape1="32,8,3": want cout,cin_g,kh,kw`},
		{[]string{"-w1", w1, "-shape1", "32,8,3,3", "-groups1", "2", "-w2", w2, "-shape2", "24,16,3,3"}, "layer 2 reads 16 channels (16 per group × 1 groups), layer 1 makes 32"},
		{[]string{"-w1", w1, "-shape1", "32,8,3,4", "-groups1", "2", "-w2", w2, "-shape2", "24,16,3,3", "-groups2", "2"}, "layer 1: 2304 weights, its shape wants 3072"},
		{[]string{"-w1", w1}, "give -onnx FILE -first NODE -second NODE, or -w1"},
		{[]string{"-onnx", modelPath, "-w1", w1}, "not both"},
		{[]string{"-onnx", modelPath, "-first", "conv4", "-second", "conv5", "-o", filepath.Join(dir, "nodir", "x.png")}, "nodir"},
	} {
		stdout.Reset()
		stderr.Reset()
		assert.Equal(t, 2, runLanes(c.args, &stdout, &stderr), c.args)
		assert.Contains(t, stderr.String(), c.want, c.args)
		assert.Empty(t, stdout.String())
	}
	assert.Equal(t, before, snapshot(t, dir))
}

// run dispatches the subcommands.
func TestSubcommandDispatch(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 0, run([]string{"explain", "-h"}, &stderr))
	assert.Contains(t, stderr.String(), "usage: convgen explain")
	stderr.Reset()
	assert.Equal(t, 0, run([]string{"lanes", "-h"}, &stderr))
	assert.Contains(t, stderr.String(), "usage: convgen lanes")
	stderr.Reset()
	assert.Equal(t, 2, run([]string{"lanes"}, &stderr))
	assert.Contains(t, stderr.String(), "convgen lanes: give -onnx")
}
