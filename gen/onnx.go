package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/convgen/convgen/weights"
)

// ONNX import. The model is read with protowire, field by field, rather than
// with types generated from onnx.proto: convgen needs a dozen fields, and
// walking them keeps the module free of a vendored .proto and its generated
// code. Field numbers are those of onnx.proto (ModelProto.graph = 7, …).
// Unknown fields are skipped, as protobuf readers do.

// ONNXConv is one Conv node of a model as a spec layer, with its weights.
type ONNXConv struct {
	Layer            // Name is the node name made a valid, unique layer name
	Node      string // the node's name in the model ("" when it has none)
	NodeIndex int    // 0-based position in graph.node
	Input     string // the tensor the Conv reads (X)
	Output    string // the tensor it produces, after the fused activation
	// Params are W (OIHW) and B from the initializers, as NewX wants them;
	// Params.Bias is nil without B.
	Params weights.Layer
	// paramsErr says why Params could not be read (W computed by the graph,
	// an unsupported data type); it is an error only when they are asked for.
	paramsErr error
}

// ONNXModel is the Conv layers of an ONNX model.
type ONNXModel struct {
	Source string // file name used in errors
	Convs  []ONNXConv
	g      *onnxGraph
}

// ReadONNX reads every Conv node of an ONNX model. A Relu, or a Clip with
// constant bounds, that is the only consumer of a Conv's output is fused
// into the layer's activation. source names the file in errors, which also
// name the node (by 0-based index and name) and the attribute:
//
//	model.onnx: node 3 "conv_dw" (Conv): kernel_shape=[3,3,3]: only 2-D convolutions are supported
//
// The layers are validated as a spec would be; all problems are reported.
func ReadONNX(source string, data []byte) (*ONNXModel, error) {
	g, err := parseModel(data)
	if err != nil {
		return nil, errors.New(prefix(source, "not a readable ONNX model: "+err.Error()))
	}
	m := &ONNXModel{Source: source, g: g}
	var errs []error
	names := newNameSet()
	for i, n := range g.nodes {
		if n.op != "Conv" || !defaultDomain(n.domain) {
			continue
		}
		c, err := m.conv(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Name = names.add(sanitizeName(n.name, i))
		c.Index = len(m.Convs) + 1
		// The spec's rules (channel limits, pads within the span, …) are
		// reported against the node, like the attribute errors above.
		if err := c.Layer.Validate(); err != nil {
			errs = append(errs, errors.New(strings.ReplaceAll(err.Error(), c.Layer.where()+": ", nodeWhere(source, i, n.name)+": ")))
			continue
		}
		m.Convs = append(m.Convs, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(m.Convs) == 0 {
		return nil, errors.New(prefix(source, "no Conv nodes"))
	}
	if err := m.Spec("").Validate(); err != nil {
		return nil, err // cannot happen: names are unique and each layer is valid
	}
	return m, nil
}

// Spec is the model's layers as a spec for package pkg (which may be empty).
func (m *ONNXModel) Spec(pkg string) *Spec {
	s := &Spec{Source: m.Source, Package: pkg}
	for _, c := range m.Convs {
		s.Layers = append(s.Layers, c.Layer)
	}
	return s
}

// WeightEntries returns every layer's weights and bias from the model's
// initializers, named by layer, for weights.Write. It is an error when a
// Conv's W or B is computed by the graph rather than stored in it.
func (m *ONNXModel) WeightEntries() ([]weights.Entry, error) {
	var entries []weights.Entry
	var errs []error
	for _, c := range m.Convs {
		if c.paramsErr != nil {
			errs = append(errs, c.paramsErr)
			continue
		}
		entries = append(entries, weights.Entry{Name: c.Name, Layer: c.Params})
	}
	return entries, errors.Join(errs...)
}

// Find returns the Conv whose node name or layer name is name.
func (m *ONNXModel) Find(name string) (*ONNXConv, error) {
	for i := range m.Convs {
		if c := &m.Convs[i]; c.Node == name || c.Name == name {
			return c, nil
		}
	}
	var have []string
	for _, c := range m.Convs {
		have = append(have, strconv.Quote(c.Name))
	}
	return nil, fmt.Errorf("%s: no Conv node named %q (the Conv layers are %s)", m.Source, name, strings.Join(have, ", "))
}

// channelOps keep each channel where it is, so two Convs separated only by
// them are consecutive in the lanes sense: the second reads the first's
// channels in order. (LRN mixes neighbouring channels a little, but AlexNet,
// the network with lanes, has it between its grouped convs.)
var channelOps = map[string]bool{
	"Relu": true, "Clip": true, "LeakyRelu": true, "PRelu": true, "Sigmoid": true, "Tanh": true,
	"HardSigmoid": true, "HardSwish": true, "Elu": true, "Selu": true, "Softplus": true,
	"BatchNormalization": true, "InstanceNormalization": true, "LRN": true, "MaxPool": true, "AveragePool": true,
	"Dropout": true, "Identity": true,
}

// Follows reports whether second reads first's output, directly or through
// per-channel operations (activations, normalization, pooling).
func (m *ONNXModel) Follows(first, second *ONNXConv) error {
	producer := map[string]int{}
	for i, n := range m.g.nodes {
		for _, out := range n.outputs {
			producer[out] = i
		}
	}
	t := second.Input
	for range len(m.g.nodes) + 1 {
		if t == first.Output {
			return nil
		}
		i, ok := producer[t]
		if !ok || !channelOps[m.g.nodes[i].op] || len(m.g.nodes[i].inputs) == 0 {
			break
		}
		t = m.g.nodes[i].inputs[0]
	}
	return fmt.Errorf("%s: node %d %q does not read the output of node %d %q (directly or through per-channel ops such as Relu, LRN, MaxPool)",
		m.Source, second.NodeIndex, second.Node, first.NodeIndex, first.Node)
}

// nodeWhere starts every error about a Conv node: `model.onnx: node 3 "conv_dw" (Conv)`.
func nodeWhere(source string, index int, name string) string {
	return fmt.Sprintf("%s: node %d %s (Conv)", source, index, strconv.Quote(name))
}

func defaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// conv turns node i into a layer.
func (m *ONNXModel) conv(i int) (ONNXConv, error) {
	g := m.g
	n := g.nodes[i]
	where := nodeWhere(m.Source, i, n.name)
	fail := func(format string, args ...any) (ONNXConv, error) {
		return ONNXConv{}, errors.New(where + ": " + fmt.Sprintf(format, args...))
	}
	c := ONNXConv{Node: n.name, NodeIndex: i, Layer: defaultLayer(m.Source, 0)}
	if len(n.inputs) < 2 || n.inputs[0] == "" || n.inputs[1] == "" || len(n.outputs) < 1 {
		return fail("inputs=%d, outputs=%d: want inputs X, W[, B] and one output", len(n.inputs), len(n.outputs))
	}
	c.Input, c.Output = n.inputs[0], n.outputs[0]

	attr := map[string]*onnxAttr{}
	for j := range n.attrs {
		attr[n.attrs[j].name] = &n.attrs[j]
	}
	// A 1-D or 3-D Conv says so in its attributes; report that first, in
	// their terms.
	for _, name := range []string{"kernel_shape", "strides", "dilations"} {
		if a := attr[name]; a != nil && len(a.ints) != 2 {
			return fail("%s=%s: only 2-D convolutions are supported", name, intList(a.ints))
		}
	}
	if a := attr["pads"]; a != nil && len(a.ints) != 4 {
		return fail("pads=%s: want 4 values [top, left, bottom, right] (only 2-D convolutions are supported)", intList(a.ints))
	}

	// W's shape [M, C/group, kH, kW] gives the channels and the kernel.
	wName := n.inputs[1]
	wt := g.inits[wName]
	var wDims []int64
	switch {
	case wt != nil:
		wDims = wt.dims
	case g.shapes[wName] != nil:
		wDims = g.shapes[wName]
	default:
		return fail("W %q: shape unknown (neither an initializer nor in value_info)", wName)
	}
	if len(wDims) != 4 {
		return fail("W shape=%s: only 2-D convolutions are supported", intList(wDims))
	}
	for _, d := range wDims {
		if d < 1 || d > math.MaxInt32 {
			return fail("W shape=%s: dimensions must be known and positive", intList(wDims))
		}
	}

	var errs []string
	intAttr := func(name string, def int64) int64 {
		if a := attr[name]; a != nil {
			return a.i
		}
		return def
	}
	// pairAttr reads a 2-value attribute (checked above).
	pairAttr := func(name string, def int) (int, int) {
		if a := attr[name]; a != nil {
			return clampInt(a.ints[0]), clampInt(a.ints[1])
		}
		return def, def
	}

	group := intAttr("group", 1)
	if group < 1 || group > maxChannels {
		errs = append(errs, fmt.Sprintf("group=%d: must be between 1 and %d", group, maxChannels))
		group = 1
	}
	c.Groups = int(group)
	c.Cout = int(wDims[0])
	c.Cin = int(wDims[1]) * c.Groups // W holds C/group input channels per filter
	c.KH, c.KW = int(wDims[2]), int(wDims[3])
	if a := attr["kernel_shape"]; a != nil {
		if kh, kw := pairAttr("kernel_shape", 0); kh != c.KH || kw != c.KW {
			errs = append(errs, fmt.Sprintf("kernel_shape=%s: does not match W's shape %s", intList(a.ints), intList(wDims)))
		}
	}
	c.StrideH, c.StrideW = pairAttr("strides", 1)
	c.DilationH, c.DilationW = pairAttr("dilations", 1)

	pads := []int64{0, 0, 0, 0}
	padsGiven := false
	if a := attr["pads"]; a != nil {
		pads = a.ints
		padsGiven = pads[0] != 0 || pads[1] != 0 || pads[2] != 0 || pads[3] != 0
	}
	// ONNX pads are [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].
	c.Pad = Padding{Top: clampInt(pads[0]), Left: clampInt(pads[1]), Bottom: clampInt(pads[2]), Right: clampInt(pads[3])}
	autoPad := "NOTSET"
	if a := attr["auto_pad"]; a != nil {
		autoPad = string(a.s)
	}
	switch autoPad {
	case "NOTSET", "":
	case "VALID", "SAME_UPPER", "SAME_LOWER":
		if padsGiven {
			errs = append(errs, fmt.Sprintf("pads=%s: cannot be given with auto_pad=%s", intList(pads), autoPad))
		}
		switch autoPad {
		case "VALID":
			c.Pad = Padding{}
		case "SAME_UPPER":
			// TensorFlow's SAME puts the odd pixel at the end, as SAME_UPPER does.
			c.Pad = Padding{Same: true}
		case "SAME_LOWER":
			// Only symmetric cases can be expressed: with stride 1 and odd
			// spans the total padding span-1 is even, so lower == upper.
			if c.StrideH == 1 && c.StrideW == 1 && c.SpanH()%2 == 1 && c.SpanW()%2 == 1 {
				ph, pw := (c.SpanH()-1)/2, (c.SpanW()-1)/2
				c.Pad = Padding{Top: ph, Left: pw, Bottom: ph, Right: pw}
			} else {
				errs = append(errs, "auto_pad=SAME_LOWER: not supported (it puts the odd padding pixel first; convgen's \"same\" is SAME_UPPER); export the model with explicit pads")
			}
		}
	default:
		errs = append(errs, fmt.Sprintf("auto_pad=%q: want NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad))
	}
	if len(errs) > 0 {
		for j := range errs {
			errs[j] = where + ": " + errs[j]
		}
		return ONNXConv{}, errors.New(strings.Join(errs, "\n"))
	}

	// The image size, when shape inference or the graph inputs give it
	// (NCHW), is the layer's "input": explain uses it for MACs.
	if xs := g.shapes[c.Input]; len(xs) == 4 && xs[2] >= 1 && xs[2] <= maxInput && xs[3] >= 1 && xs[3] <= maxInput {
		c.InputH, c.InputW = int(xs[2]), int(xs[3])
	}

	c.Bias = len(n.inputs) >= 3 && n.inputs[2] != ""
	c.Params.Weights, c.Params.Bias, c.paramsErr = m.params(where, n, wt, c.Cout, c.Bias)

	c.Act, c.Output = m.fusedActivation(c.Output)
	return c, nil
}

// params reads W and B from the initializers.
func (m *ONNXModel) params(where string, n onnxNode, wt *onnxTensor, cout int, hasBias bool) (w, b []float32, err error) {
	if wt == nil {
		return nil, nil, fmt.Errorf("%s: W %q: not an initializer, so its weights cannot be exported", where, n.inputs[1])
	}
	if w, err = wt.floats(); err != nil {
		return nil, nil, fmt.Errorf("%s: W %q: %w", where, n.inputs[1], err)
	}
	if !hasBias {
		return w, nil, nil
	}
	bt := m.g.constant(n.inputs[2])
	if bt == nil {
		return nil, nil, fmt.Errorf("%s: B %q: not an initializer, so the bias cannot be exported", where, n.inputs[2])
	}
	if b, err = bt.floats(); err != nil {
		return nil, nil, fmt.Errorf("%s: B %q: %w", where, n.inputs[2], err)
	}
	if len(b) != cout {
		return nil, nil, fmt.Errorf("%s: B %q: has %d values, want M = %d", where, n.inputs[2], len(b), cout)
	}
	return w, b, nil
}

// fusedActivation looks at the consumers of a Conv's output y: when its only
// consumer is a Relu, or a Clip with constant bounds, and y is not also a
// graph output, the activation is fused and the layer's output becomes the
// activation's.
func (m *ONNXModel) fusedActivation(y string) (Activation, string) {
	none := NewActivation(ActNone)
	g := m.g
	if g.outputs[y] {
		return none, y
	}
	var consumers []int
	for i, n := range g.nodes {
		for _, in := range n.inputs {
			if in == y {
				consumers = append(consumers, i)
				break
			}
		}
	}
	if len(consumers) != 1 {
		return none, y
	}
	n := g.nodes[consumers[0]]
	if !defaultDomain(n.domain) || len(n.outputs) < 1 || len(n.inputs) < 1 || n.inputs[0] != y {
		return none, y
	}
	switch n.op {
	case "Relu":
		return NewActivation(ActReLU), n.outputs[0]
	case "Clip":
		lo, hi, ok := g.clipBounds(n)
		if !ok || !(lo <= hi) {
			return none, y
		}
		inf := float32(math.Inf(1))
		switch {
		case lo == 0 && hi == 6:
			return NewActivation(ActReLU6), n.outputs[0]
		case lo == 0 && hi == inf:
			return NewActivation(ActReLU), n.outputs[0]
		case lo == -inf && hi == inf:
			return none, n.outputs[0]
		}
		return NewClamp(lo, hi), n.outputs[0]
	}
	return none, y
}

// clipBounds reads a Clip's bounds: attributes min and max before opset 11,
// optional inputs 2 and 3 since, which must then be constants (initializers
// or Constant nodes) to be fused. A missing bound is unbounded.
func (g *onnxGraph) clipBounds(n onnxNode) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	for _, a := range n.attrs {
		switch a.name {
		case "min":
			lo = a.f
		case "max":
			hi = a.f
		}
	}
	for k, dst := range []*float32{&lo, &hi} {
		if len(n.inputs) <= k+1 || n.inputs[k+1] == "" {
			continue
		}
		t := g.constant(n.inputs[k+1])
		if t == nil {
			return 0, 0, false // computed at run time: leave the Clip alone
		}
		v, err := t.floats()
		if err != nil || len(v) != 1 {
			return 0, 0, false
		}
		*dst = v[0]
	}
	if lo != lo || hi != hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// constant returns the tensor named name when it is an initializer or the
// output of a Constant node.
func (g *onnxGraph) constant(name string) *onnxTensor {
	if t := g.inits[name]; t != nil {
		return t
	}
	for _, n := range g.nodes {
		if n.op != "Constant" || len(n.outputs) == 0 || n.outputs[0] != name {
			continue
		}
		for _, a := range n.attrs {
			switch a.name {
			case "value":
				return a.t
			case "value_float":
				return &onnxTensor{dataType: onnxFloat, floatData: []float32{a.f}}
			}
		}
	}
	return nil
}

// clampInt converts an attribute value to int, mapping values far out of any
// valid range to one that validation rejects with a readable number.
func clampInt(x int64) int {
	return int(max(min(x, math.MaxInt32), math.MinInt32))
}

func intList(xs []int64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// sanitizeName makes a node name a valid layer name: characters outside
// [A-Za-z0-9_] become _, a name not starting with a letter gets "conv_" in
// front, and it is cut to the length limit. An unnamed node is conv_<index>.
func sanitizeName(node string, index int) string {
	if node == "" {
		return fmt.Sprintf("conv_%d", index)
	}
	var b strings.Builder
	for _, r := range node {
		if r < 128 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		s = "conv_" + s
	}
	return s[:min(len(s), maxNameLength)]
}

// nameSet hands out unique layer names whose Go types do not clash either
// (conv and Conv give the same type; NewConv is Conv's constructor).
type nameSet struct{ names, types map[string]bool }

func newNameSet() *nameSet { return &nameSet{names: map[string]bool{}, types: map[string]bool{}} }

func (s *nameSet) clashes(name string) bool {
	t := Layer{Name: name}.TypeName()
	if s.names[name] || s.types[t] || s.types["New"+t] {
		return true
	}
	rest, ok := strings.CutPrefix(t, "New")
	return ok && s.types[rest]
}

// add returns base, or base_2, base_3, … (cut to fit the length limit),
// whichever is free first, and takes it.
func (s *nameSet) add(base string) string {
	name := base
	for i := 2; s.clashes(name); i++ {
		suffix := "_" + strconv.Itoa(i)
		name = base[:min(len(base), maxNameLength-len(suffix))] + suffix
	}
	s.names[name] = true
	s.types[Layer{Name: name}.TypeName()] = true
	return name
}

// The protobuf side: just enough of onnx.proto.

type onnxGraph struct {
	nodes   []onnxNode
	inits   map[string]*onnxTensor
	shapes  map[string][]int64 // from graph inputs, outputs and value_info; -1 for a symbolic dim
	outputs map[string]bool
}

type onnxNode struct {
	name, op, domain string
	inputs, outputs  []string
	attrs            []onnxAttr
}

type onnxAttr struct {
	name string
	f    float32
	i    int64
	s    []byte
	t    *onnxTensor
	ints []int64
}

type onnxTensor struct {
	name       string
	dims       []int64
	dataType   int64
	floatData  []float32
	doubleData []float64
	raw        []byte
	external   bool
}

// TensorProto.DataType values convgen reads.
const (
	onnxFloat  = 1
	onnxDouble = 11
)

// floats returns the tensor's values as float32 (doubles are rounded).
func (t *onnxTensor) floats() ([]float32, error) {
	if t.external {
		return nil, errors.New("stored outside the model file (external data is not supported; save the model with its weights inside)")
	}
	n := int64(1)
	for _, d := range t.dims {
		if d < 0 || d > 1<<31 {
			return nil, fmt.Errorf("dims=%s: bad shape", intList(t.dims))
		}
		n *= d
		if n > 1<<31 {
			return nil, fmt.Errorf("dims=%s: too large", intList(t.dims))
		}
	}
	var out []float32
	switch t.dataType {
	case onnxFloat:
		if t.raw != nil {
			if len(t.raw)%4 != 0 {
				return nil, fmt.Errorf("raw_data has %d bytes, not a whole number of float32", len(t.raw))
			}
			out = make([]float32, len(t.raw)/4)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:]))
			}
		} else {
			out = t.floatData
		}
	case onnxDouble:
		if t.raw != nil {
			if len(t.raw)%8 != 0 {
				return nil, fmt.Errorf("raw_data has %d bytes, not a whole number of float64", len(t.raw))
			}
			for i := 0; i < len(t.raw); i += 8 {
				out = append(out, float32(math.Float64frombits(binary.LittleEndian.Uint64(t.raw[i:]))))
			}
		} else {
			for _, x := range t.doubleData {
				out = append(out, float32(x))
			}
		}
	default:
		return nil, fmt.Errorf("data_type=%d: only FLOAT (1) and DOUBLE (11) tensors can be read", t.dataType)
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("has %d values, its shape %s wants %d", len(out), intList(t.dims), n)
	}
	return out, nil
}

// wireField is one field of a protobuf message.
type wireField struct {
	num   protowire.Number
	typ   protowire.Type
	bytes []byte // BytesType
	x     uint64 // VarintType, Fixed32Type, Fixed64Type
}

// walk calls fn for every field of the message b.
func walk(b []byte, fn func(f wireField) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := wireField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.x = uint64(v)
		case protowire.Fixed64Type:
			f.x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b) // groups: skipped
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// str, varints and floats32 read a field of the expected kind; repeated
// scalars may be packed (one BytesType field) or not, and readers must
// accept both.
func (f wireField) str(what string) (string, error) {
	if f.typ != protowire.BytesType {
		return "", fmt.Errorf("%s: wrong wire type %d", what, f.typ)
	}
	return string(f.bytes), nil
}

func (f wireField) varints(what string) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return []int64{int64(f.x)}, nil
	case protowire.BytesType:
		var xs []int64
		for b := f.bytes; len(b) > 0; {
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("%s: %w", what, protowire.ParseError(n))
			}
			xs = append(xs, int64(x))
			b = b[n:]
		}
		return xs, nil
	}
	return nil, fmt.Errorf("%s: wrong wire type %d", what, f.typ)
}

func (f wireField) floats32(what string) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return []float32{math.Float32frombits(uint32(f.x))}, nil
	case protowire.BytesType:
		if len(f.bytes)%4 != 0 {
			return nil, fmt.Errorf("%s: packed floats of %d bytes", what, len(f.bytes))
		}
		xs := make([]float32, len(f.bytes)/4)
		for i := range xs {
			xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(f.bytes[4*i:]))
		}
		return xs, nil
	}
	return nil, fmt.Errorf("%s: wrong wire type %d", what, f.typ)
}

func (f wireField) floats64(what string) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return []float64{math.Float64frombits(f.x)}, nil
	case protowire.BytesType:
		if len(f.bytes)%8 != 0 {
			return nil, fmt.Errorf("%s: packed doubles of %d bytes", what, len(f.bytes))
		}
		xs := make([]float64, len(f.bytes)/8)
		for i := range xs {
			xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(f.bytes[8*i:]))
		}
		return xs, nil
	}
	return nil, fmt.Errorf("%s: wrong wire type %d", what, f.typ)
}

// parseModel reads ModelProto.graph (7).
func parseModel(data []byte) (*onnxGraph, error) {
	var graph []byte
	err := walk(data, func(f wireField) error {
		if f.num == 7 {
			if f.typ != protowire.BytesType {
				return errors.New("graph: wrong wire type")
			}
			graph = f.bytes
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if graph == nil {
		return nil, errors.New("no graph")
	}
	return parseGraph(graph)
}

// parseGraph reads GraphProto: node (1), initializer (5), input (11),
// output (12), value_info (13).
func parseGraph(b []byte) (*onnxGraph, error) {
	g := &onnxGraph{inits: map[string]*onnxTensor{}, shapes: map[string][]int64{}, outputs: map[string]bool{}}
	err := walk(b, func(f wireField) error {
		if f.num != 1 && f.num != 5 && f.num != 11 && f.num != 12 && f.num != 13 {
			return nil
		}
		if f.typ != protowire.BytesType {
			return fmt.Errorf("graph field %d: wrong wire type", f.num)
		}
		switch f.num {
		case 1:
			n, err := parseNode(f.bytes)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case 5:
			t, err := parseTensor(f.bytes)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.inits), err)
			}
			g.inits[t.name] = t
		default:
			name, dims, err := parseValueInfo(f.bytes)
			if err != nil {
				return err
			}
			if dims != nil {
				g.shapes[name] = dims
			}
			if f.num == 12 {
				g.outputs[name] = true
			}
		}
		return nil
	})
	return g, err
}

// parseNode reads NodeProto: input (1), output (2), name (3), op_type (4),
// attribute (5), domain (7).
func parseNode(b []byte) (onnxNode, error) {
	var n onnxNode
	err := walk(b, func(f wireField) error {
		var s string
		var err error
		switch f.num {
		case 1, 2, 3, 4, 7:
			if s, err = f.str("node field"); err != nil {
				return err
			}
		}
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, s)
		case 2:
			n.outputs = append(n.outputs, s)
		case 3:
			n.name = s
		case 4:
			n.op = s
		case 7:
			n.domain = s
		case 5:
			if f.typ != protowire.BytesType {
				return errors.New("attribute: wrong wire type")
			}
			a, err := parseAttr(f.bytes)
			if err != nil {
				return err
			}
			n.attrs = append(n.attrs, a)
		}
		return nil
	})
	return n, err
}

// parseAttr reads AttributeProto: name (1), f (2), i (3), s (4), t (5),
// ints (8). floats (7) and type (20) are not needed: the field present says
// which value is set.
func parseAttr(b []byte) (onnxAttr, error) {
	var a onnxAttr
	err := walk(b, func(f wireField) error {
		var err error
		switch f.num {
		case 1:
			a.name, err = f.str("attribute name")
		case 2:
			var fs []float32
			if fs, err = f.floats32("attribute f"); err == nil && len(fs) == 1 {
				a.f = fs[0]
			}
		case 3:
			if f.typ != protowire.VarintType {
				return errors.New("attribute i: wrong wire type")
			}
			a.i = int64(f.x)
		case 4:
			if f.typ != protowire.BytesType {
				return errors.New("attribute s: wrong wire type")
			}
			a.s = f.bytes
		case 5:
			if f.typ != protowire.BytesType {
				return errors.New("attribute t: wrong wire type")
			}
			a.t, err = parseTensor(f.bytes)
		case 8:
			var xs []int64
			xs, err = f.varints("attribute ints")
			a.ints = append(a.ints, xs...)
		}
		return err
	})
	if err != nil {
		return a, fmt.Errorf("attribute %q: %w", a.name, err)
	}
	return a, nil
}

// parseTensor reads TensorProto: dims (1), data_type (2), float_data (4),
// name (8), raw_data (9), double_data (10), data_location (14).
func parseTensor(b []byte) (*onnxTensor, error) {
	t := &onnxTensor{}
	err := walk(b, func(f wireField) error {
		var err error
		switch f.num {
		case 1:
			var xs []int64
			xs, err = f.varints("dims")
			t.dims = append(t.dims, xs...)
		case 2:
			t.dataType = int64(f.x)
		case 4:
			var xs []float32
			xs, err = f.floats32("float_data")
			t.floatData = append(t.floatData, xs...)
		case 8:
			t.name, err = f.str("tensor name")
		case 9:
			if f.typ != protowire.BytesType {
				return errors.New("raw_data: wrong wire type")
			}
			t.raw = f.bytes
		case 10:
			var xs []float64
			xs, err = f.floats64("double_data")
			t.doubleData = append(t.doubleData, xs...)
		case 14:
			t.external = f.x == 1 // DataLocation EXTERNAL
		}
		return err
	})
	return t, err
}

// parseValueInfo reads ValueInfoProto name (1) and type (2) → TypeProto
// tensor_type (1) → shape (2) → dim (1) → dim_value (1) | dim_param (2).
// A symbolic or missing dimension is -1; no shape gives nil dims.
func parseValueInfo(b []byte) (name string, dims []int64, err error) {
	var typ []byte
	err = walk(b, func(f wireField) error {
		var err error
		switch f.num {
		case 1:
			name, err = f.str("value_info name")
		case 2:
			typ = f.bytes
		}
		return err
	})
	if err != nil || typ == nil {
		return name, nil, err
	}
	// sub returns the last BytesType field num of message b.
	sub := func(b []byte, num protowire.Number) []byte {
		var out []byte
		walk(b, func(f wireField) error {
			if f.num == num && f.typ == protowire.BytesType {
				out = f.bytes
			}
			return nil
		})
		return out
	}
	shape := sub(sub(typ, 1), 2)
	if shape == nil {
		return name, nil, nil
	}
	dims = []int64{}
	err = walk(shape, func(f wireField) error {
		if f.num != 1 || f.typ != protowire.BytesType {
			return nil
		}
		d := int64(-1)
		walk(f.bytes, func(f wireField) error {
			if f.num == 1 && f.typ == protowire.VarintType {
				d = int64(f.x)
			}
			return nil
		})
		dims = append(dims, d)
		return nil
	})
	return name, dims, err
}
