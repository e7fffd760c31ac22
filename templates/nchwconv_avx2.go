package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// nchwconv emits an NCHW row kernel (the Planar family): one output row,
// count pixels, of the output channel planes of groups groups.
//
//	for each group g (all of them when shuffled):
//	  for each block of C output channels of the group (C = ChanTile, then the rest):
//	    for each tile of V vectors of 8 pixels (V from PlanarVecs; then 4, 2, 1
//	    vectors, then the last count%8 pixels masked):
//	      acc[c][v] = broadcast bias[c]
//	      for ci in the group's input channels:
//	        for ky, kx (unrolled):
//	          x[v] = src[ci][row ky][phase kx][pixel + col kx + 8v]   // V loads, reused by C channels
//	          acc[c][v] += x[v] · broadcast w[c][ci][tap]
//	      clamp; store each channel's V vectors into its plane
//
// A single-channel block (depthwise) FMAs straight from memory. Nothing is
// read or written outside the row: the partial vector's loads and stores
// are masked. Shuffled layers unroll the group and block loops, so every
// channel's plane position is a constant.
func (a *avx2) nchwconv(k Kernel) {
	c := a.c
	p := planarRegs{
		rowStride: a.byteParam("rowStride"),
		srcPlane:  a.byteParam("srcPlane"),
		wp:        c.GP64(),
		sg:        c.GP64(),
	}
	if k.StrideW > 1 {
		p.phase = a.byteParam("phaseStride")
	}
	locals := c.AllocLocal(24)
	p.countB, p.groupCtr, p.blockCtr = locals, locals.Offset(8), locals.Offset(16)
	t := a.byteParam("count")
	c.MOVQ(t, p.countB)
	c.Load(c.Param("w").Base(), p.wp)
	c.Load(c.Param("src").Base(), p.sg)
	if !k.Shuffled() {
		p.dg = c.GP64()
		c.Load(c.Param("dst").Base(), p.dg)
	}
	cinG, coutG := k.Cin/k.Groups, k.Cout/k.Groups
	groups := k.Groups
	if !k.Shuffled() {
		// The driver passes how many groups to run (it splits them so
		// that their input planes stay in cache).
		groups = 0
		n := c.GP64()
		c.Load(c.Param("groups"), n)
		c.MOVQ(n, p.groupCtr)
	}
	a.memLoop(groups, k.Shuffled(), p.groupCtr, "Groups.", func(g int) {
		ch := g * coutG
		for _, cb := range k.ChanBlocks() {
			base := ch
			a.memLoop(cb.Count, k.Shuffled(), p.blockCtr, fmt.Sprintf("%d block(s) of %d channel(s).", cb.Count, cb.Chans), func(i int) {
				a.planarBlock(k, cb.Chans, base+i*cb.Chans, p)
				c.ADDQ(operand.U32(cb.Chans*(1+cinG*k.Taps())*4), p.wp)
				if !k.Shuffled() {
					// The next block's planes start Chans planes later.
					d := a.byteParam("dstPlane")
					c.IMUL3Q(operand.U32(cb.Chans), d, d)
					c.ADDQ(d, p.dg)
				}
			})
			ch += cb.Count * cb.Chans
		}
		if !k.Shuffled() || k.Groups > 1 {
			// The next group reads the next cin/groups input planes.
			s := c.GP64()
			c.IMUL3Q(operand.U32(cinG), p.srcPlane, s)
			c.ADDQ(s, p.sg)
		}
	})
}

// planarRegs are the values every Planar block works from: byte strides,
// the packed weights of the block (wp), the group's first input plane
// (sg), the block's first output plane (dg; nil when shuffled), and stack
// slots for the row length in bytes and the loop counters.
type planarRegs struct {
	rowStride, srcPlane, phase reg.GPVirtual
	wp, sg, dg                 reg.GPVirtual
	countB, groupCtr, blockCtr operand.Mem
}

// byteParam loads an int argument counted in floats and returns it in bytes.
func (a *avx2) byteParam(name string) reg.GPVirtual {
	r := a.c.GP64()
	a.c.Load(a.c.Param(name), r)
	a.c.SHLQ(operand.U8(2), r)
	return r
}

// memLoop is loop with its counter in a stack slot, for the outer loops of
// kernels whose inner loops need every general register. n == 0 means the
// slot already holds the (positive) count.
func (a *avx2) memLoop(n int, unroll bool, ctr operand.Mem, comment string, body func(i int)) {
	c := a.c
	c.Comment(comment)
	if n == 1 || unroll {
		for i := 0; i < n; i++ {
			body(i)
		}
		return
	}
	if n > 0 {
		c.MOVQ(operand.U32(n), ctr)
	}
	a.countedLoop(ctr, body)
}

// planarBlock runs one block of co channels (the first is o0 when the
// loops are unrolled) over the whole row: tiles of PlanarVecs(co) vectors,
// then 4, 2 and 1 vector(s) at most once each, then the partial vector.
func (a *avx2) planarBlock(k Kernel, co, o0 int, p planarRegs) {
	c := a.c
	v := PlanarVecs(co)
	xo := c.GP64() // byte offset of the tile's first pixel in the row
	c.XORQ(xo, xo)
	fits := func(n int, otherwise string) {
		t := c.GP64()
		c.LEAQ(operand.Mem{Base: xo, Disp: 32 * n}, t)
		c.CMPQ(t, p.countB)
		c.JG(operand.LabelRef(otherwise))
	}
	top, tails := a.label("tile"), a.label("tail")
	c.Comment(fmt.Sprintf("Tiles of %d channel(s) x %d pixels.", co, 8*v))
	c.Label(top)
	fits(v, tails)
	a.planarTile(k, co, o0, v, nil, xo, p)
	c.ADDQ(operand.U32(32*v), xo)
	c.JMP(operand.LabelRef(top))
	c.Label(tails)
	for _, n := range []int{4, 2, 1} {
		if n >= v {
			continue
		}
		skip := a.label("skip")
		c.Comment(fmt.Sprintf("Tail: %d pixels.", 8*n))
		fits(n, skip)
		a.planarTile(k, co, o0, n, nil, xo, p)
		c.ADDQ(operand.U32(32*n), xo)
		c.Label(skip)
	}
	c.Comment("The last count%8 pixels, masked.")
	done := a.label("done")
	rem := c.GP64()
	c.MOVQ(p.countB, rem)
	c.SUBQ(xo, rem)
	c.JZ(operand.LabelRef(done))
	// Lanes 0 … rem/4-1 on: 8 ones then 8 zeros, read from 32-rem bytes in.
	tbl, mask := c.GP64(), c.YMM()
	c.LEAQ(a.maskTable(), tbl)
	c.NEGQ(rem)
	c.VMOVUPS(operand.Mem{Base: tbl, Index: rem, Scale: 1, Disp: 32}, mask)
	a.planarTile(k, co, o0, 1, mask, xo, p)
	c.Label(done)
}

// planarTile computes co channels × vecs vectors of pixels starting at
// byte offset xo; mask, when set, limits the single vector's lanes.
func (a *avx2) planarTile(k Kernel, co, o0, vecs int, mask reg.VecVirtual, xo reg.GPVirtual, p planarRegs) {
	c := a.c
	// A narrow tile has too few accumulators to hide the FMA latency
	// (4 cycles, 2 a cycle: 8 chains keep the units busy), so its taps
	// alternate between sets accumulators, summed at the end.
	sets := planarSets(co, vecs)
	acc := make([][][]reg.VecVirtual, sets)
	for set := range acc {
		acc[set] = make([][]reg.VecVirtual, co)
		for ch := range acc[set] {
			acc[set][ch] = make([]reg.VecVirtual, vecs)
			for j := range acc[set][ch] {
				acc[set][ch][j] = c.YMM()
				switch {
				case set > 0:
					c.VXORPS(acc[set][ch][j], acc[set][ch][j], acc[set][ch][j])
				case j == 0:
					c.VBROADCASTSS(operand.Mem{Base: p.wp, Disp: 4 * ch}, acc[0][ch][0])
				default:
					c.VMOVAPS(acc[0][ch][0], acc[0][ch][j])
				}
			}
		}
	}
	wq, sc := c.GP64(), c.GP64()
	c.LEAQ(operand.Mem{Base: p.wp, Disp: 4 * co}, wq)
	c.MOVQ(p.sg, sc)
	a.repeat(k.Cin/k.Groups, "Input channels of the group.", func() {
		r := c.GP64()
		c.MOVQ(sc, r)
		for ky := 0; ky < k.KH; ky++ {
			if ky > 0 {
				c.ADDQ(p.rowStride, r)
			}
			for phase := 0; phase < k.StrideW; phase++ {
				base := r
				for kx := 0; kx < k.KW; kx++ {
					ph, col := k.planarCol(kx)
					if ph != phase {
						continue
					}
					if phase > 0 && base == r {
						base = c.GP64()
						c.MOVQ(r, base)
						for i := 0; i < phase; i++ {
							c.ADDQ(p.phase, base)
						}
					}
					tap := ky*k.KW + kx
					a.planarTap(k, acc[tap%sets], co, tap, operand.Mem{Base: base, Index: xo, Scale: 1, Disp: 4 * col}, wq, mask)
				}
			}
		}
		c.ADDQ(operand.U32(k.Taps()*co*4), wq)
		c.ADDQ(p.srcPlane, sc)
	})
	for set := 1; set < sets; set++ {
		for ch := range acc[0] {
			for j, x := range acc[0][ch] {
				c.VADDPS(acc[set][ch][j], x, x)
			}
		}
	}
	a.clampStore(k, acc[0], co, o0, mask, xo, p)
}

// clampStore clamps a Planar tile and stores channel ch's vectors into its
// plane (ShufflePos(o0+ch) when shuffled).
func (a *avx2) clampStore(k Kernel, acc [][]reg.VecVirtual, co, o0 int, mask reg.VecVirtual, xo reg.GPVirtual, p planarRegs) {
	c := a.c
	a.clamp(k, acc)
	d := c.GP64()
	var plane reg.GPVirtual
	if !k.Shuffled() {
		c.MOVQ(p.dg, d)
		if co > 1 {
			plane = a.byteParam("dstPlane")
		}
	}
	for ch, row := range acc {
		if k.Shuffled() {
			// Channel o0+ch goes to plane ShufflePos(o0+ch).
			c.Load(c.Param("dst").Base(), d)
			if pos := k.ShufflePos(o0 + ch); pos > 0 {
				off := a.byteParam("dstPlane")
				c.IMUL3Q(operand.U32(pos), off, off)
				c.ADDQ(off, d)
			}
		} else if ch > 0 {
			c.ADDQ(plane, d)
		}
		for j, x := range row {
			m := operand.Mem{Base: d, Index: xo, Scale: 1, Disp: 32 * j}
			if mask != nil {
				c.VMASKMOVPS(x, mask, m)
			} else {
				c.VMOVUPS(x, m)
			}
		}
	}
}

// planarTap accumulates one tap: the vectors at in (+32 bytes each) times
// each channel's broadcast weight.
func (a *avx2) planarTap(k Kernel, acc [][]reg.VecVirtual, co, tap int, in operand.Mem, wq reg.GPVirtual, mask reg.VecVirtual) {
	c := a.c
	if co == 1 && mask == nil {
		wv := c.YMM()
		c.VBROADCASTSS(operand.Mem{Base: wq, Disp: 4 * tap}, wv)
		for j, x := range acc[0] {
			c.VFMADD231PS(in.Offset(32*j), wv, x)
		}
		return
	}
	xs := make([]reg.VecVirtual, len(acc[0]))
	for j := range xs {
		xs[j] = c.YMM()
		if mask != nil {
			c.VMASKMOVPS(in.Offset(32*j), mask, xs[j])
		} else {
			c.VMOVUPS(in.Offset(32*j), xs[j])
		}
	}
	for ch := range acc {
		wv := c.YMM()
		c.VBROADCASTSS(operand.Mem{Base: wq, Disp: 4 * (tap*co + ch)}, wv)
		for j, x := range xs {
			c.VFMADD231PS(x, wv, acc[ch][j])
		}
	}
}

// maskTable returns a DATA symbol of 8 all-ones int32 then 8 zeros: the
// mask for the first n lanes is the 8 lanes at 32-4n bytes in.
func (a *avx2) maskTable() operand.Mem {
	return a.table("mask_table", 2*Lanes, func(i int) uint32 { return ones(i, Lanes) })
}

// copyHelper starts one of the NCHW driver's copy helpers: the function,
// and its dst and src pointers and row count in registers.
func (a *avx2) copyHelper(name, signature, doc string) (dst, src, rows reg.GPVirtual) {
	c := a.c
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.Pragma("noescape")
	c.SignatureExpr(signature)
	c.Doc(name + doc)
	dst, src, rows = c.GP64(), c.GP64(), c.GP64()
	c.Load(c.Param("dst").Base(), dst)
	c.Load(c.Param("src").Base(), src)
	c.Load(c.Param("rows"), rows)
	return dst, src, rows
}

// zeros stores the zero vector at dst+i, i advancing by 32 bytes, while
// i < end (the last store may pass end by up to 28 bytes).
func (a *avx2) zeros(dst, i, end reg.GPVirtual, zero reg.VecVirtual, stem string) {
	c := a.c
	top, out := a.label(stem), a.label(stem+"end")
	c.Label(top)
	c.CMPQ(i, end)
	c.JGE(operand.LabelRef(out))
	c.VMOVUPS(zero, operand.Mem{Base: dst, Index: i, Scale: 1})
	c.ADDQ(operand.U8(32), i)
	c.JMP(operand.LabelRef(top))
	c.Label(out)
}

// PadRowsName is the assembly helper the NCHW driver makes padded copies
// of unit-stride planes with (see driver.padRows).
const PadRowsName = "padRows_avx2"

// padRows emits PadRowsName(dst, src []float32, rows, w, srcLen, rowLen, left int):
// for each of rows rows (srcLen floats apart in src), the row's first w
// floats go to dst at left, and the rest of
// the rowLen floats of the dst row are zero. Only the loads are masked
// (src is the caller's); stores run in whole vectors, in an order that
// lets each row's later stores cover the earlier overshoot, and may write
// up to 7 floats past the last row (dst must have that slack, and the
// caller writes what lies there afterwards).
func (a *avx2) padRows() {
	c := a.c
	dst, src, rows := a.copyHelper(PadRowsName, "func(dst, src []float32, rows, w, srcLen, rowLen, left int)",
		" copies rows rows of w floats into zero-padded rows of rowLen floats, at left.")
	w, srcLen, rowLen, left := a.byteParam("w"), a.byteParam("srcLen"), a.byteParam("rowLen"), a.byteParam("left")
	zero, mask := c.YMM(), c.YMM()
	c.VXORPS(zero, zero, zero)
	// The mask of the row's last w%8 floats (all lanes when w%8 == 0 is
	// never used: that tail is empty).
	tbl, t := c.GP64(), c.GP64()
	c.LEAQ(a.maskTable(), tbl)
	c.MOVQ(w, t)
	c.ANDQ(operand.U8(31), t)
	c.NEGQ(t)
	c.VMOVUPS(operand.Mem{Base: tbl, Index: t, Scale: 1, Disp: 32}, mask)

	rowLoop, done := a.label("row"), a.label("done")
	c.Label(rowLoop)
	i := c.GP64()
	// Left zeros, [0, left) in whole vectors.
	c.XORQ(i, i)
	a.zeros(dst, i, left, zero, "lz")
	// The data: whole vectors, then the masked rest.
	d := c.GP64()
	c.LEAQ(operand.Mem{Base: dst, Index: left, Scale: 1}, d)
	c.XORQ(i, i)
	cp, cpEnd := a.label("copy"), a.label("copyend")
	c.Label(cp)
	c.LEAQ(operand.Mem{Base: i, Disp: 32}, t)
	c.CMPQ(t, w)
	c.JG(operand.LabelRef(cpEnd))
	x := c.YMM()
	c.VMOVUPS(operand.Mem{Base: src, Index: i, Scale: 1}, x)
	c.VMOVUPS(x, operand.Mem{Base: d, Index: i, Scale: 1})
	c.MOVQ(t, i)
	c.JMP(operand.LabelRef(cp))
	c.Label(cpEnd)
	c.CMPQ(i, w)
	tailEnd := a.label("tailend")
	c.JGE(operand.LabelRef(tailEnd))
	y := c.YMM()
	c.VMASKMOVPS(operand.Mem{Base: src, Index: i, Scale: 1}, mask, y)
	c.VMOVUPS(y, operand.Mem{Base: d, Index: i, Scale: 1})
	c.Label(tailEnd)
	// Right zeros, [left+w, rowLen) in whole vectors.
	c.LEAQ(operand.Mem{Base: left, Index: w, Scale: 1}, i)
	a.zeros(dst, i, rowLen, zero, "rz")
	c.ADDQ(srcLen, src)
	c.ADDQ(rowLen, dst)
	c.DECQ(rows)
	c.JNZ(operand.LabelRef(rowLoop))
	c.Label(done)
	c.VZEROUPPER()
	c.RET()
}

// PadPairsName is the assembly helper the NCHW driver makes padded,
// phase-split copies of stride-2 planes with (see driver.padPairs).
const PadPairsName = "padPairs_avx2"

// padPairs emits PadPairsName(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int):
// for each of rows rows (srcLen floats apart in src), the dst row of rowLen
// floats is zeroed, then the even of the row's first n floats go to dst at
// even0 and the odd ones at odd0. The zeroing runs in whole vectors and
// may write up to 7 floats past the last row (dst must have that slack);
// the data stores of the last partial chunk are masked, so that they never
// overwrite the other phase.
func (a *avx2) padPairs() {
	c := a.c
	dst, src, rows := a.copyHelper(PadPairsName, "func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int)",
		" copies rows rows of n floats into zeroed rows of rowLen floats, even ones at even0, odd ones at odd0.")
	n, srcLen, rowLen := a.byteParam("n"), a.byteParam("srcLen"), a.byteParam("rowLen")
	even0, odd0 := a.byteParam("even0"), a.byteParam("odd0")
	tbl := c.GP64()
	c.LEAQ(a.maskTable(), tbl)
	zero := c.YMM()
	c.VXORPS(zero, zero, zero)

	rowLoop := a.label("row")
	c.Label(rowLoop)
	i := c.GP64()
	c.XORQ(i, i)
	a.zeros(dst, i, rowLen, zero, "zero")

	s, e, o, rem := c.GP64(), c.GP64(), c.GP64(), c.GP64()
	c.MOVQ(src, s)
	c.LEAQ(operand.Mem{Base: dst, Index: even0, Scale: 1}, e)
	c.LEAQ(operand.Mem{Base: dst, Index: odd0, Scale: 1}, o)
	c.MOVQ(n, rem)
	split := func(lo, hi reg.VecVirtual) (ev, od reg.VecVirtual) {
		ev, od = c.YMM(), c.YMM()
		c.VSHUFPS(operand.U8(0x88), hi, lo, ev)
		c.VSHUFPS(operand.U8(0xdd), hi, lo, od)
		c.VPERMPD(operand.U8(0xd8), ev, ev)
		c.VPERMPD(operand.U8(0xd8), od, od)
		return ev, od
	}
	chunk, tail, next := a.label("chunk"), a.label("tail"), a.label("next")
	c.Label(chunk)
	c.CMPQ(rem, operand.U8(64))
	c.JL(operand.LabelRef(tail))
	lo, hi := c.YMM(), c.YMM()
	c.VMOVUPS(operand.Mem{Base: s}, lo)
	c.VMOVUPS(operand.Mem{Base: s, Disp: 32}, hi)
	ev, od := split(lo, hi)
	c.VMOVUPS(ev, operand.Mem{Base: e})
	c.VMOVUPS(od, operand.Mem{Base: o})
	c.ADDQ(operand.U8(64), s)
	c.ADDQ(operand.U8(32), e)
	c.ADDQ(operand.U8(32), o)
	c.SUBQ(operand.U8(64), rem)
	c.JMP(operand.LabelRef(chunk))

	c.Label(tail)
	c.TESTQ(rem, rem)
	c.JZ(operand.LabelRef(next))
	// rem bytes = r floats, 0 < r < 16: loads of min(r, 8) and max(r-8, 0)
	// lanes, stores of (r+1)/2 evens and r/2 odds. maskAt(x) loads the
	// mask of x bytes' worth of lanes.
	maskAt := func(bytes reg.GPVirtual) reg.VecVirtual {
		m, t := c.YMM(), c.GP64()
		c.MOVQ(bytes, t)
		c.NEGQ(t)
		c.VMOVUPS(operand.Mem{Base: tbl, Index: t, Scale: 1, Disp: 32}, m)
		return m
	}
	k, t := c.GP64(), c.GP64()
	c.MOVQ(operand.U32(32), k)
	c.MOVQ(rem, t)
	c.CMPQ(t, k)
	c.CMOVQGT(k, t) // min(rem, 32)
	mlo := maskAt(t)
	u, zr := c.GP64(), c.GP64()
	c.MOVQ(rem, u)
	c.SUBQ(operand.U8(32), u)
	c.XORQ(zr, zr)
	c.CMPQ(u, zr)
	c.CMOVQLT(zr, u) // max(rem-32, 0)
	mhi := maskAt(u)
	lo2, hi2 := c.YMM(), c.YMM()
	c.VMASKMOVPS(operand.Mem{Base: s}, mlo, lo2)
	c.VMASKMOVPS(operand.Mem{Base: s, Disp: 32}, mhi, hi2)
	ev2, od2 := split(lo2, hi2)
	// Evens: (r+1)/2 floats = ((rem+4)/8)·4 bytes; odds: r/2 = (rem/8)·4.
	ne, no := c.GP64(), c.GP64()
	c.LEAQ(operand.Mem{Base: rem, Disp: 4}, ne)
	c.SHRQ(operand.U8(3), ne)
	c.SHLQ(operand.U8(2), ne)
	c.MOVQ(rem, no)
	c.SHRQ(operand.U8(3), no)
	c.SHLQ(operand.U8(2), no)
	c.VMASKMOVPS(ev2, maskAt(ne), operand.Mem{Base: e})
	c.VMASKMOVPS(od2, maskAt(no), operand.Mem{Base: o})

	c.Label(next)
	c.ADDQ(srcLen, src)
	c.ADDQ(rowLen, dst)
	c.DECQ(rows)
	c.JNZ(operand.LabelRef(rowLoop))
	c.VZEROUPPER()
	c.RET()
}
