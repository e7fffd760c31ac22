// Package peers wraps oneDNN and XNNPACK convolutions (through cgo) for the
// benchmark rows of ../spec.json, so that convgen's kernels can be compared
// with them on the same shapes, the same data layout (NHWC, OIHW weights)
// and one thread. Only execution is timed: each peer gets its weights once,
// in the layout it wants, before the clock starts.
package peers

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/convgen/convgen/verify"
)

// Row is one benchmark shape: a layer of the spec and the image it runs on.
type Row struct {
	Name    string
	Conv    verify.Conv
	N, H, W int
}

// Lens returns the element counts of src (NHWC) and dst (NHWC).
func (r Row) Lens() (src, dst int) {
	oh, ow := r.Conv.OutputSize(r.H, r.W)
	return r.N * r.H * r.W * r.Conv.Cin, r.N * oh * ow * r.Conv.Cout
}

// specLayer is the part of convgen's spec format the benchmark set uses.
// Fields the peers cannot run (bias, activations, "same" padding) are
// rejected rather than silently dropped.
type specLayer struct {
	Name     string          `json:"name"`
	Cin      int             `json:"cin"`
	Cout     int             `json:"cout"`
	K        json.RawMessage `json:"k"`
	Groups   int             `json:"groups"`
	Stride   json.RawMessage `json:"stride"`
	Dilation json.RawMessage `json:"dilation"`
	Pad      json.RawMessage `json:"pad"`
	Bias     bool            `json:"bias"`
	Act      json.RawMessage `json:"act"`
	Input    []int           `json:"input"`
}

// LoadRows reads the benchmark rows from a convgen spec file. N is 1 and
// the image is the layer's "input" (convgen's default 56×56 without it), as
// in the generated benchmarks.
func LoadRows(path string) ([]Row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Package string      `json:"package"`
		Layers  []specLayer `json:"layers"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var rows []Row
	for i, l := range spec.Layers {
		row, err := l.row()
		if err != nil {
			return nil, fmt.Errorf("%s: layer %d %q: %v", path, i+1, l.Name, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (l specLayer) row() (Row, error) {
	kh, kw, err := pair(l.K, 0)
	if err != nil {
		return Row{}, fmt.Errorf("k: %v", err)
	}
	sh, sw, err := pair(l.Stride, 1)
	if err != nil {
		return Row{}, fmt.Errorf("stride: %v", err)
	}
	dh, dw, err := pair(l.Dilation, 1)
	if err != nil {
		return Row{}, fmt.Errorf("dilation: %v", err)
	}
	pads, err := padding(l.Pad)
	if err != nil {
		return Row{}, fmt.Errorf("pad: %v", err)
	}
	if l.Bias {
		return Row{}, fmt.Errorf("bias: the peer harness runs without bias")
	}
	if len(l.Act) > 0 && string(l.Act) != `"none"` {
		return Row{}, fmt.Errorf("act %s: the peer harness runs without activation", l.Act)
	}
	h, w := 56, 56
	if l.Input != nil {
		if len(l.Input) != 2 {
			return Row{}, fmt.Errorf("input: want [h, w]")
		}
		h, w = l.Input[0], l.Input[1]
	}
	groups := l.Groups
	if groups == 0 {
		groups = 1
	}
	c := verify.Conv{
		Cin: l.Cin, Cout: l.Cout, KH: kh, KW: kw, Groups: groups,
		StrideH: sh, StrideW: sw, DilationH: dh, DilationW: dw,
		PadTop: pads[0], PadLeft: pads[1], PadBottom: pads[2], PadRight: pads[3],
		ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1)),
	}
	if err := c.Validate(); err != nil {
		return Row{}, err
	}
	if oh, ow := c.OutputSize(h, w); oh <= 0 || ow <= 0 {
		return Row{}, fmt.Errorf("input %dx%d gives an empty output", h, w)
	}
	return Row{Name: l.Name, Conv: c, N: 1, H: h, W: w}, nil
}

// pair decodes n or [h, w]; def is used when the field is absent (0: required).
func pair(raw json.RawMessage, def int) (int, int, error) {
	if len(raw) == 0 {
		if def == 0 {
			return 0, 0, fmt.Errorf("missing")
		}
		return def, def, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, n, nil
	}
	var hw []int
	if err := json.Unmarshal(raw, &hw); err != nil || len(hw) != 2 {
		return 0, 0, fmt.Errorf("%s: want n or [h, w]", raw)
	}
	return hw[0], hw[1], nil
}

// padding decodes n, [ph, pw] or [top, left, bottom, right].
func padding(raw json.RawMessage) ([4]int, error) {
	if len(raw) == 0 {
		return [4]int{}, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return [4]int{n, n, n, n}, nil
	}
	var p []int
	if err := json.Unmarshal(raw, &p); err == nil {
		switch len(p) {
		case 2:
			return [4]int{p[0], p[1], p[0], p[1]}, nil
		case 4:
			return [4]int{p[0], p[1], p[2], p[3]}, nil
		}
	}
	return [4]int{}, fmt.Errorf("%s: want n, [ph, pw] or [top, left, bottom, right] (no \"same\"/\"valid\" here)", raw)
}
