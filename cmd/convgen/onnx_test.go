package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ox "github.com/convgen/convgen/internal/onnxtest"
	"github.com/convgen/convgen/verify"
	"github.com/convgen/convgen/weights"
)

func randTensor(r *rand.Rand, name string, dims ...int64) ox.Tensor {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(r.Float64()*2 - 1)
	}
	return ox.Tensor{Name: name, Dims: dims, Data: data, Raw: true}
}

func conv(name string, inputs []string, out string, attrs ...ox.Attr) ox.Node {
	return ox.Node{Name: name, Op: "Conv", Inputs: inputs, Outputs: []string{out}, Attrs: attrs}
}

// roundTripLayer is one Conv of the round-trip model and what it must mean,
// written out by hand (not derived from the importer) so that the test
// checks the import, not only the kernels.
type roundTripLayer struct {
	name, typ string
	conv      verify.Conv
	w, b      string // initializer names
}

// roundTripModel is a small network with every kind of Conv the importer
// handles: dense with asymmetric pads, bias and ReLU6 (Clip with initializer
// bounds); grouped with stride and ReLU; depthwise with dilation and
// SAME_UPPER; an unnamed grouped 1×1; a depthwise channel multiplier with
// asymmetric pads; depthwise 3×5 dilated with SAME_LOWER (symmetric here)
// and a clamp from a Constant node.
func roundTripModel() (ox.Model, []roundTripLayer) {
	r := rand.New(rand.NewPCG(7, 7))
	inits := []ox.Tensor{
		randTensor(r, "w1", 16, 8, 3, 3), randTensor(r, "b1", 16),
		randTensor(r, "w2", 16, 4, 3, 3),
		randTensor(r, "w3", 16, 1, 3, 3), randTensor(r, "b3", 16),
		randTensor(r, "w4", 24, 8, 1, 1),
		randTensor(r, "w5", 48, 1, 3, 3), randTensor(r, "b5", 48),
		randTensor(r, "w6", 48, 1, 3, 5),
		{Name: "zero", Data: []float32{0}}, {Name: "six", Data: []float32{6}},
	}
	m := ox.Model{Opset: 13, Graph: ox.Graph{
		Name:         "roundtrip",
		Initializers: inits,
		Inputs:       []ox.ValueInfo{{Name: "x", Dims: []int64{1, 8, 13, 11}}},
		Outputs:      []ox.ValueInfo{{Name: "y6"}},
		Nodes: []ox.Node{
			conv("stem/conv 1", []string{"x", "w1", "b1"}, "c1", ox.Ints("kernel_shape", 3, 3), ox.Ints("pads", 1, 0, 0, 2)),
			{Name: "clip", Op: "Clip", Inputs: []string{"c1", "zero", "six"}, Outputs: []string{"y1"}},
			conv("grouped", []string{"y1", "w2"}, "c2", ox.Int("group", 4), ox.Ints("strides", 2, 2), ox.Ints("pads", 1, 1, 1, 1)),
			{Name: "relu", Op: "Relu", Inputs: []string{"c2"}, Outputs: []string{"y2"}},
			conv("dw", []string{"y2", "w3", "b3"}, "y3", ox.Int("group", 16), ox.Ints("dilations", 2, 2), ox.String("auto_pad", "SAME_UPPER")),
			conv("", []string{"y3", "w4"}, "y4", ox.Int("group", 2)),
			conv("dw.mult", []string{"y4", "w5", "b5"}, "c5", ox.Int("group", 24), ox.Ints("strides", 1, 2), ox.Ints("pads", 0, 1, 2, 1)),
			{Name: "relu5", Op: "Relu", Inputs: []string{"c5"}, Outputs: []string{"y5"}},
			{Name: "lo", Op: "Constant", Outputs: []string{"lo"}, Attrs: []ox.Attr{ox.TensorAttr("value", ox.Tensor{Data: []float32{-1.5}})}},
			conv("grouped", []string{"y5", "w6"}, "c6", ox.Int("group", 48), ox.Ints("dilations", 1, 2), ox.String("auto_pad", "SAME_LOWER")),
			{Name: "clamp", Op: "Clip", Inputs: []string{"c6", "lo"}, Outputs: []string{"y6"}},
		},
	}}
	inf := float32(math.Inf(1))
	base := verify.Conv{KH: 3, KW: 3, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, ActMin: -inf, ActMax: inf}
	with := func(f func(c *verify.Conv)) verify.Conv { c := base; f(&c); return c }
	layers := []roundTripLayer{
		{"stem_conv_1", "Stem_conv_1", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.PadTop, c.PadRight, c.Bias, c.ActMin, c.ActMax = 8, 16, 1, 2, true, 0, 6
		}), "w1", "b1"},
		{"grouped", "Grouped", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.Groups, c.StrideH, c.StrideW = 16, 16, 4, 2, 2
			c.PadTop, c.PadLeft, c.PadBottom, c.PadRight, c.ActMin = 1, 1, 1, 1, 0
		}), "w2", ""},
		{"dw", "Dw", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.Groups, c.DilationH, c.DilationW, c.SamePad, c.Bias = 16, 16, 16, 2, 2, true, true
		}), "w3", "b3"},
		{"conv_5", "Conv_5", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.Groups, c.KH, c.KW = 16, 24, 2, 1, 1
		}), "w4", ""},
		{"dw_mult", "Dw_mult", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.Groups, c.StrideW, c.Bias, c.ActMin = 24, 48, 24, 2, true, 0
			c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 0, 1, 2, 1
		}), "w5", "b5"},
		{"grouped_2", "Grouped_2", with(func(c *verify.Conv) {
			c.Cin, c.Cout, c.Groups, c.KW, c.DilationW, c.ActMin = 48, 48, 48, 5, 2, -1.5
			c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 4, 1, 4
		}), "w6", ""},
	}
	return m, layers
}

// goConv prints c as a Go expression.
func goConv(c verify.Conv) string {
	f := func(x float32) string {
		if math.IsInf(float64(x), 0) {
			return fmt.Sprintf("float32(math.Inf(%d))", int(math.Copysign(1, float64(x))))
		}
		return fmt.Sprintf("%v", x)
	}
	return fmt.Sprintf("verify.Conv{Cin: %d, Cout: %d, KH: %d, KW: %d, Groups: %d, StrideH: %d, StrideW: %d, DilationH: %d, DilationW: %d, "+
		"PadTop: %d, PadLeft: %d, PadBottom: %d, PadRight: %d, SamePad: %t, Bias: %t, ActMin: %s, ActMax: %s}",
		c.Cin, c.Cout, c.KH, c.KW, c.Groups, c.StrideH, c.StrideW, c.DilationH, c.DilationW,
		c.PadTop, c.PadLeft, c.PadBottom, c.PadRight, c.SamePad, c.Bias, f(c.ActMin), f(c.ActMax))
}

// TestONNXRoundTrip goes from a model file to running kernels with the
// model's weights: convgen -onnx … -weights in a module of its own, whose
// test loads the weights file and checks every layer's Forward against the
// reference on both kernel paths.
func TestONNXRoundTrip(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	model, layers := roundTripModel()
	modelPath := writeFile(t, dir, "model.onnx", string(model.Marshal()))
	writeFile(t, dir, "go.mod", "module example.com/app\n\ngo 1.24\n\nrequire github.com/convgen/convgen v0.0.0\n\nreplace github.com/convgen/convgen => "+root+"\n")
	pkgDir := filepath.Join(dir, "kernels")
	weightsPath := filepath.Join(pkgDir, "model.cvgw") // beside the package, which does not exist yet
	specPath := filepath.Join(dir, "spec.json")

	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-onnx", modelPath, "-pkg", "kernels", "-out", pkgDir, "-weights", weightsPath, "-emit-spec", specPath}, &stderr), stderr.String())
	assert.Empty(t, stderr.String(), "quiet by default")

	// The weights file holds exactly the initializers.
	ws, err := weights.ReadFile(weightsPath)
	require.NoError(t, err)
	require.Len(t, ws, len(layers))
	inits := map[string][]float32{}
	for _, t := range model.Graph.Initializers {
		inits[t.Name] = t.Data
	}
	for _, l := range layers {
		require.Contains(t, ws, l.name)
		assert.Equal(t, inits[l.w], ws[l.name].Weights, l.name)
		if l.b == "" {
			assert.Nil(t, ws[l.name].Bias, l.name)
		} else {
			assert.Equal(t, inits[l.b], ws[l.name].Bias, l.name)
		}
	}
	// The emitted spec is the model's layers, with the image size of the first.
	spec, err := os.ReadFile(specPath)
	require.NoError(t, err)
	assert.Contains(t, string(spec), `{"name": "stem_conv_1", "cin": 8, "cout": 16, "k": 3, "pad": [1, 0, 0, 2], "bias": true, "act": "relu6", "input": [13, 11]}`)
	assert.Contains(t, string(spec), `{"name": "grouped_2", "cin": 48, "cout": 48, "k": [3, 5], "groups": 48, "pad": [1, 4], "dilation": [1, 2], "act": {"min": -1.5}}`)

	var cases strings.Builder
	for _, l := range layers {
		fmt.Fprintf(&cases, "\t\t{%q, %s, func(w, b []float32) (layer, error) { return New%s(w, b) }},\n", l.name, goConv(l.conv), l.typ)
	}
	writeFile(t, pkgDir, "model_test.go", `package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convgen/convgen/verify"
	"github.com/convgen/convgen/weights"
)

type layer interface {
	Forward(dst, src []float32, n, h, w int) error
}

// Every layer, loaded with the model's weights, matches the reference.
func TestModelWeights(t *testing.T) {
	ws, err := weights.ReadFile(`+fmt.Sprintf("%q", weightsPath)+`)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		conv verify.Conv
		make func(w, b []float32) (layer, error)
	}{
`+cases.String()+`	} {
		p, ok := ws[c.name]
		if !ok {
			t.Fatalf("%s: not in the weights file", c.name)
		}
		l, err := c.make(p.Weights, p.Bias)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, size := range [][3]int{{1, 13, 11}, {2, 7, 9}, {1, 5, 5}} {
			n, h, w := size[0], size[1], size[2]
			src := make([]float32, n*h*w*c.conv.Cin)
			for i := range src {
				src[i] = float32(r.Float64()*2 - 1)
			}
			want, mag := verify.Reference(c.conv, src, p.Weights, p.Bias, n, h, w)
			got := make([]float32, len(want))
			if err := l.Forward(got, src, n, h, w); err != nil {
				t.Fatalf("%s %v: %v", c.name, size, err)
			}
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > verify.Tolerance(c.conv, mag[i]) {
					t.Fatalf("%s %v: output %d = %g, reference %g", c.name, size, i, got[i], want[i])
				}
			}
		}
	}
}
`)
	gocmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %v:\n%s", args, out)
	}
	gocmd("mod", "tidy")
	gocmd("test", "-count=1", "-run", "TestModelWeights", "./kernels")
	gocmd("test", "-count=1", "-tags", "purego", "-run", "TestModelWeights", "./kernels")

	// The emitted spec generates the same package as the model.
	again := filepath.Join(dir, "again")
	require.Equal(t, 0, run([]string{"-spec", specPath, "-pkg", "kernels", "-out", again}, &stderr), stderr.String())
	want := snapshot(t, pkgDir)
	delete(want, "/model_test.go")
	delete(want, "/model.cvgw")
	assert.Equal(t, want, snapshot(t, again))
}

func TestONNXErrorsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 1))
	bad := ox.Model{Graph: ox.Graph{
		Initializers: []ox.Tensor{randTensor(r, "w", 8, 8, 3, 3), randTensor(r, "w3", 8, 8, 3, 3, 3)},
		Nodes: []ox.Node{
			conv("ok", []string{"x", "w"}, "y"),
			conv("conv_dw", []string{"y", "w3"}, "z", ox.Ints("kernel_shape", 3, 3, 3)),
			conv("lower", []string{"z", "w"}, "z2", ox.Ints("strides", 2, 2), ox.String("auto_pad", "SAME_LOWER")),
		},
	}}
	badPath := writeFile(t, dir, "bad.onnx", string(bad.Marshal()))
	dyn := ox.Model{Graph: ox.Graph{
		Nodes:     []ox.Node{conv("dyn", []string{"x", "wdyn"}, "y")},
		ValueInfo: []ox.ValueInfo{{Name: "wdyn", Dims: []int64{8, 8, 3, 3}}},
	}}
	dynPath := writeFile(t, dir, "dyn.onnx", string(dyn.Marshal()))
	spec := writeFile(t, dir, "layers.json", goodSpec)
	out := filepath.Join(dir, "out")
	before := snapshot(t, dir)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-onnx", badPath, "-pkg", "k", "-out", out, "-weights", filepath.Join(dir, "w.cvgw"), "-emit-spec", filepath.Join(dir, "s.json")},
			[]string{`convgen: ` + badPath + `: node 1 "conv_dw" (Conv): kernel_shape=[3,3,3]: only 2-D convolutions are supported`,
				badPath + `: node 2 "lower" (Conv): auto_pad=SAME_LOWER: not supported`}},
		{[]string{"-onnx", dynPath, "-pkg", "k", "-out", out, "-weights", filepath.Join(dir, "w.cvgw")},
			[]string{`dyn.onnx: node 0 "dyn" (Conv): W "wdyn": not an initializer, so its weights cannot be exported`}},
		{[]string{"-spec", spec, "-weights", filepath.Join(dir, "w.cvgw"), "-out", out}, []string{"-weights needs -onnx"}},
		{[]string{"-onnx", filepath.Join(dir, "missing.onnx"), "-pkg", "k", "-out", out}, []string{"missing.onnx"}},
		{[]string{"-onnx", spec, "-pkg", "k", "-out", out}, []string{"layers.json: not a readable ONNX model"}},
		{[]string{"-spec", spec, "-emit-spec", filepath.Join(dir, "nodir", "s.json"), "-out", out}, []string{"nodir"}},
		{[]string{"-onnx", dynPath, "-out", out}, []string{"no package name"}},
	} {
		var stderr bytes.Buffer
		assert.Equal(t, 2, run(c.args, &stderr), c.args)
		for _, want := range c.want {
			assert.Contains(t, stderr.String(), want, c.args)
		}
		assert.Equal(t, len(c.want), strings.Count(stderr.String(), "\n"), stderr.String())
		assert.Equal(t, before, snapshot(t, dir), "files written after %v", c.args)
	}
}

// -emit-spec alone writes the spec and generates nothing; -emit-spec with
// -out does both (TestONNXRoundTrip).
func TestEmitSpecAlone(t *testing.T) {
	dir := t.TempDir()
	model, _ := roundTripModel()
	writeFile(t, dir, "model.onnx", string(model.Marshal()))
	t.Chdir(dir)
	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-onnx", "model.onnx", "-emit-spec", "spec.json", "-weights", "w.cvgw"}, &stderr), stderr.String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"model.onnx", "spec.json", "w.cvgw"}, names)
	data, err := os.ReadFile("spec.json")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), `{"layers": [`), "no package without -pkg: %s", data)

	// -spec and -onnx together: the spec's layers, then the model's.
	writeFile(t, dir, "extra.json", `{"package": "k", "layers": [{"name": "first", "cin": 8, "cout": 8, "k": 1}]}`)
	require.Equal(t, 0, run([]string{"-spec", "extra.json", "-onnx", "model.onnx", "-layer", "last:cin=8,cout=8,k=1", "-emit-spec", "both.json"}, &stderr), stderr.String())
	data, err = os.ReadFile("both.json")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 3+8) // {"package", "layers": [, 8 layers, ]}
	assert.Contains(t, lines[0], `"package": "k"`)
	assert.Contains(t, lines[2], `"name": "first"`)
	assert.Contains(t, lines[3], `"name": "stem_conv_1"`)
	assert.Contains(t, lines[9], `"name": "last"`)
}

func TestVerbose(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var stderr bytes.Buffer
	args := []string{"-layer", "a:cin=8,cout=8,k=3,groups=8,pad=1", "-layer", "b:cin=8,cout=16,k=1", "-layer", "c:cin=8,cout=16,k=1", "-pkg", "k", "-out", out}
	require.Equal(t, 0, run(append(args, "-v"), &stderr), stderr.String())
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.Len(t, lines, 6, stderr.String())
	assert.Equal(t, "planned 3 layers → 2 kernels", lines[0])
	assert.Regexp(t, `^assembled 1 dwconv kernel\(s\) and 4 edge variant\(s\) for AVX2 in \d+ ms: dwconv3x3_c8_s1_d1_none \(8ch x \d+px\)$`, lines[1])
	assert.Regexp(t, `^assembled 1 pwconv kernel\(s\) for AVX2 in \d+ ms: pwconv_ci8_co16_g1_s1_none \(\d+ch x \d+px\)$`, lines[2])
	assert.Regexp(t, `^assembled 1 dwconv kernel\(s\) and 4 edge variant\(s\) for AVX-512 in \d+ ms$`, lines[3])
	assert.Regexp(t, `^assembled 1 pwconv kernel\(s\) for AVX-512 in \d+ ms$`, lines[4])
	assert.Regexp(t, `^wrote \d+ files to .*out in [0-9.]+ s$`, lines[5])

	stderr.Reset()
	require.Equal(t, 0, run(args, &stderr))
	assert.Empty(t, stderr.String())
}
