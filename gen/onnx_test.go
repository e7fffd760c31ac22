package gen

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ox "github.com/convgen/convgen/internal/onnxtest"
)

// randTensor is a float initializer of the given shape with values in [-1, 1).
func randTensor(r *rand.Rand, name string, dims ...int64) ox.Tensor {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(r.Float64()*2 - 1)
	}
	return ox.Tensor{Name: name, Dims: dims, Data: data, Raw: n%2 == 0}
}

func scalar(name string, v float32) ox.Tensor { return ox.Tensor{Name: name, Data: []float32{v}} }

func convNode(name string, inputs []string, out string, attrs ...ox.Attr) ox.Node {
	return ox.Node{Name: name, Op: "Conv", Inputs: inputs, Outputs: []string{out}, Attrs: attrs}
}

// testModel has one conv of each kind convgen must understand.
func testModel(t *testing.T) (ox.Model, map[string]ox.Tensor) {
	r := rand.New(rand.NewPCG(1, 2))
	inits := map[string]ox.Tensor{}
	add := func(t ox.Tensor) { inits[t.Name] = t }
	add(randTensor(r, "w1", 16, 8, 3, 3))
	add(randTensor(r, "b1", 16))
	add(randTensor(r, "w2", 16, 4, 3, 3))
	add(randTensor(r, "w3", 16, 1, 3, 3))
	add(randTensor(r, "b3", 16))
	add(randTensor(r, "w4", 24, 8, 1, 1))
	add(randTensor(r, "w5", 24, 1, 3, 5))
	add(scalar("zero", 0))
	add(scalar("six", 6))
	m := ox.Model{Opset: 13, Graph: ox.Graph{
		Inputs:  []ox.ValueInfo{{Name: "x", Dims: []int64{-1, 8, 13, 11}}},
		Outputs: []ox.ValueInfo{{Name: "y5"}},
		Nodes: []ox.Node{
			// 0: dense, asymmetric pads, bias, Clip(0, 6) from initializers → relu6.
			convNode("stem/conv 1", []string{"x", "w1", "b1"}, "c1", ox.Ints("kernel_shape", 3, 3), ox.Ints("pads", 1, 0, 0, 2)),
			{Name: "clip", Op: "Clip", Inputs: []string{"c1", "zero", "six"}, Outputs: []string{"y1"}},
			// 2: grouped G=4, stride 2, Relu.
			convNode("grouped", []string{"y1", "w2"}, "c2", ox.Int("group", 4), ox.Ints("strides", 2, 2), ox.Ints("pads", 1, 1, 1, 1)),
			{Name: "relu", Op: "Relu", Inputs: []string{"c2"}, Outputs: []string{"y2"}},
			// 4: depthwise, dilation 2, SAME_UPPER, bias, no activation.
			convNode("dw", []string{"y2", "w3", "b3"}, "y3", ox.Int("group", 16), ox.Ints("dilations", 2, 2), ox.String("auto_pad", "SAME_UPPER")),
			// 5: pointwise G=2; its output also feeds a Relu and something else → no fusion.
			convNode("", []string{"y3", "w4"}, "c4", ox.Int("group", 2)),
			{Name: "relu2", Op: "Relu", Inputs: []string{"c4"}, Outputs: []string{"y4"}},
			{Name: "id", Op: "Identity", Inputs: []string{"c4"}, Outputs: []string{"y4b"}},
			// 9: depthwise 3x5, dilation [1, 2], SAME_LOWER with stride 1 and
			// odd spans (so symmetric), a clamp whose min is a Constant node.
			{Name: "lo", Op: "Constant", Outputs: []string{"lo"}, Attrs: []ox.Attr{ox.TensorAttr("value", scalar("", -1.5))}},
			convNode("grouped", []string{"y4", "w5"}, "c5", ox.Int("group", 24), ox.Ints("dilations", 1, 2), ox.String("auto_pad", "SAME_LOWER")),
			{Name: "clamp", Op: "Clip", Inputs: []string{"c5", "lo"}, Outputs: []string{"y5"}},
		},
	}}
	for _, name := range []string{"w1", "b1", "w2", "w3", "b3", "w4", "w5", "zero", "six"} {
		m.Graph.Initializers = append(m.Graph.Initializers, inits[name])
	}
	return m, inits
}

func TestReadONNX(t *testing.T) {
	m, inits := testModel(t)
	for _, packed := range []bool{false, true} {
		m.Packed = packed
		model, err := ReadONNX("model.onnx", m.Marshal())
		require.NoError(t, err)
		require.Len(t, model.Convs, 5)
		inf := float32(math.Inf(1))
		want := []Layer{
			{Name: "stem_conv_1", Cin: 8, Cout: 16, KH: 3, KW: 3, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
				Pad: Padding{Top: 1, Left: 0, Bottom: 0, Right: 2}, Bias: true, Act: NewActivation(ActReLU6), InputH: 13, InputW: 11},
			{Name: "grouped", Cin: 16, Cout: 16, KH: 3, KW: 3, Groups: 4, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1,
				Pad: uniformPad(1), Act: NewActivation(ActReLU)},
			{Name: "dw", Cin: 16, Cout: 16, KH: 3, KW: 3, Groups: 16, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2,
				Pad: Padding{Same: true}, Bias: true, Act: NewActivation(ActNone)},
			{Name: "conv_5", Cin: 16, Cout: 24, KH: 1, KW: 1, Groups: 2, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
				Act: NewActivation(ActNone)},
			{Name: "grouped_2", Cin: 24, Cout: 24, KH: 3, KW: 5, Groups: 24, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 2,
				Pad: Padding{Top: 1, Left: 4, Bottom: 1, Right: 4}, Act: NewClamp(-1.5, inf)},
		}
		for i, c := range model.Convs {
			w := want[i]
			w.Source, w.Index = "model.onnx", i+1
			assert.Equal(t, w, c.Layer, "conv %d", i)
		}
		assert.Equal(t, []int{0, 2, 4, 5, 9}, []int{model.Convs[0].NodeIndex, model.Convs[1].NodeIndex, model.Convs[2].NodeIndex, model.Convs[3].NodeIndex, model.Convs[4].NodeIndex})
		assert.Equal(t, "stem/conv 1", model.Convs[0].Node)
		assert.Equal(t, "y1", model.Convs[0].Output, "the fused Clip's output")
		assert.Equal(t, "c4", model.Convs[3].Output, "not fused: two consumers")

		entries, err := model.WeightEntries()
		require.NoError(t, err)
		require.Len(t, entries, 5)
		for i, wb := range [][2]string{{"w1", "b1"}, {"w2", ""}, {"w3", "b3"}, {"w4", ""}, {"w5", ""}} {
			assert.Equal(t, model.Convs[i].Name, entries[i].Name)
			assert.Equal(t, inits[wb[0]].Data, entries[i].Weights, wb[0])
			if wb[1] == "" {
				assert.Nil(t, entries[i].Bias)
			} else {
				assert.Equal(t, inits[wb[1]].Data, entries[i].Bias, wb[1])
			}
		}

		// The model's layers plan like any spec, and the emitted spec reads back.
		s := model.Spec("kernels")
		_, err = NewPlan(s)
		require.NoError(t, err)
		back, err := ParseSpec("spec.json", FormatSpec(s))
		require.NoError(t, err)
		for i := range back.Layers {
			l := s.Layers[i]
			l.Source = "spec.json"
			assert.Equal(t, l, back.Layers[i])
		}
		assert.Equal(t, "kernels", back.Package)

		// Lanes: the grouped conv reads the stem through the fused Clip; the
		// pointwise reads dw directly; dw does not read the stem.
		require.NoError(t, model.Follows(&model.Convs[0], &model.Convs[1]))
		require.NoError(t, model.Follows(&model.Convs[2], &model.Convs[3]))
		assert.ErrorContains(t, model.Follows(&model.Convs[0], &model.Convs[2]), `node 4 "dw" does not read the output of node 0 "stem/conv 1"`)
		c, err := model.Find("stem/conv 1")
		require.NoError(t, err)
		assert.Equal(t, "stem_conv_1", c.Name)
		c, err = model.Find("grouped_2")
		require.NoError(t, err)
		assert.Equal(t, 9, c.NodeIndex)
		_, err = model.Find("nope")
		assert.ErrorContains(t, err, `no Conv node named "nope" (the Conv layers are "stem_conv_1", "grouped", "dw", "conv_5", "grouped_2")`)
	}
}

// Before opset 11, Clip's bounds are attributes; a Relu whose input is a
// graph output as well is not fused; doubles are read.
func TestReadONNXOldClipAndDoubles(t *testing.T) {
	m := ox.Model{Opset: 6, Graph: ox.Graph{
		Initializers: []ox.Tensor{{Name: "w", Dims: []int64{8, 8, 1, 1}, Data: make([]float32, 64), DataType: 1}},
		Outputs:      []ox.ValueInfo{{Name: "c2"}},
		Nodes: []ox.Node{
			convNode("a", []string{"x", "w"}, "c1"),
			{Op: "Clip", Inputs: []string{"c1"}, Outputs: []string{"y1"}, Attrs: []ox.Attr{ox.Float("min", 0), ox.Float("max", 6)}},
			convNode("b", []string{"y1", "w"}, "c2"),
			{Op: "Relu", Inputs: []string{"c2"}, Outputs: []string{"y2"}},
			convNode("c", []string{"y2", "w"}, "c3"),
			{Op: "Clip", Inputs: []string{"c3"}, Outputs: []string{"y3"}, Attrs: []ox.Attr{ox.Float("min", 0)}},
		},
	}}
	model, err := ReadONNX("old.onnx", m.Marshal())
	require.NoError(t, err)
	assert.Equal(t, NewActivation(ActReLU6), model.Convs[0].Act)
	assert.Equal(t, NewActivation(ActNone), model.Convs[1].Act, "c2 is a graph output")
	assert.Equal(t, NewActivation(ActReLU), model.Convs[2].Act, "Clip(0, +inf) is relu")
}

func TestReadONNXErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := randTensor(r, "w", 8, 8, 3, 3)
	w3d := randTensor(r, "w3d", 8, 8, 3, 3, 3)
	model := func(nodes ...ox.Node) []byte {
		return ox.Model{Graph: ox.Graph{Nodes: nodes, Initializers: []ox.Tensor{w, w3d}}}.Marshal()
	}
	for _, c := range []struct {
		data []byte
		want []string
	}{
		{model(convNode("conv_dw", []string{"x", "w3d"}, "y", ox.Ints("kernel_shape", 3, 3, 3))),
			[]string{`model.onnx: node 0 "conv_dw" (Conv): kernel_shape=[3,3,3]: only 2-D convolutions are supported`}},
		{model(ox.Node{Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"x1"}}, convNode("c", []string{"x1", "w3d"}, "y")),
			[]string{`model.onnx: node 1 "c" (Conv): W shape=[8,8,3,3,3]: only 2-D convolutions are supported`}},
		{model(convNode("s2", []string{"x", "w"}, "y", ox.Ints("strides", 2, 2), ox.String("auto_pad", "SAME_LOWER"))),
			[]string{`model.onnx: node 0 "s2" (Conv): auto_pad=SAME_LOWER: not supported`}},
		{model(convNode("both", []string{"x", "w"}, "y", ox.Ints("pads", 1, 1, 1, 1), ox.String("auto_pad", "VALID"), ox.Ints("kernel_shape", 3, 5))),
			[]string{`node 0 "both" (Conv): kernel_shape=[3,5]: does not match W's shape [8,8,3,3]`,
				`node 0 "both" (Conv): pads=[1,1,1,1]: cannot be given with auto_pad=VALID`}},
		{model(convNode("p", []string{"x", "w"}, "y", ox.Ints("pads", 1, 1))),
			[]string{`node 0 "p" (Conv): pads=[1,1]: want 4 values [top, left, bottom, right]`}},
		{model(convNode("u", []string{"x", "unknown"}, "y")),
			[]string{`node 0 "u" (Conv): W "unknown": shape unknown`}},
		{model(convNode("g", []string{"x", "w"}, "y", ox.Int("group", 3))),
			[]string{`model.onnx: node 0 "g" (Conv): groups=3 does not divide cout=8`}},
		{model(convNode("bigpad", []string{"x", "w"}, "y", ox.Ints("pads", 3, 0, 0, 0))),
			[]string{`model.onnx: node 0 "bigpad" (Conv): pad=[3,0,0,0]: top pad 3 must be less than the kernel's height span 3`}},
		{model(ox.Node{Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}), []string{"model.onnx: no Conv nodes"}},
		{[]byte("\xff\xff\xff"), []string{"model.onnx: not a readable ONNX model"}},
		{[]byte{}, []string{"model.onnx: not a readable ONNX model: no graph"}},
	} {
		_, err := ReadONNX("model.onnx", c.data)
		if assert.Error(t, err, c.want[0]) {
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, len(c.want), strings.Count(err.Error(), "\n")+1, err.Error())
		}
	}

	// Weights that are not initializers are an error only when exported.
	m := ox.Model{Graph: ox.Graph{
		Nodes:     []ox.Node{convNode("dyn", []string{"x", "wdyn"}, "y")},
		ValueInfo: []ox.ValueInfo{{Name: "wdyn", Dims: []int64{8, 8, 3, 3}}},
	}}
	got, err := ReadONNX("model.onnx", m.Marshal())
	require.NoError(t, err)
	_, err = got.WeightEntries()
	assert.ErrorContains(t, err, `model.onnx: node 0 "dyn" (Conv): W "wdyn": not an initializer`)
}

func TestSanitizeNames(t *testing.T) {
	s := newNameSet()
	for _, c := range []struct {
		node  string
		index int
		want  string
	}{
		{"conv1", 0, "conv1"},
		{"conv1", 1, "conv1_2"},
		{"Conv1", 2, "Conv1_3"}, // same Go type as conv1
		{"", 7, "conv_7"},
		{"/features/0/Conv", 3, "conv__features_0_Conv"},
		{"3x3", 4, "conv_3x3"},
		{"ünï", 5, "conv__n_"},        // each non-ASCII rune is one _
		{"newConv1", 6, "newConv1_4"}, // NewConv1 is Conv1's constructor, NewConv1_2 Conv1_2's, …
		{strings.Repeat("a", 70), 8, strings.Repeat("a", 64)},
		{strings.Repeat("a", 70), 9, strings.Repeat("a", 62) + "_2"},
	} {
		got := s.add(sanitizeName(c.node, c.index))
		assert.Equal(t, c.want, got, c.node)
		assert.Empty(t, layerNameProblem(got), got)
	}
}

// The presets' specs survive FormatSpec → ParseSpec.
func TestFormatSpecRoundTrip(t *testing.T) {
	for _, path := range []string{"../cmd/convgen/testdata/every_field.json", "../generated/mobilenetv2/spec.json", "../generated/alexnet/spec.json"} {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		s, err := ParseSpec("a.json", data)
		require.NoError(t, err)
		back, err := ParseSpec("a.json", FormatSpec(s))
		require.NoError(t, err, string(FormatSpec(s)))
		assert.Equal(t, s, back, path)
	}
}
