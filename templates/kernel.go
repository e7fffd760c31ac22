// Package templates holds the kernel families: parameterized generators
// that turn one planned Kernel into AVX2/FMA assembly (through avo) and
// into a specialized pure-Go function (through jennifer). Every family
// streams the same packed weight layout, built at run time by the driver
// (see templates/driver), so the two paths are interchangeable.
package templates

import (
	"fmt"
	"math"
)

// Family is a kernel family.
type Family int

const (
	// Depthwise: groups == cin, cout == Mult·cin (Mult 1, or a channel
	// multiplier of 2, 4 or 8 when cout is whole vectors). Vectors run over
	// output channels; every
	// lane reads its own input channel, so inputs are vector loads.
	Depthwise Family = iota
	// Grouped: any cin/groups, cout/groups, k (dense is groups == 1,
	// a depthwise channel multiplier is cin/groups == 1). An implicit GEMM
	// per group: vectors over the group's output channels, inputs broadcast.
	Grouped
	// Pointwise: 1×1 without padding, the grouped GEMM with a single tap
	// and a deeper input-channel unroll.
	Pointwise
	// PackedGroups: groups of 2 or 4 channels in and out (ResNeXt's first
	// stage), several groups per vector. Each lane reads its own group's
	// inputs: one vector load of the vector's input channels, permuted
	// within 128-bit lanes, so no lane is idle.
	PackedGroups
	// Planar: every NCHW layer (see planar.go). Vectors run along the
	// output row; a register tile is ChanTile channels of one group by
	// PixTile pixels.
	Planar
)

func (f Family) String() string {
	switch f {
	case Depthwise:
		return "dwconv"
	case Grouped:
		return "gconv"
	case Pointwise:
		return "pwconv"
	case PackedGroups:
		return "pgconv"
	case Planar:
		return "nchwconv"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

// Lanes is the number of float32 in a YMM register.
const Lanes = 8

// Kernel is one shape-specialized row kernel: what the planner decided.
// Padding, vertical stride and vertical dilation are not part of it: the
// driver applies them, so layers that differ only there share a kernel.
type Kernel struct {
	Name     string // base name; the AVX2 and Go functions add a suffix
	Family   Family
	Cin      int
	Cout     int
	Groups   int
	KH, KW   int
	StrideW  int     // horizontal stride: the distance between output pixels
	DilW     int     // horizontal dilation: the distance between tap columns
	ActMin   float32 // output clamp; -Inf when unbounded
	ActMax   float32 // +Inf when unbounded
	Shuffle  int     // ShuffleNet channel shuffle of the output with this many groups; 0 or 1: none
	Mult     int     // Depthwise: the channel multiplier cout/cin (0 means 1)
	BlockVec int     // channel vectors per block (the register tile's width)
	PixTile  int     // output pixels per register tile
	CinChunk int     // input channels unrolled per loop trip (Grouped, Pointwise)
	ChanTile int     // Planar: output channels per register tile
	Width    int     // output row width the pixel tiles are fitted to (the spec's input); 0: unknown

	// EdgeLo, EdgeHi: an edge variant (see Edges) computes only the tap
	// columns EdgeLo … EdgeHi-1, src pointing at column EdgeLo's input;
	// EdgeHi 0 means every column (not an edge variant).
	EdgeLo, EdgeHi int

	// Framed rows (see Frames): the spec's row, FrameOut output pixels
	// from FrameIn input pixels with FramePad columns of left padding
	// (FrameIn 0: no frames), and the most tap rows the top and bottom
	// padding cut from a row (FrameTop, FrameBottom). A framed variant's
	// Width is FrameOut.
	FrameOut, FrameIn, FramePad int
	FrameTop, FrameBottom       int
	// RowLo, RowHi: a framed variant computes tap rows RowLo … RowHi-1,
	// src pointing at row RowLo's input, column 0; RowHi 0: not a framed
	// variant.
	RowLo, RowHi int

	// FrameStrideH is the vertical stride of the spec's row when its
	// vertical dilation is 1 (else 0): what a multi-row variant needs.
	// Rows > 1: a multi-row framed variant (see RowFrames) computes Rows
	// consecutive whole output rows per call, FrameStrideH input rows
	// apart, into Rows consecutive rows of dst.
	FrameStrideH, Rows int
}

// tapCols is the range of tap columns the kernel computes.
func (k Kernel) tapCols() (lo, hi int) {
	if k.EdgeHi == 0 {
		return 0, k.KW
	}
	return k.EdgeLo, k.EdgeHi
}

// Edges lists the edge variants of a depthwise kernel that runs channel
// ranges (see RangedFamily): one output pixel whose first lo tap columns
// fall on the left padding (lo = 1 … KW-1), then one whose columns from hi
// on fall on the right padding (hi = 1 … KW-1). The driver runs a row's
// border pixels with them straight from the input, where it would copy a
// zero-padded patch per pixel. Other kernels have none.
func (k Kernel) Edges() []Kernel {
	if k.Family != Depthwise || !k.RangedFamily() || k.EdgeHi != 0 {
		return nil
	}
	var es []Kernel
	for lo := 1; lo < k.KW; lo++ {
		es = append(es, k.edge(lo, k.KW))
	}
	for hi := 1; hi < k.KW; hi++ {
		es = append(es, k.edge(0, hi))
	}
	return es
}

func (k Kernel) edge(lo, hi int) Kernel {
	k.EdgeLo, k.EdgeHi = lo, hi
	k.PixTile, k.Width = 1, 0
	k.Name = fmt.Sprintf("%s_e%d_%d", k.Name, lo, hi)
	return k
}

// FitTile picks the pixel tile, at most most and at least most/2, for rows
// of width output pixels (0: unknown, most): the one whose full tiles and
// 8/4/2/1 tails (as the pixel loop runs them) cost least. A tile of p
// pixels has p·chainsPerPixel FMA chains (vectors per pixel) and costs at
// least 8 of them (two FMA units, four cycles of latency), plus its weight
// loads, one per vector. A 14-pixel row with a 12-pixel tile left a
// 2-pixel tail waiting on FMA latency; 14 pixels in one tile ran 13%
// faster.
func FitTile(most, width, chainsPerPixel int) int {
	if width <= 0 {
		return most
	}
	cost := func(p int) int { return max(p*chainsPerPixel, 8) + chainsPerPixel }
	best, bestCost := most, -1
	for p := most; p >= 1 && 2*p >= most; p-- {
		c := width / p * cost(p)
		r := width % p
		for _, t := range []int{8, 4, 2, 1} {
			if t < p && r >= t {
				c += cost(t)
				r -= t
			}
		}
		if bestCost < 0 || c < bestCost {
			best, bestCost = p, c
		}
	}
	return best
}

// Shuffled tells whether the output channels are permuted.
func (k Kernel) Shuffled() bool { return k.Shuffle > 1 }

// ShufflePos is where output channel o is stored: ShuffleNet's channel
// shuffle views the cout channels as [s][cout/s], transposes to
// [cout/s][s] and flattens, so o = a·(cout/s) + b goes to b·s + a.
func (k Kernel) ShufflePos(o int) int {
	if !k.Shuffled() {
		return o
	}
	q := k.Cout / k.Shuffle
	return (o%q)*k.Shuffle + o/q
}

// TileChannels is the number of output channels a register tile holds.
func (k Kernel) TileChannels() int {
	if k.Family == Planar {
		return k.ChanTile
	}
	return Lanes * k.BlockVec
}

// Taps is kh·kw.
func (k Kernel) Taps() int { return k.KH * k.KW }

// PackGroups, PackCin and PackCout describe the packed weight layout the
// driver builds: PackGroups groups of PackCout output channels reading
// PackCin input channels each. A depthwise layer packs as one group of cout
// channels reading one input channel each (its own).
func (k Kernel) PackGroups() int {
	if k.Family == Depthwise || k.Family == PackedGroups {
		return 1
	}
	return k.Groups
}

// PackCin is the number of input channels one packed output reads per tap.
func (k Kernel) PackCin() int {
	if k.Family == Depthwise {
		return 1
	}
	return k.Cin / k.Groups
}

// PackCout is the number of output channels in one packed group.
func (k Kernel) PackCout() int { return k.Cout / k.PackGroups() }

// Block is a run of output channels held in registers at once.
type Block struct {
	Vecs  int // YMM vectors
	Lanes int // valid lanes of the last vector (8 when full)
}

// Blocks lists the channel blocks of one packed group: full vectors in
// blocks of BlockVec (the last may be shorter), then the partial vector, if
// any, as a block of its own. The driver's pack follows the same rule.
func (k Kernel) Blocks() []Block {
	var bs []Block
	c := k.PackCout()
	full := c / Lanes
	for v := 0; v < full; v += k.BlockVec {
		bs = append(bs, Block{Vecs: min(k.BlockVec, full-v), Lanes: Lanes})
	}
	if c%Lanes != 0 {
		bs = append(bs, Block{Vecs: 1, Lanes: c % Lanes})
	}
	return bs
}

// ChannelRanges tells whether the kernel runs exactly the units whose
// packed weights w holds, so that the driver may call it on a range of
// channels: dst, src and w sliced at the same unit boundary, pixels still
// Cout and Cin floats apart. A unit is one group of a grouped layer, or
// one channel block of a depthwise layer whose channels all fall in full
// blocks of one size. The driver runs a range over a band of output rows
// so that the input rows and weights the range reads stay in L1 and L2
// while the rows reread them.
func (k Kernel) ChannelRanges() bool {
	switch {
	case !k.RangedFamily():
		return false
	case k.Family == Depthwise:
		return k.Cout%(Lanes*k.BlockVec) == 0
	}
	return true
}

// RangedFamily tells whether the kernel runs channel ranges, given a tile
// that divides its channels when it is depthwise (see ChannelRanges): a
// grouped or grouped 1×1 layer with more than one group, or a depthwise
// one with no channel multiplier; neither shuffled. The driver checks the
// depthwise tile.
func (k Kernel) RangedFamily() bool {
	switch {
	case k.Shuffled():
		return false
	case k.Family == Depthwise:
		return k.Multiplier() == 1
	case k.Family == Grouped || k.Family == Pointwise:
		return k.Groups > 1
	}
	return false
}

// BlockRun is a sequence of equal blocks, emitted as one loop.
type BlockRun struct {
	Block
	Count int
}

// BlockRuns groups consecutive equal blocks.
func (k Kernel) BlockRuns() []BlockRun {
	var rs []BlockRun
	for _, b := range k.Blocks() {
		if n := len(rs); n > 0 && rs[n-1].Block == b {
			rs[n-1].Count++
			continue
		}
		rs = append(rs, BlockRun{Block: b, Count: 1})
	}
	return rs
}

// PackedFloats is the length of the packed weight buffer.
func (k Kernel) PackedFloats() int {
	if k.Family == Planar {
		return k.Cout * (1 + k.PackCin()*k.Taps())
	}
	n := 0
	for _, b := range k.Blocks() {
		n += b.Vecs * Lanes * (1 + k.PackCin()*k.Taps())
	}
	return n * k.PackGroups()
}

// HasMin and HasMax tell whether the clamp has that side.
func (k Kernel) HasMin() bool { return !math.IsInf(float64(k.ActMin), -1) }

// HasMax tells whether the clamp has an upper bound.
func (k Kernel) HasMax() bool { return !math.IsInf(float64(k.ActMax), 1) }

// Multiplier is the depthwise channel multiplier (1 for other families).
func (k Kernel) Multiplier() int { return max(k.Mult, 1) }

// FastMultiplier tells whether a depthwise layer with a channel multiplier
// (groups == cin, cout = m·cin) fits the depthwise family: m of 2, 4 or 8
// and whole vectors of output channels, whose inputs are then 8/m
// contiguous channels each repeated m times.
func FastMultiplier(cin, cout, groups int) bool {
	m := cout / cin
	return groups == cin && cout == m*cin && (m == 2 || m == 4 || m == 8) && cout%Lanes == 0
}

// PackableGroups tells whether a grouped layer fits the PackedGroups
// family: groups of 2 or 4 channels in and out, whole vectors of them.
func PackableGroups(cin, cout, groups int) bool {
	cg := cin / groups
	return groups > 1 && cg == cout/groups && (cg == 2 || cg == 4) && cout%Lanes == 0
}

// ymmBudget is the number of vector registers an AVX2 kernel may use:
// Y16–Y31 need AVX-512VL.
const ymmBudget = 16

// Check asserts the parameters a template relies on.
func (k Kernel) Check() error {
	switch {
	case k.Cin < 1 || k.Cout < 1 || k.Groups < 1 || k.Cin%k.Groups != 0 || k.Cout%k.Groups != 0:
		return fmt.Errorf("%s: bad channels cin=%d cout=%d groups=%d", k.Name, k.Cin, k.Cout, k.Groups)
	case k.KH < 1 || k.KW < 1 || k.StrideW < 1 || k.DilW < 1:
		return fmt.Errorf("%s: bad kernel %dx%d stride %d dilation %d", k.Name, k.KH, k.KW, k.StrideW, k.DilW)
	case k.Shuffled() && k.Cout%k.Shuffle != 0:
		return fmt.Errorf("%s: shuffle %d does not divide cout %d", k.Name, k.Shuffle, k.Cout)
	case k.ActMin > k.ActMax:
		return fmt.Errorf("%s: clamp min %v > max %v", k.Name, k.ActMin, k.ActMax)
	case k.Family == Depthwise && (k.Groups != k.Cin || k.Cout != k.Cin*k.Multiplier()):
		return fmt.Errorf("%s: depthwise needs groups == cin and cout == cin·mult", k.Name)
	case k.Family == Depthwise && k.Multiplier() > 1 && !FastMultiplier(k.Cin, k.Cout, k.Groups):
		return fmt.Errorf("%s: depthwise multiplier %d needs a multiplier of 2, 4 or 8 and cout a multiple of 8", k.Name, k.Multiplier())
	case k.Family == Pointwise && k.Taps() != 1:
		return fmt.Errorf("%s: pointwise needs a 1x1 kernel", k.Name)
	case k.Family == PackedGroups && !PackableGroups(k.Cin, k.Cout, k.Groups):
		return fmt.Errorf("%s: packed groups need cin/groups == cout/groups in {2, 4} and cout a multiple of 8", k.Name)
	case k.EdgeHi != 0 && (k.Family != Depthwise || k.EdgeLo < 0 || k.EdgeLo >= k.EdgeHi || k.EdgeHi > k.KW || k.PixTile != 1):
		return fmt.Errorf("%s: bad edge variant: tap columns %d … %d of %d, %d pixels", k.Name, k.EdgeLo, k.EdgeHi-1, k.KW, k.PixTile)
	case k.RowHi != 0 && (!k.framedFamily() || k.RowLo < 0 || k.RowLo >= k.RowHi || k.RowHi > k.KH || k.Width != k.FrameOut || k.Width < 1 || k.FrameIn < 1 || k.FramePad < 0):
		return fmt.Errorf("%s: bad framed variant: tap rows %d … %d of %d, a row of %d pixels from %d with %d of left padding",
			k.Name, k.RowLo, k.RowHi-1, k.KH, k.Width, k.FrameIn, k.FramePad)
	case k.Rows > 1 && (k.Family != Depthwise || k.RowLo != 0 || k.RowHi != k.KH || k.FrameStrideH < 1 || k.FrameStrideH >= k.KH):
		return fmt.Errorf("%s: bad multi-row variant: %d rows %d apart, tap rows %d … %d of %d", k.Name, k.Rows, k.FrameStrideH, k.RowLo, k.RowHi-1, k.KH)
	case k.Family == Planar:
		return k.checkPlanar()
	case k.BlockVec < 1 || k.PixTile < 1 || (k.Family != Depthwise && k.CinChunk < 1):
		return fmt.Errorf("%s: bad tile %d vectors x %d pixels, chunk %d", k.Name, k.BlockVec, k.PixTile, k.CinChunk)
	}
	return nil
}

// checkAVX2Tile asserts that the AVX2 template's register tile fits Y0–Y15.
func (k Kernel) checkAVX2Tile() error {
	if k.Rows > 1 {
		return fmt.Errorf("%s: multi-row variants are AVX-512 only", k.Name)
	}
	if n := k.liveVectors(); n > ymmBudget {
		return fmt.Errorf("%s: tile needs %d vector registers, AVX2 has %d", k.Name, n, ymmBudget)
	}
	return nil
}

// liveVectors is the peak number of YMM values the AVX2 template keeps live:
// the accumulators plus the weights (and broadcast or masked input) of one
// step, or plus one more in the epilogue (a clamp bound or the store mask,
// each loaded when the previous is dead).
func (k Kernel) liveVectors() int {
	if k.Family == Planar {
		return k.planarLiveVectors()
	}
	peak := 0
	for _, b := range k.Blocks() {
		acc := k.PixTile * b.Vecs
		step := b.Vecs + 1 // weights + broadcast input
		if k.Family == Depthwise {
			step = k.KW + 1 // one kernel row of weights + the input column
			if b.Lanes < Lanes || k.Multiplier() > 1 {
				step++ // the load mask, or the multiplier's permute control
			}
		}
		peak = max(peak, acc+max(step, 1))
	}
	return peak
}
