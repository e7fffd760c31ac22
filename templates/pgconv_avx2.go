package templates

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// pgconv emits a row kernel for groups of cg = 2 or 4 channels in and out
// (cin/G == cout/G == cg), 8/cg groups per vector. A group's input
// channels sit at the same offsets as its output channels, so the vector
// of input channels under an output vector holds exactly the inputs its
// lanes need; VPERMILPS spreads input i of each group over that group's
// lanes (within 128-bit lanes, which cg divides):
//
//	for each tile of P pixels:
//	  for each block of V vectors of output channels:
//	    acc[p][v] = bias
//	    for ky, kx (unrolled), for i < cg:
//	      wv = w[block][i][tap][v]
//	      x  = permute_i(src[p·sw + ky·row + kx·dw][8·v : 8·v+8])   // lane l ← channel l - l%cg + i
//	      acc[p][v] += x · wv
//	    clamp; store
func (a *avx2) pgconv(k Kernel) {
	a.frame(k, nil, func(b Block, pixels int, r frameRegs) {
		a.pgconvBlock(k, b, pixels, r.w, r.s, r.rowStride, r.o)
	})
}

// permuteImm is the VPERMILPS immediate that gives every lane input i of
// its group of cg lanes.
func permuteImm(cg, i int) uint8 {
	imm := 0
	for l := 0; l < 4; l++ {
		imm |= (l - l%cg + i) << (2 * l)
	}
	return uint8(imm)
}

func (a *avx2) pgconvBlock(k Kernel, b Block, pixels int, w, s, rowStride reg.GPVirtual, o out) {
	c := a.c
	cg := k.PackCin()
	acc := a.tileRegs(pixels, b.Vecs, operand.Mem{Base: w})
	c.ADDQ(operand.U32(b.Vecs*32), w)
	pix := k.StrideW * k.Cin * 4
	t := c.GP64()
	c.MOVQ(s, t)
	for ky := 0; ky < k.KH; ky++ {
		if ky > 0 {
			c.ADDQ(rowStride, t)
		}
		for kx := 0; kx < k.KW; kx++ {
			tap := ky*k.KW + kx
			for i := 0; i < cg; i++ {
				wv := make([]reg.VecVirtual, b.Vecs)
				for v := range wv {
					wv[v] = c.YMM()
					c.VMOVUPS(operand.Mem{Base: w, Disp: ((i*k.Taps()+tap)*b.Vecs + v) * 32}, wv[v])
				}
				for p := 0; p < pixels; p++ {
					for v := range wv {
						x := c.YMM()
						c.VPERMILPS(operand.U8(permuteImm(cg, i)), operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + v*32}, x)
						c.VFMADD231PS(wv[v], x, acc[p][v])
					}
				}
			}
		}
	}
	c.ADDQ(operand.U32(cg*k.Taps()*b.Vecs*32), w)
	a.epilogue(k, acc, b, o)
	c.ADDQ(operand.U32(b.Vecs*32), s)
}
