package templates

import (
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
		a.gconvBlock(k, b, pixels, r)
	})
}

func (a *avx2) gconvBlock(k Kernel, b Block, pixels int, r frameRegs) {
	c := a.c
	w := r.w
	acc := a.tileRegs(pixels, b.Vecs, operand.Mem{Base: w})
	c.ADDQ(operand.U32(b.Vecs*32), w)
	a.inputChannels(k, w, r.s, r.rowStride, b.Vecs*32, func(t reg.GPVirtual, kx, tap, ci int) {
		if !r.cols.column(kx) {
			return
		}
		wv := make([]reg.VecVirtual, b.Vecs)
		for v := range wv {
			wv[v] = c.YMM()
			c.VMOVUPS(operand.Mem{Base: w, Disp: ((ci*k.Taps()+tap)*b.Vecs + v) * 32}, wv[v])
		}
		for p := 0; p < pixels; p++ {
			in, ok := r.cols.at(k, t, p, kx, ci)
			if !ok {
				continue // a tap on the padding
			}
			x := c.YMM()
			c.VBROADCASTSS(in, x)
			for v := range wv {
				c.VFMADD231PS(wv[v], x, acc[p][v])
			}
		}
	})
	a.epilogue(k, acc, b, r.o)
}
