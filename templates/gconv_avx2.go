package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// gconv emits a grouped direct-convolution row kernel, an implicit GEMM per
// group (dense is one group; Pointwise is the same with one tap):
//
//	for each tile of P pixels:
//	  for each group g:
//	    for each block of V vectors of the group's output channels:
//	      acc[p][v] = bias
//	      for ci in the group's input channels (chunks of CinChunk, unrolled):
//	        for ky, kx (unrolled):
//	          wv = w[g][block][ci][tap][v]                // V loads, reused by P pixels
//	          x  = broadcast src[p·sw + ky·row + kx·dw][g·cin/G + ci]
//	          acc[p][v] += x · wv
//	      clamp; store
//
// Inputs are broadcast, so a group narrower than 8 channels leaves lanes
// idle but never reads past its channels; the packed weights of idle lanes
// are zero and the store is masked.
func (a *avx2) gconv(k Kernel) {
	a.frame(k, nil, func(b Block, pixels int, r frameRegs) {
		a.gconvBlock(k, b, pixels, r.w, r.s, r.rowStride, r.o)
	})
}

func (a *avx2) gconvBlock(k Kernel, b Block, pixels int, w, s, rowStride reg.GPVirtual, o out) {
	c := a.c
	acc := a.tileRegs(pixels, b.Vecs, operand.Mem{Base: w})
	c.ADDQ(operand.U32(b.Vecs*32), w)

	cinG := k.PackCin()
	chunk := min(k.CinChunk, cinG)
	step := func(n int) { // n input channels, all taps
		a.gconvChannels(k, b, pixels, n, acc, w, s, rowStride)
		c.ADDQ(operand.U32(n*k.Taps()*b.Vecs*32), w)
		c.ADDQ(operand.U32(n*4), s)
	}
	a.repeat(cinG/chunk, fmt.Sprintf("Input channels, %d per trip.", chunk), func() { step(chunk) })
	if r := cinG % chunk; r > 0 {
		c.Comment("Remaining input channels.")
		step(r)
	}
	// s walked the group's input channels; rewind it for the next block.
	c.SUBQ(operand.U32(cinG*4), s)
	a.epilogue(k, acc, b, o)
}

// gconvChannels accumulates n input channels starting at s over every tap.
func (a *avx2) gconvChannels(k Kernel, b Block, pixels, n int, acc [][]reg.VecVirtual, w, s, rowStride reg.GPVirtual) {
	c := a.c
	pix := k.StrideW * k.Cin * 4
	t := s
	if k.KH > 1 {
		t = c.GP64()
		c.MOVQ(s, t)
	}
	for ky := 0; ky < k.KH; ky++ {
		if ky > 0 {
			c.ADDQ(rowStride, t)
		}
		for kx := 0; kx < k.KW; kx++ {
			tap := ky*k.KW + kx
			for ci := 0; ci < n; ci++ {
				wv := make([]reg.VecVirtual, b.Vecs)
				for v := range wv {
					wv[v] = c.YMM()
					c.VMOVUPS(operand.Mem{Base: w, Disp: ((ci*k.Taps()+tap)*b.Vecs + v) * 32}, wv[v])
				}
				for p := 0; p < pixels; p++ {
					x := c.YMM()
					c.VBROADCASTSS(operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + ci*4}, x)
					for v := range wv {
						c.VFMADD231PS(wv[v], x, acc[p][v])
					}
				}
			}
		}
	}
}
