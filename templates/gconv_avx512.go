package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// AVX512Name is the name of a kernel's AVX-512 function.
func (k Kernel) AVX512Name() string { return k.Name + "_avx512" }

// HasAVX512 tells whether convgen emits an AVX-512 variant of k: the
// implicit-GEMM, packed-group and depthwise families, whose speed comes
// from the larger register tile 32 ZMM registers hold. (Shuffled depthwise
// layers stay with AVX2 for now.)
func (k Kernel) HasAVX512() bool {
	return k.Family == Grouped || k.Family == Pointwise || k.Family == PackedGroups || k.Family == Depthwise && !k.Shuffled()
}

// AVX512 returns k with the register tile of its AVX-512 variant: blocks
// of BlockVec 8-channel vectors (BlockVec/2 ZMM, BlockVec even unless the
// group has a single vector) by PixTile pixels, accumulators + one step's
// weights + nothing else (inputs are embedded broadcasts) ≤ 32.
func (k Kernel) AVX512() Kernel {
	if k.Family == Depthwise {
		// One ZMM of 16 channels; P accumulators + a kernel row + the input.
		k.BlockVec, k.PixTile = 2, FitTile(min(16, 30-k.KW), k.Width, 1)
		switch {
		case k.EdgeHi != 0:
			k.PixTile = 1
		case k.Rows > 1:
			// Rows·P accumulators, a kernel row for each row sharing an
			// input row, the input (and the multiplier's permute control).
			k.PixTile = multiRowPixTile(k.KW, k.rowShare(), k.Rows)
		case k.RowHi != 0:
			k.PixTile = min(16, 30-k.KW) // the most: a framed row balances its tiles
		}
		return k
	}
	full := k.PackCout() / Lanes
	vecs := 1
	for _, v := range []int{8, 6, 4, 2} {
		if full >= v && full%v == 0 {
			vecs = v
			break
		}
	}
	switch {
	case vecs == 1 && full >= 2 && full <= 8:
		// The whole group in one block, its last ZMM half used: every
		// input broadcast then serves all of the group's channels.
		vecs = full
	case vecs == 1 && full >= 2:
		vecs = min(8, full-full%2)
	}
	z := (vecs + 1) / 2
	k.BlockVec = vecs
	if k.Family == Grouped && z <= 2 {
		// A narrow block does few FMAs per input channel: unroll twice
		// the AVX2 chunk (measured: ResNeXt's 3×3 at 14×14, 16 channels
		// per group, 185 → 205 GFLOP/s; 32 per group +4%; chunks of 1–2
		// ran at half speed).
		k.CinChunk = min(k.PackCin(), max(1, 72/k.Taps()))
	}
	if k.Family == Pointwise {
		// 1×1: 4 input channels per trip rather than AVX2's 8 (measured:
		// 144→24 221 → 241 GFLOP/s, 384→64 +7%; 2 and 16 were slower).
		k.CinChunk = min(k.PackCin(), 4)
	}
	k.PixTile = min(12, (31-z)/z) // accumulators + weights + the broadcast input
	if k.RowHi != 0 {
		k.PixTile = min(16, (31-z)/z) // the most: a framed row balances its tiles
	} else if k.Width > 0 {
		k.PixTile = FitTile(min(16, (31-z)/z), k.Width, z)
	}
	if k.pairTiles() {
		// Pairs: vecs ZMM accumulators per pair, vecs weights, and two
		// broadcasts and their blend.
		most := 2 * ((32 - vecs - 3) / vecs)
		k.PixTile = most
		if k.Width > 0 {
			k.PixTile = FitTile(most, k.Width, vecs) &^ 1
		}
	}
	return k
}

// pairTiles tells whether the AVX-512 tile runs pixels in pairs: a 1×1
// layer of one group whose output channels are an odd number (3, 5 or 7)
// of 8-channel vectors, all in one block (see AVX512). A pixel alone would
// leave half of its last ZMM idle; the 2·cout outputs of a pair are
// BlockVec whole ZMM, contiguous in dst, the middle one holding the end
// of the first pixel and the start of the second. Measured against whole
// ZMM per pixel: 144→24 +26%, 64→40 +11%, 32→56 +6%; a 3×3 16→24 layer
// lost 11%, so other families keep whole ZMM.
func (k Kernel) pairTiles() bool {
	full := k.PackCout() / Lanes
	return k.Family == Pointwise && k.PackGroups() == 1 && !k.Shuffled() &&
		k.PackCout()%Lanes == 0 && full%2 == 1 && full >= 3 && k.BlockVec == full
}

// avx512Registers is the number of ZMM registers the AVX-512 tile of k
// needs (see AVX512).
func (k Kernel) avx512Registers() int {
	z := (k.BlockVec + 1) / 2
	switch {
	case k.Family == Depthwise:
		// Kernel rows of weights for the output rows that share an input
		// row, and the input column.
		return z*k.PixTile*max(k.Rows, 1) + k.KW*k.rowShare() + 1
	case k.pairTiles():
		return k.BlockVec*(k.PixTile/2) + k.BlockVec + 3
	}
	return z*k.PixTile + z + 1 // one step's weights and the broadcast input
}

// AVX512File assembles the AVX-512 variants of kernels (each already
// carrying its AVX-512 tile, see AVX512) into one file.
func AVX512File(pkg string, kernels []Kernel) ([]byte, error) {
	a := &avx2{c: build.NewContext(), consts: map[string]operand.Mem{}}
	a.c.ConstraintExpr("amd64,!purego")
	for _, k := range kernels {
		if err := k.Check(); err != nil {
			return nil, err
		}
		if !k.HasAVX512() {
			return nil, fmt.Errorf("%s: no AVX-512 variant for family %s", k.Name, k.Family)
		}
		if n := k.avx512Registers(); n > 32 {
			return nil, fmt.Errorf("%s: AVX-512 tile needs %d registers, there are 32", k.Name, n)
		}
		c := a.c
		c.Function(k.AVX512Name())
		c.Attributes(attr.NOSPLIT)
		c.Pragma("noescape")
		c.SignatureExpr(rowKernelSignature)
		c.Doc(k.describe(), "AVX-512 variant: vectors of 16 channels, masked tails.")
		switch k.Family {
		case Depthwise:
			a.dwconv512(k)
		case PackedGroups:
			a.pgconv512(k)
		default:
			a.gconv512(k)
		}
		c.VZEROUPPER()
		c.RET()
	}
	f, err := a.c.Result()
	if err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	return printer.NewGoAsm(printer.Config{Name: "convgen", Pkg: pkg}).Print(f)
}

// gconv512 is gconv with ZMM registers: each block of BlockVec 8-channel
// vectors is BlockVec/2 ZMM (the last one half-used when BlockVec is odd),
// inputs are broadcast straight from memory by the FMA, and the tails are
// masked loads and stores instead of separate code.
func (a *avx2) gconv512(k Kernel) {
	a.frame(k, nil, func(b Block, pixels int, r frameRegs) {
		if k.pairTiles() && pixels%2 == 0 {
			a.gconvPairs512(k, pixels, r.w, r.s, r.o.d, r.rowStride)
			return
		}
		a.gconvBlock512(k, b, pixels, r)
	})
}

// gconvPairs512 is the block of a pairTiles kernel for an even number of
// pixels. With v = BlockVec (odd) and m = (v-1)/2, pixel pair q's
// accumulators are v ZMM: m with the first pixel's channels 0 … 16m-1, a
// middle one with its last 8 channels and the second pixel's first 8, and
// m with the second pixel's channels 8 … 8v-1. Each input channel's step
// broadcasts both pixels' inputs once and blends them for the middle
// ZMM: v FMAs per pair where whole ZMM per pixel took v+1.
func (a *avx2) gconvPairs512(k Kernel, pixels int, w, s, d, rowStride reg.GPVirtual) {
	c := a.c
	v := k.BlockVec
	m := (v - 1) / 2
	hi := a.opmask(16) // lanes 8–15 come from the second pixel
	c.KSHIFTLW(operand.U8(8), hi, hi)
	// vecs returns the v weight (or bias) ZMM of the pair layout from the
	// block's 8v floats at mem: the first pixel's, the blend of the last
	// and first 8 channels, the second pixel's.
	vecs := func(mem operand.Mem, into []reg.VecVirtual) {
		at := func(floats int) operand.Mem { mem := mem; mem.Disp += floats * 4; return mem }
		for j := range into {
			if j == m {
				continue
			}
			off := 16 * j // the first pixel's channels 16j …
			if j > m {
				off = 16*j - 8*v // the second pixel's
			}
			c.VMOVUPS(at(off), into[j])
		}
		// Lanes 0–3 of the middle vector: 128-bit lanes 2 and 3 of the
		// last ZMM (channels 8v-8 …); lanes 4–7: lanes 0 and 1 of the first.
		c.VSHUFF32X4(operand.U8(0x4E), into[0], into[v-1], into[m])
	}
	pairs := pixels / 2
	acc := make([][]reg.VecVirtual, pairs)
	for q := range acc {
		acc[q] = make([]reg.VecVirtual, v)
		for j := range acc[q] {
			acc[q][j] = c.ZMM()
		}
		if q == 0 {
			vecs(operand.Mem{Base: w}, acc[0])
			continue
		}
		for j := range acc[q] {
			c.VMOVAPS(acc[0][j], acc[q][j])
		}
	}
	c.ADDQ(operand.U32(v*32), w)

	pix := k.StrideW * k.Cin * 4
	a.inputChannels(k, w, s, rowStride, v*32, func(t reg.GPVirtual, kx, tap, ci int) {
		wz := make([]reg.VecVirtual, v)
		for j := range wz {
			wz[j] = c.ZMM()
		}
		vecs(operand.Mem{Base: w, Disp: (ci*k.Taps() + tap) * v * 32}, wz)
		for q := 0; q < pairs; q++ {
			x := func(p int) operand.Mem {
				return operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + ci*4}
			}
			x0, x1, mid := c.ZMM(), c.ZMM(), c.ZMM()
			c.VBROADCASTSS(x(2*q), x0)
			c.VBROADCASTSS(x(2*q+1), x1)
			// (avo reads a masked destination: define it first.)
			c.VMOVAPS(x0, mid)
			c.VBLENDMPS(x1, x0, hi, mid)
			for j := range wz {
				in := x0
				switch {
				case j == m:
					in = mid
				case j > m:
					in = x1
				}
				c.VFMADD231PS(wz[j], in, acc[q][j])
			}
		}
	})

	// A pair's 2·8v outputs are contiguous: its v ZMM, in order.
	a.clampWith(k, acc, c.ZMM)
	for q, row := range acc {
		for j, x := range row {
			c.VMOVUPS(x, operand.Mem{Base: d, Disp: 2*q*k.Cout*4 + j*64})
		}
	}
	c.ADDQ(operand.U32(v*32), d)
}

// opmask returns a K register holding the low n bits set.
func (a *avx2) opmask(n int) reg.OpmaskVirtual {
	c := a.c
	r := c.GP32()
	c.MOVL(operand.U32(1<<n-1), r)
	k := c.K()
	c.KMOVW(r, k)
	return k
}

func (a *avx2) gconvBlock512(k Kernel, b Block, pixels int, r frameRegs) {
	c := a.c
	w, o := r.w, r.o
	d := o.d
	nz := (b.Vecs + 1) / 2
	// Lanes in the last ZMM: in memory (8 when the block has an odd number
	// of vectors), and valid for the store.
	memLanes, validLanes := 16, Lanes+b.Lanes
	if b.Vecs%2 == 1 {
		memLanes, validLanes = Lanes, b.Lanes
	}
	var loadMask, storeMask reg.OpmaskVirtual
	if memLanes < 16 {
		loadMask = a.opmask(memLanes)
	}
	if validLanes < 16 {
		storeMask = a.opmask(validLanes)
	}
	load := a.zmmLoader(nz, loadMask)
	acc := a.zmmTile(pixels, nz, operand.Mem{Base: w}, load)
	c.ADDQ(operand.U32(b.Vecs*32), w)

	a.inputChannels(k, w, r.s, r.rowStride, b.Vecs*32, func(t reg.GPVirtual, kx, tap, ci int) {
		if !r.cols.column(kx) {
			return
		}
		wz := make([]reg.VecVirtual, nz)
		for z := range wz {
			wz[z] = c.ZMM()
			load(operand.Mem{Base: w, Disp: (ci*k.Taps()+tap)*b.Vecs*32 + z*64}, z, wz[z])
		}
		for p := 0; p < pixels; p++ {
			x, ok := r.cols.at(k, t, p, kx, ci)
			if !ok {
				continue // a tap on the padding
			}
			if nz == 1 {
				c.VFMADD231PS_BCST(x, wz[0], acc[p][0])
				continue
			}
			// Broadcast once, use it for every ZMM of the block:
			// one load per nz FMAs instead of one per FMA.
			xb := c.ZMM()
			c.VBROADCASTSS(x, xb)
			for z := range wz {
				c.VFMADD231PS(wz[z], xb, acc[p][z])
			}
		}
	})

	if k.Shuffled() {
		a.shuffledStore512(k, acc, (b.Vecs-1)*Lanes+b.Lanes, o)
		return
	}
	a.store512(k, acc, storeMask, d, 0)
	c.ADDQ(operand.U32(b.Vecs*32), d)
}

// zmmLoader returns a load of ZMM z of a block of nz: the last one through
// mask (zeroing the other lanes) when there is one.
func (a *avx2) zmmLoader(nz int, mask reg.OpmaskVirtual) func(m operand.Mem, z int, r reg.VecVirtual) {
	return func(m operand.Mem, z int, r reg.VecVirtual) {
		if z == nz-1 && mask != nil {
			a.c.VMOVUPS_Z(m, mask, r)
		} else {
			a.c.VMOVUPS(m, r)
		}
	}
}

// zmmTile allocates pixels×nz ZMM accumulators, initialized from the nz
// bias vectors at bias (every pixel starts from the same bias).
func (a *avx2) zmmTile(pixels, nz int, bias operand.Mem, load func(m operand.Mem, z int, r reg.VecVirtual)) [][]reg.VecVirtual {
	c := a.c
	acc := make([][]reg.VecVirtual, pixels)
	for p := range acc {
		acc[p] = make([]reg.VecVirtual, nz)
		for z := range acc[p] {
			acc[p][z] = c.ZMM()
			if p == 0 {
				load(bias.Offset(z*64), z, acc[p][z])
			} else {
				c.VMOVAPS(acc[0][z], acc[p][z])
			}
		}
	}
	return acc
}

// shuffledStore512 clamps the block's accumulators and stores each of its
// valid lanes at its shuffled channel (ShufflePos): ZMM z of pixel p holds
// channels o.ch+16z …, and for each 16-float window of the pixel's output those
// lanes land in, one VPERMPS moves them to their places and one masked
// store writes just them (lanes of other channels in the window are left
// alone). The permutes and masks are constants, the same for every pixel.
func (a *avx2) shuffledStore512(k Kernel, acc [][]reg.VecVirtual, valid int, o out) {
	c := a.c
	a.clampWith(k, acc, c.ZMM)
	for z := range acc[0] {
		type window struct {
			idx  [16]uint32
			mask uint16
		}
		windows := map[int]*window{}
		var order []int
		for l := 0; l < 16 && 16*z+l < valid; l++ {
			pos := k.ShufflePos(o.ch + 16*z + l)
			w := windows[pos/16]
			if w == nil {
				w = &window{}
				windows[pos/16] = w
				order = append(order, pos/16)
			}
			w.idx[pos%16] = uint32(l)
			w.mask |= 1 << (pos % 16)
		}
		for _, at := range order {
			w := windows[at]
			idx := c.ZMM()
			name := "perm_"
			for _, l := range w.idx {
				name += fmt.Sprintf("%x", l) // lanes < 16: one digit each
			}
			c.VMOVUPS(a.table(name, 16, func(i int) uint32 { return w.idx[i] }), idx)
			r := c.GP32()
			c.MOVL(operand.U32(uint32(w.mask)), r)
			m := c.K()
			c.KMOVW(r, m)
			for p := range acc {
				t := c.ZMM()
				c.VPERMPS(acc[p][z], idx, t)
				c.VMOVUPS(t, m, operand.Mem{Base: o.tile, Disp: (p*k.Cout + 16*at) * 4})
			}
		}
	}
}
