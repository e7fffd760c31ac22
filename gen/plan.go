package gen

import (
	"fmt"
	"math"

	"github.com/convgen/convgen/templates"
)

// Plan is what convgen will generate for a spec: one kernel per distinct
// shape, and for every layer the kernel it runs.
type Plan struct {
	Package string
	Layers  []LayerPlan
	Kernels []templates.Kernel // in order of first use
	Blocks  []BlockPlan
}

// BlockPlan ties a fused block to its two layers.
type BlockPlan struct {
	Block
	DW, PW int // indices into Plan.Layers
}

// LayerPlan ties a layer to its kernel.
type LayerPlan struct {
	Layer
	Kernel int // index into Plan.Kernels
}

// NewPlan validates s and plans its kernels. Layers whose kernels would be
// identical share one: padding, vertical stride and vertical dilation are
// applied by the driver and bias is always packed, so they do not count.
func NewPlan(s *Spec) (*Plan, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Package: s.Package}
	index := map[templates.Kernel]int{}
	for _, l := range s.Layers {
		k := kernelFor(l)
		if err := k.Check(); err != nil {
			return nil, fmt.Errorf("%s: layer %d %q: %w", l.Source, l.Index, l.Name, err)
		}
		i, ok := index[k]
		if !ok {
			i = len(p.Kernels)
			index[k] = i
			p.Kernels = append(p.Kernels, fitWidth(k, l))
		}
		p.Layers = append(p.Layers, LayerPlan{Layer: l, Kernel: i})
	}
	for _, b := range s.Blocks {
		bp := BlockPlan{Block: b}
		for i, l := range p.Layers {
			switch l.Name {
			case b.Depthwise:
				bp.DW = i
			case b.Pointwise:
				bp.PW = i
			}
		}
		p.Blocks = append(p.Blocks, bp)
	}
	return p, nil
}

// kernelFor picks the family, tile and name of a layer's kernel.
func kernelFor(l Layer) templates.Kernel {
	k := templates.Kernel{
		Cin: l.Cin, Cout: l.Cout, Groups: l.Groups,
		KH: l.KH, KW: l.KW, StrideW: l.StrideW, DilW: l.DilationW,
		ActMin: l.Act.Min, ActMax: l.Act.Max,
	}
	if l.Shuffle > 1 {
		k.Shuffle = l.Shuffle
	}
	switch {
	case l.NCHW:
		k.Family = templates.Planar
		k.ChanTile = templates.PlanarChanTile(l.Cout / l.Groups)
		k.PixTile = templates.Lanes * templates.PlanarVecs(k.ChanTile)
		k.Name = kernelName(k)
		return k
	case l.Groups == l.Cin && l.Cout == l.Cin:
		k.Family = templates.Depthwise
	case templates.FastMultiplier(l.Cin, l.Cout, l.Groups):
		k.Family = templates.Depthwise
		k.Mult = l.Cout / l.Cin
	case templates.PackableGroups(l.Cin, l.Cout, l.Groups):
		k.Family = templates.PackedGroups
	case l.KH == 1 && l.KW == 1:
		k.Family = templates.Pointwise
	default:
		k.Family = templates.Grouped
	}
	k.BlockVec, k.PixTile, k.CinChunk = tile(k)
	k.Name = kernelName(k)
	return k
}

// fitWidth fits k's pixel tiles to the output width of l's benchmark input
// (the spec's "input"; nothing without one). Layers that share the kernel
// get the tiles of the first. NCHW kernels tile rows their own way.
func fitWidth(k templates.Kernel, l Layer) templates.Kernel {
	if l.InputW == 0 || k.Family == templates.Planar {
		return k
	}
	c := l.Conv()
	_, k.Width = c.OutputSize(l.InputH, l.InputW)
	if len(k.Edges()) > 0 {
		// Edge kernels run the pixels cut by the left or right padding,
		// and the tiles the pixels between (54 of a 56-pixel row with
		// 3×3 taps), unless the driver copies the padded image, as its
		// walk does when the copy is tiny beside the work (at least 12
		// MACs per copied float) or a quarter of the pixels are border.
		// Only the tile's fit depends on this guess, never the result.
		top, left, bottom, right := c.Pads(l.InputH, l.InputW)
		oh, ow := c.OutputSize(l.InputH, l.InputW)
		span := (l.KW-1)*l.DilationW + 1
		lo := (left + l.StrideW - 1) / l.StrideW
		hi := min((l.InputW-span+left)/l.StrideW+1, ow)
		padded := float64(l.InputH+top+bottom) * float64(l.InputW+left+right) * float64(l.Cin)
		macs := float64(oh) * float64(ow) * float64(l.Cout*l.KH*l.KW)
		if copied := 12*padded <= macs || 4*(ow-(hi-lo)) > ow; hi > lo && !copied {
			k.Width = hi - lo
		}
	}
	k.PixTile = templates.FitTile(k.PixTile, k.Width, k.BlockVec)
	return frameRows(k, l)
}

// frameRows records the padding of l's benchmark row in a grouped or
// depthwise kernel, whose framed variants then skip the taps on it (see
// templates.Kernel.Frames): the output and input widths, the left padding,
// and the most tap rows the top and bottom padding cut from an output row.
func frameRows(k templates.Kernel, l Layer) templates.Kernel {
	if k.Family != templates.Grouped && k.Family != templates.Depthwise {
		return k
	}
	c := l.Conv()
	top, left, bottom, right := c.Pads(l.InputH, l.InputW)
	oh, ow := c.OutputSize(l.InputH, l.InputW)
	if top+left+bottom+right == 0 || oh < 1 || ow < 1 {
		return k
	}
	k.FrameOut, k.FrameIn, k.FramePad = ow, l.InputW, left
	if l.DilationH == 1 {
		k.FrameStrideH = l.StrideH
	}
	// Output row 0 starts top rows above the image; the last one ends
	// below it by as many as its last tap rows reach.
	k.FrameTop = min((top+l.DilationH-1)/l.DilationH, l.KH-1)
	last := (oh-1)*l.StrideH - top // the last row's first tap row
	if inside := (l.InputH-1-last)/l.DilationH + 1; inside < l.KH {
		k.FrameBottom = min(l.KH-inside, l.KH-1)
	}
	return k
}

// tile chooses the register tile: BlockVec vectors of 8 output channels by
// PixTile pixels, as large as 16 YMM registers allow (accumulators plus one
// step's weights and input), preferring a BlockVec that divides the
// channel vectors so that no block is left short.
func tile(k templates.Kernel) (vecs, pixels, chunk int) {
	full := k.PackCout() / templates.Lanes
	if k.Family == templates.Depthwise {
		return 1, templates.DepthwisePixTile(k), 0
	}
	// Inputs are broadcast: acc P·V + V weights + 1 broadcast ≤ 16.
	vecs = pickVecs(full, []int{3, 2})
	pixels = templates.GroupedPixTile(vecs)
	taps := k.Taps()
	cinG := k.PackCin()
	switch {
	case k.Family == templates.PackedGroups:
		chunk = cinG // every group input is unrolled
	case k.Family == templates.Pointwise:
		chunk = 8
	case cinG*taps <= 72:
		chunk = cinG // unroll the whole group
	default:
		chunk = max(1, 36/taps)
	}
	return vecs, pixels, min(chunk, cinG)
}

// pickVecs returns the first of prefs that divides full, else the largest
// that fits, else 1.
func pickVecs(full int, prefs []int) int {
	for _, v := range prefs {
		if full >= v && full%v == 0 {
			return v
		}
	}
	for _, v := range prefs {
		if full >= v {
			return v
		}
	}
	return 1
}

// kernelName makes the kernel's identifier from its shape, the way XNNPACK
// names its microkernels: family, taps, channels, groups, stride, dilation,
// epilogue. Everything that makes two kernels differ is in the name.
func kernelName(k templates.Kernel) string {
	act := actName(k.ActMin, k.ActMax)
	if k.Shuffled() {
		act += fmt.Sprintf("_shuffle%d", k.Shuffle)
	}
	switch k.Family {
	case templates.Planar:
		return fmt.Sprintf("nchwconv%dx%d_ci%d_co%d_g%d_s%d_d%d_%s", k.KH, k.KW, k.Cin, k.Cout, k.Groups, k.StrideW, k.DilW, act)
	case templates.Depthwise:
		if k.Multiplier() > 1 {
			return fmt.Sprintf("dwconv%dx%d_c%d_m%d_s%d_d%d_%s", k.KH, k.KW, k.Cin, k.Multiplier(), k.StrideW, k.DilW, act)
		}
		return fmt.Sprintf("dwconv%dx%d_c%d_s%d_d%d_%s", k.KH, k.KW, k.Cin, k.StrideW, k.DilW, act)
	case templates.Pointwise:
		return fmt.Sprintf("pwconv_ci%d_co%d_g%d_s%d_%s", k.Cin, k.Cout, k.Groups, k.StrideW, act)
	case templates.PackedGroups:
		return fmt.Sprintf("pgconv%dx%d_c%d_g%d_s%d_d%d_%s", k.KH, k.KW, k.Cin, k.Groups, k.StrideW, k.DilW, act)
	}
	return fmt.Sprintf("gconv%dx%d_ci%d_co%d_g%d_s%d_d%d_%s", k.KH, k.KW, k.Cin, k.Cout, k.Groups, k.StrideW, k.DilW, act)
}

func actName(lo, hi float32) string {
	inf := float32(math.Inf(1))
	switch {
	case lo == -inf && hi == inf:
		return "none"
	case lo == 0 && hi == inf:
		return "relu"
	case lo == 0 && hi == 6:
		return "relu6"
	}
	return fmt.Sprintf("clamp%08x_%08x", math.Float32bits(lo), math.Float32bits(hi))
}
