package gen

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Machine is the roofline of the machine a cost report is for.
type Machine struct {
	PeakGFLOPS   float64 `json:"peak_gflops"`   // peak FP32 GFLOP/s of the kernels
	BandwidthGBs float64 `json:"bandwidth_gbs"` // memory bandwidth in GB/s
}

// Ridge is the arithmetic intensity (FLOP per byte) above which a layer is
// compute-bound on m: peak ÷ bandwidth.
func (m Machine) Ridge() float64 { return m.PeakGFLOPS / m.BandwidthGBs }

// LayerCost is what one layer costs. The per-layer totals (MACs, FLOPs,
// bytes, intensity, bound) are for one image of the spec's "input" size and
// are zero (empty) when the layer has none.
type LayerCost struct {
	Name   string `json:"name"`
	Shape  string `json:"shape"` // cin→cout, kernel, groups, stride, dilation, pad
	Cin    int    `json:"cin"`
	Cout   int    `json:"cout"`
	KH     int    `json:"kh"`
	KW     int    `json:"kw"`
	Groups int    `json:"groups"`
	Input  []int  `json:"input,omitempty"`  // [h, w], when the spec gives it
	Output []int  `json:"output,omitempty"` // [oh, ow] for Input

	Params       int64 `json:"params"`         // cout·(cin/groups)·kh·kw, + cout with bias
	DenseParams  int64 `json:"dense_params"`   // the same layer with groups = 1
	MACsPerPixel int64 `json:"macs_per_pixel"` // per output pixel: cout·(cin/groups)·kh·kw
	DensePerPix  int64 `json:"dense_macs_per_pixel"`
	MACs         int64 `json:"macs,omitempty"`       // per image: output pixels · MACsPerPixel
	DenseMACs    int64 `json:"dense_macs,omitempty"` // per image with groups = 1
	// Saving is dense ÷ grouped MACs, which the algebra makes exactly groups:
	// each output reads cin/groups channels instead of cin.
	Saving    float64 `json:"saving"`
	FLOPs     int64   `json:"flops,omitempty"`     // 2·MACs
	Bytes     int64   `json:"bytes,omitempty"`     // float32 input + weights + bias + output, each moved once
	Intensity float64 `json:"intensity,omitempty"` // FLOPs ÷ Bytes
	Bound     string  `json:"bound,omitempty"`     // "compute" or "memory"; empty without an input size

	Kernel   string `json:"kernel"`    // the planned kernel's name
	Family   string `json:"family"`    // dwconv, gconv, pwconv, pgconv, nchwconv
	BlockVec int    `json:"block_vec"` // NHWC register tile: vectors of 8 output channels …
	PixTile  int    `json:"pix_tile"`  // … by this many output pixels
	TileCh   int    `json:"tile_ch"`   // output channels of the register tile (8·block_vec for NHWC)
}

// CostTotals sums the layers. MACs, FLOPs and Bytes cover only the layers
// with an input size; NoInput counts the others.
type CostTotals struct {
	Params      int64   `json:"params"`
	DenseParams int64   `json:"dense_params"`
	MACs        int64   `json:"macs"`
	DenseMACs   int64   `json:"dense_macs"`
	Saving      float64 `json:"saving"` // dense ÷ grouped MACs (per pixel when no layer has an input size)
	FLOPs       int64   `json:"flops"`
	Bytes       int64   `json:"bytes"`
	Intensity   float64 `json:"intensity,omitempty"`
	NoInput     int     `json:"layers_without_input"`
}

// Cost is the cost report of a plan: `convgen explain`.
type Cost struct {
	Machine Machine     `json:"machine"`
	Ridge   float64     `json:"ridge"` // FLOP/byte
	Layers  []LayerCost `json:"layers"`
	Totals  CostTotals  `json:"totals"`
}

// Explain works out every layer's parameters, multiply-adds, the saving over
// the dense layer, arithmetic intensity and the kernel it gets, for batch 1.
func Explain(p *Plan, m Machine) *Cost {
	c := &Cost{Machine: m, Ridge: m.Ridge()}
	var perPix, densePerPix int64
	for _, lp := range p.Layers {
		l := lp.Layer
		k := p.Kernels[lp.Kernel]
		lc := LayerCost{
			Name: l.Name, Shape: shapeSummary(l),
			Cin: l.Cin, Cout: l.Cout, KH: l.KH, KW: l.KW, Groups: l.Groups,
			MACsPerPixel: int64(l.Cout) * int64(l.Cin/l.Groups) * int64(l.KH*l.KW),
			DensePerPix:  int64(l.Cout) * int64(l.Cin) * int64(l.KH*l.KW),
			Kernel:       k.Name, Family: k.Family.String(), BlockVec: k.BlockVec, PixTile: k.PixTile,
			TileCh: k.TileChannels(),
		}
		lc.Params, lc.DenseParams = lc.MACsPerPixel, lc.DensePerPix
		if l.Bias {
			lc.Params += int64(l.Cout)
			lc.DenseParams += int64(l.Cout)
		}
		lc.Saving = float64(lc.DensePerPix) / float64(lc.MACsPerPixel)
		perPix += lc.MACsPerPixel
		densePerPix += lc.DensePerPix
		c.Totals.Params += lc.Params
		c.Totals.DenseParams += lc.DenseParams

		if l.InputH > 0 && l.InputW > 0 {
			oh, ow := l.Conv().OutputSize(l.InputH, l.InputW)
			pixels := int64(max(oh, 0)) * int64(max(ow, 0))
			lc.Input, lc.Output = []int{l.InputH, l.InputW}, []int{oh, ow}
			lc.MACs = pixels * lc.MACsPerPixel
			lc.DenseMACs = pixels * lc.DensePerPix
			lc.FLOPs = 2 * lc.MACs
			lc.Bytes = 4 * (int64(l.InputH)*int64(l.InputW)*int64(l.Cin) + lc.Params + pixels*int64(l.Cout))
			lc.Intensity = float64(lc.FLOPs) / float64(lc.Bytes)
			lc.Bound = "memory"
			if lc.Intensity > c.Ridge {
				lc.Bound = "compute"
			}
			c.Totals.MACs += lc.MACs
			c.Totals.DenseMACs += lc.DenseMACs
			c.Totals.FLOPs += lc.FLOPs
			c.Totals.Bytes += lc.Bytes
		} else {
			c.Totals.NoInput++
		}
		c.Layers = append(c.Layers, lc)
	}
	if c.Totals.MACs > 0 {
		c.Totals.Saving = float64(c.Totals.DenseMACs) / float64(c.Totals.MACs)
		c.Totals.Intensity = float64(c.Totals.FLOPs) / float64(c.Totals.Bytes)
	} else if perPix > 0 {
		c.Totals.Saving = float64(densePerPix) / float64(perPix)
	}
	return c
}

// shapeSummary is a layer in one line: "96->256 5x5 g2 s1 d1 pad 2 bias relu".
func shapeSummary(l Layer) string {
	s := fmt.Sprintf("%d->%d %dx%d g%d s%s", l.Cin, l.Cout, l.KH, l.KW, l.Groups, xPair(l.StrideH, l.StrideW))
	if l.DilationH != 1 || l.DilationW != 1 {
		s += " d" + xPair(l.DilationH, l.DilationW)
	}
	p := l.Pad
	switch {
	case p.Same:
		s += " pad same"
	case p == Padding{}:
	case p.Top == p.Bottom && p.Left == p.Right:
		s += " pad " + xPair(p.Top, p.Left)
	default:
		s += fmt.Sprintf(" pad %dx%dx%dx%d", p.Top, p.Left, p.Bottom, p.Right)
	}
	if l.Bias {
		s += " bias"
	}
	if l.Act.Kind != ActNone {
		s += " " + l.Act.String()
	}
	return s
}

func xPair(h, w int) string {
	if h == w {
		return fmt.Sprint(h)
	}
	return fmt.Sprintf("%dx%d", h, w)
}

// WriteTable prints the report as a plain table with a totals row.
func (c *Cost) WriteTable(w io.Writer) error {
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("layer", "shape", "in->out", "params", "MACs/px", "MACs", "dense MACs", "saving", "FLOP/B", "bound", "family", "tile")
	for _, l := range c.Layers {
		size, macs, dense, intensity, bound := "-", "-", "-", "-", "-"
		if l.Input != nil {
			size = fmt.Sprintf("%dx%d->%dx%d", l.Input[0], l.Input[1], l.Output[0], l.Output[1])
			macs, dense = human(l.MACs), human(l.DenseMACs)
			intensity, bound = fmt.Sprintf("%.1f", l.Intensity), l.Bound
		}
		row(l.Name, l.Shape, size, human(l.Params), human(l.MACsPerPixel), macs, dense,
			fmt.Sprintf("%gx", l.Saving), intensity, bound, l.Family, fmt.Sprintf("%dch x %dpx", l.TileCh, l.PixTile))
	}
	t := c.Totals
	macs, dense, intensity := "-", "-", "-"
	if t.MACs > 0 {
		macs, dense, intensity = human(t.MACs), human(t.DenseMACs), fmt.Sprintf("%.1f", t.Intensity)
	}
	row(fmt.Sprintf("total (%d)", len(c.Layers)), "", "", human(t.Params), "", macs, dense, fmt.Sprintf("%.3gx", t.Saving), intensity, "", "", "")
	tw.Flush()
	// tabwriter pads the empty cells of the totals row; trim every line.
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nsaving = dense MACs / grouped MACs = groups. FLOP/B = 2*MACs / bytes of input + weights + output (float32, batch 1).\n")
	fmt.Fprintf(w, "machine: %g GFLOP/s peak, %g GB/s -> ridge %.2f FLOP/B; above it a layer is compute-bound, below memory-bound.\n",
		c.Machine.PeakGFLOPS, c.Machine.BandwidthGBs, c.Ridge)
	fmt.Fprintf(w, "tile: the register tile, output channels x output pixels per step.\n")
	if t.NoInput > 0 {
		_, err := fmt.Fprintf(w, "%d of %d layers have no \"input\" size in the spec: their MACs are per output pixel only (MACs/px), with no intensity or bound, and the totals leave them out.\n",
			t.NoInput, len(c.Layers))
		return err
	}
	return nil
}

// human prints a count with a K, M or G suffix.
func human(n int64) string {
	f := float64(n)
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.2fG", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.1fK", f/1e3)
	}
	return fmt.Sprint(n)
}
