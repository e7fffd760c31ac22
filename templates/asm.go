package templates

import (
	"fmt"
	"go/token"
	"math"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// AVX2Name is the name of a kernel's assembly function.
func (k Kernel) AVX2Name() string { return k.Name + "_avx2" }

// rowKernelSignature is the Go signature every row kernel has; the driver
// documents what the arguments mean.
const rowKernelSignature = "func(dst, src, w []float32, count, rowStride int)"

// AVX2File assembles kernels into one Go assembly file for package pkg,
// built for amd64 without the purego tag. It fails rather than emit a kernel
// that would need a register only AVX-512 has.
func AVX2File(pkg string, kernels []Kernel) ([]byte, error) {
	a := &avx2{c: build.NewContext(), consts: map[string]operand.Mem{}}
	a.c.ConstraintExpr("amd64,!purego")
	for _, k := range kernels {
		if err := k.Check(); err != nil {
			return nil, err
		}
		if err := k.checkAVX2Tile(); err != nil {
			return nil, err
		}
		if !token.IsIdentifier(k.AVX2Name()) {
			return nil, fmt.Errorf("kernel name %q is not a Go identifier", k.AVX2Name())
		}
		a.kernel(k)
	}
	for _, k := range kernels {
		if k.Family == Planar { // the NCHW driver's copy helpers
			a.padRows()
			a.padPairs()
			break
		}
	}
	f, err := a.c.Result()
	if err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	if err := checkAVX2Registers(f); err != nil {
		return nil, err
	}
	return printer.NewGoAsm(printer.Config{Name: "convgen", Pkg: pkg}).Print(f)
}

// checkAVX2Registers rejects any use of Y16–Y31 (or X16–X31): those need
// EVEX encoding, and the kernel would fault on an AVX2-only CPU.
func checkAVX2Registers(f *ir.File) error {
	for _, fn := range f.Functions() {
		for _, in := range fn.Instructions() {
			for _, op := range in.Operands {
				r, ok := op.(reg.Register)
				if !ok || r.Kind() != reg.KindVector {
					continue
				}
				if p, ok := r.(reg.Physical); ok && p.PhysicalIndex() >= ymmBudget {
					return fmt.Errorf("%s: %s uses %s, which needs AVX-512", fn.Name, in.Opcode, r.Asm())
				}
			}
		}
	}
	return nil
}

// avx2 is the state of one assembly file being built.
type avx2 struct {
	c      *build.Context
	consts map[string]operand.Mem // DATA symbols already emitted, by name
	labels int                    // label counter, so every loop label is unique
}

func (a *avx2) kernel(k Kernel) {
	c := a.c
	c.Function(k.AVX2Name())
	c.Attributes(attr.NOSPLIT)
	c.Pragma("noescape")
	if k.Family == Planar {
		c.SignatureExpr(planarKernelSignature)
	} else {
		c.SignatureExpr(rowKernelSignature)
	}
	c.Doc(strings.Split(k.describe(), "\n")...)
	switch k.Family {
	case Planar:
		a.nchwconv(k)
	case Depthwise:
		a.dwconv(k)
	case Grouped, Pointwise:
		a.gconv(k)
	case PackedGroups:
		a.pgconv(k)
	}
	c.VZEROUPPER()
	c.RET()
}

// describe is the pseudo-code comment over each kernel.
func (k Kernel) describe() string {
	if k.Family == Planar {
		return k.describePlanar()
	}
	d := fmt.Sprintf(`%s: %s, cin %d, cout %d, groups %d, %dx%d taps, stride_w %d, dilation_w %d, clamp [%v, %v].
Computes count output pixels of one NHWC row: dst[p][o] = clamp(bias[o] + Σ_tap Σ_ci src[p·%d + tap][ci]·w[o][ci][tap]).
Register tile: %d pixels × %d vectors of 8 channels.`,
		k.Name, k.Family, k.Cin, k.Cout, k.Groups, k.KH, k.KW, k.StrideW, k.DilW, k.ActMin, k.ActMax,
		k.StrideW*k.Cin, k.PixTile, k.BlockVec)
	if k.RowHi != 0 {
		d += fmt.Sprintf(`
Framed: the %d pixels of a row from %d input pixels with %d of left padding (count is ignored),
tap rows %d … %d (src at row %d's input, column 0); taps on the padding are skipped.`,
			k.Width, k.FrameIn, k.FramePad, k.RowLo, k.RowHi-1, k.RowLo)
	}
	return d
}

// label returns a fresh label name with the given stem.
func (a *avx2) label(stem string) string {
	a.labels++
	return fmt.Sprintf("%s%d", stem, a.labels)
}

// rowArgs loads the pointers and the tap row stride every row kernel
// starts from. rowStride is converted from floats to bytes.
func (a *avx2) rowArgs() (dst, src, rowStride reg.GPVirtual) {
	c := a.c
	dst, src, rowStride = c.GP64(), c.GP64(), c.GP64()
	c.Load(c.Param("dst").Base(), dst)
	c.Load(c.Param("src").Base(), src)
	c.Load(c.Param("rowStride"), rowStride)
	c.SHLQ(operand.U8(2), rowStride)
	return dst, src, rowStride
}

// countArg loads the number of pixels to compute (a framed variant's row
// has its width built in and ignores it).
func (a *avx2) countArg() reg.GPVirtual {
	count := a.c.GP64()
	a.c.Load(a.c.Param("count"), count)
	return count
}

// pixelLoop runs tile(P) over count pixels in tiles of k.PixTile, then the
// remaining fewer than P pixels in tiles of 8, 4, 2 and 1 (each at most
// once), so a short row still runs mostly in wide tiles. After each tile it
// advances src and dst.
func (a *avx2) pixelLoop(k Kernel, dst, src, count reg.GPVirtual, tile func(pixels int)) {
	c := a.c
	srcStep := k.StrideW * k.Cin * 4
	dstStep := k.Cout * 4
	step := func(n int) {
		tile(n)
		c.ADDQ(operand.U32(n*srcStep), src)
		c.ADDQ(operand.U32(n*dstStep), dst)
		c.SUBQ(operand.U32(n), count)
	}
	top, tail := a.label("tile"), a.label("tail")
	c.Comment(fmt.Sprintf("Tiles of %d pixels.", k.PixTile))
	c.Label(top)
	c.CMPQ(count, operand.U32(k.PixTile))
	c.JL(operand.LabelRef(tail))
	step(k.PixTile)
	c.JMP(operand.LabelRef(top))
	c.Label(tail)
	for _, n := range []int{8, 4, 2, 1} {
		if n >= k.PixTile {
			continue
		}
		skip := a.label("skip")
		c.Comment(fmt.Sprintf("Tail: %d pixel(s).", n))
		c.CMPQ(count, operand.U32(n))
		c.JL(operand.LabelRef(skip))
		step(n)
		c.Label(skip)
	}
}

// frameRegs are the pointers a block works from: the packed weights (w,
// advanced past the block), the group's input channels (s) and where the
// block's results go (o); and, in a framed variant's tile cut by the
// padding, where its pixels read (cols, see tileCols).
type frameRegs struct {
	w, s, rowStride reg.GPVirtual
	o               out
	cols            *tileCols
}

// frame emits what every family shares: the pixel loop, and in each tile
// the walk over the packed groups and their channel block runs. perTile
// (may be nil) runs at the start of each tile; block emits one block. For
// a shuffled layer the group and block loops are unrolled, so that every
// store offset is a constant.
func (a *avx2) frame(k Kernel, perTile func(pixels int), block func(b Block, pixels int, r frameRegs)) {
	c := a.c
	dst, src, rowStride := a.rowArgs()
	groups, cinG, coutG := k.PackGroups(), k.PackCin(), k.PackCout()
	vecsPerGroup := 0
	for _, b := range k.Blocks() {
		vecsPerGroup += b.Vecs
	}
	tile := func(pixels int, cols *tileCols) {
		w := c.GP64()
		c.Load(c.Param("w").Base(), w)
		s, d := c.GP64(), c.GP64()
		c.MOVQ(src, s)
		c.MOVQ(dst, d)
		if perTile != nil {
			perTile(pixels)
		}
		groupLoop := func(body func(g int)) {
			if k.ChannelRanges() && groups > 1 {
				a.untilEndOfW(w, fmt.Sprintf("The group(s) w holds (at most %d), %d pixel(s).", groups, pixels), func() { body(-1) })
				return
			}
			a.loop(groups, k.Shuffled(), fmt.Sprintf("%d group(s), %d pixel(s).", groups, pixels), body)
		}
		groupLoop(func(g int) {
			ch := g * coutG
			if k.ChannelRanges() && groups == 1 {
				run := k.BlockRuns()[0]
				a.untilEndOfW(w, fmt.Sprintf("The block(s) of %d vector(s) w holds (at most %d).", run.Vecs, run.Count), func() {
					block(run.Block, pixels, frameRegs{w: w, s: s, rowStride: rowStride, o: out{d: d, tile: dst}, cols: cols})
				})
				return
			}
			for _, run := range k.BlockRuns() {
				base := ch
				a.loop(run.Count, k.Shuffled(), fmt.Sprintf("%d block(s) of %d vector(s).", run.Count, run.Vecs), func(i int) {
					block(run.Block, pixels, frameRegs{w: w, s: s, rowStride: rowStride, o: out{d: d, tile: dst, ch: base + i*run.Vecs*Lanes}, cols: cols})
				})
				ch += run.Count * run.Vecs * Lanes
			}
			if groups > 1 {
				// d moved 8 floats per vector; the next group starts coutG later.
				if back := coutG*4 - vecsPerGroup*32; back != 0 {
					c.ADDQ(operand.I32(back), d)
				}
				c.ADDQ(operand.U32(cinG*4), s)
			}
		})
	}
	if k.RowHi != 0 {
		a.framedRow(k, dst, src, tile)
		return
	}
	a.pixelLoop(k, dst, src, a.countArg(), func(pixels int) { tile(pixels, nil) })
}

// untilEndOfW emits body, which advances w past one unit's weights (a
// group's or a block's), until w reaches the end of the w argument (at
// least once): the kernel runs as many units as the driver passed weights
// for (ChannelRanges).
func (a *avx2) untilEndOfW(w reg.GPVirtual, comment string, body func()) {
	c := a.c
	end := c.GP64()
	c.Load(c.Param("w").Len(), end)
	c.LEAQ(operand.Mem{Base: w, Index: end, Scale: 4}, end)
	c.Comment(comment)
	l := a.label("loop")
	c.Label(l)
	body()
	c.CMPQ(w, end)
	c.JB(operand.LabelRef(l))
}

// inputChannels emits the implicit GEMM's walk over one group's input
// channels: trips of CinChunk channels (then the rest), each running tap
// for every tap row (of a framed variant, those it computes), tap column
// and channel of the trip, with t the tap row's input pointer. w holds
// wBytes of weights per channel and tap and advances past the trip's; s
// advances a float per channel, and is rewound to the group's first
// channel at the end.
func (a *avx2) inputChannels(k Kernel, w, s, rowStride reg.GPVirtual, wBytes int, tap func(t reg.GPVirtual, kx, tap, ci int)) {
	c := a.c
	cinG := k.PackCin()
	chunk := min(k.CinChunk, cinG)
	rowLo, rowHi := k.tapRows()
	step := func(n int) {
		t := s
		if rowHi-rowLo > 1 {
			t = c.GP64()
			c.MOVQ(s, t)
		}
		for ky := rowLo; ky < rowHi; ky++ {
			if ky > rowLo {
				c.ADDQ(rowStride, t)
			}
			for kx := 0; kx < k.KW; kx++ {
				for ci := 0; ci < n; ci++ {
					tap(t, kx, ky*k.KW+kx, ci)
				}
			}
		}
		c.ADDQ(operand.U32(n*k.Taps()*wBytes), w)
		c.ADDQ(operand.U32(n*4), s)
	}
	a.repeat(cinG/chunk, fmt.Sprintf("Input channels, %d per trip.", chunk), func() { step(chunk) })
	if r := cinG % chunk; r > 0 {
		c.Comment("Remaining input channels.")
		step(r)
	}
	c.SUBQ(operand.U32(cinG*4), s)
}

// repeat emits body n times: inline once when n == 1, else as a counted loop.
func (a *avx2) repeat(n int, comment string, body func()) {
	a.loop(n, false, comment, func(int) { body() })
}

// loop emits body n times. Unrolled (or when n == 1) each copy gets its
// iteration index; as a counted loop the body gets -1. Shuffled layers
// unroll their channel loops so that every store offset is a constant.
func (a *avx2) loop(n int, unroll bool, comment string, body func(i int)) {
	c := a.c
	if n <= 0 {
		return
	}
	c.Comment(comment)
	if n == 1 || unroll {
		for i := 0; i < n; i++ {
			body(i)
		}
		return
	}
	ctr := c.GP64()
	c.MOVQ(operand.U32(n), ctr)
	a.countedLoop(ctr, body)
}

// countedLoop emits body(-1) in a loop that decrements ctr (a register or
// a stack slot holding a positive count) to zero.
func (a *avx2) countedLoop(ctr operand.Op, body func(i int)) {
	c := a.c
	l := a.label("loop")
	c.Label(l)
	body(-1)
	c.DECQ(ctr)
	c.JNZ(operand.LabelRef(l))
}

// out is where a block's results go: at d, which the block then advances
// past its channels, or, for a shuffled layer, at constant offsets from
// the pixel tile's base (tile) given the block's first channel ch.
type out struct {
	d, tile reg.GPVirtual
	ch      int
}

// tileRegs allocates pixels×vecs accumulators, initialized from the bias
// vectors at bias (every pixel starts from the same bias).
func (a *avx2) tileRegs(pixels, vecs int, bias operand.Mem) [][]reg.VecVirtual {
	c := a.c
	acc := make([][]reg.VecVirtual, pixels)
	for p := range acc {
		acc[p] = make([]reg.VecVirtual, vecs)
		for v := range acc[p] {
			acc[p][v] = c.YMM()
			if p == 0 {
				c.VMOVUPS(bias.Offset(32*v), acc[p][v])
			} else {
				c.VMOVAPS(acc[0][v], acc[p][v])
			}
		}
	}
	return acc
}

// epilogue clamps the accumulators and stores them (pixel p at p·cout
// floats), then advances o.d past the block.
func (a *avx2) epilogue(k Kernel, acc [][]reg.VecVirtual, b Block, o out) {
	c := a.c
	a.clamp(k, acc)
	if k.Shuffled() {
		a.shuffledStore(k, acc, b, o)
		return
	}
	var mask reg.VecVirtual
	if b.Lanes < Lanes {
		mask = c.YMM()
		c.VMOVUPS(a.mask(b.Lanes), mask)
	}
	for p, row := range acc {
		for v, x := range row {
			m := operand.Mem{Base: o.d, Disp: p*k.Cout*4 + v*32}
			if v == len(row)-1 && mask != nil {
				c.VMASKMOVPS(x, mask, m)
			} else {
				c.VMOVUPS(x, m)
			}
		}
	}
	c.ADDQ(operand.U32(b.Vecs*32), o.d)
}

// clamp applies the layer's clamp to every accumulator. It keeps NaN:
// max/min return their second source operand when either is NaN, and the
// accumulator is that operand.
func (a *avx2) clamp(k Kernel, acc [][]reg.VecVirtual) { a.clampWith(k, acc, a.c.YMM) }

// clampWith is clamp with the bound in a register from alloc (YMM or ZMM).
func (a *avx2) clampWith(k Kernel, acc [][]reg.VecVirtual, alloc func() reg.VecVirtual) {
	c := a.c
	bound := func(v float32, op func(ops ...operand.Op)) {
		r := alloc()
		c.VBROADCASTSS(a.f32(v), r)
		for _, row := range acc {
			for _, x := range row {
				op(x, r, x)
			}
		}
	}
	if k.HasMin() {
		bound(k.ActMin, c.VMAXPS)
	}
	if k.HasMax() {
		bound(k.ActMax, c.VMINPS)
	}
}

// shuffledStore writes every lane to its shuffled channel: lanes 0–3 from
// the low half, lanes 4–7 from the high half extracted once.
func (a *avx2) shuffledStore(k Kernel, acc [][]reg.VecVirtual, b Block, o out) {
	c := a.c
	for p, row := range acc {
		for v, x := range row {
			n := Lanes
			if v == len(row)-1 {
				n = b.Lanes
			}
			hi := c.XMM()
			if n > 4 {
				c.VEXTRACTF128(operand.U8(1), x, hi)
			}
			for l := 0; l < n; l++ {
				m := operand.Mem{Base: o.tile, Disp: (p*k.Cout + k.ShufflePos(o.ch+v*Lanes+l)) * 4}
				if l < 4 {
					c.VEXTRACTPS(operand.U8(l), x.AsX(), m)
				} else {
					c.VEXTRACTPS(operand.U8(l-4), hi, m)
				}
			}
		}
	}
}

// f32 returns a DATA symbol holding v.
func (a *avx2) f32(v float32) operand.Mem {
	return a.table(fmt.Sprintf("f32_%08x", math.Float32bits(v)), 1, func(int) uint32 { return math.Float32bits(v) })
}

// table returns the read-only DATA symbol name of n uint32 values, value(i)
// each, emitting it on first use.
func (a *avx2) table(name string, n int, value func(i int) uint32) operand.Mem {
	if m, ok := a.consts[name]; ok {
		return m
	}
	m := a.c.StaticGlobal(name)
	a.c.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := 0; i < n; i++ {
		a.c.AppendDatum(operand.U32(value(i)))
	}
	a.consts[name] = m
	return m
}

// ones is an all-ones int32 lane for the first n, else zero.
func ones(i, n int) uint32 {
	if i < n {
		return 0xffffffff
	}
	return 0
}

// mask returns a DATA symbol of 8 int32 lanes, the first n all ones: the
// VMASKMOVPS mask for a vector with n valid channels.
func (a *avx2) mask(n int) operand.Mem {
	return a.table(fmt.Sprintf("mask_%d", n), Lanes, func(i int) uint32 { return ones(i, n) })
}

// spreadControl returns the VPERMILPS control that spreads the 8/m floats
// of a broadcast load over 8 lanes, each m times (within 128-bit lanes:
// VBROADCASTF128 gives every lane all 4 floats, VBROADCASTSD both of 2).
func (a *avx2) spreadControl(m int) operand.Mem {
	return a.table(fmt.Sprintf("spread_%d", m), Lanes, func(i int) uint32 { return uint32(i / m) })
}
