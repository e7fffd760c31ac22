package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dwconv emits a depthwise row kernel (groups == cin == cout):
//
//	for each tile of P pixels:
//	  for each channel block of V vectors (8 channels each):
//	    acc[p][v] = bias
//	    for ky, kx (unrolled):
//	      wv = w[block][tap][v]                        // V loads, reused by P pixels
//	      acc[p][v] += src[p·sw + ky·row + kx·dw][block·8V + 8v : +8] · wv
//	    clamp; store
//
// Each lane reads its own channel, so inputs are plain vector loads folded
// into the FMA; the partial vector at the end of the channels uses a masked
// load so that nothing past the pixel's channels is read.
func (a *avx2) dwconv(k Kernel) {
	c := a.c
	dst, src, count, rowStride := a.rowArgs()
	a.pixelLoop(k, dst, src, count, func(pixels int) {
		w := c.GP64()
		c.Load(c.Param("w").Base(), w)
		s, d := c.GP64(), c.GP64()
		c.MOVQ(src, s)
		c.MOVQ(dst, d)
		for _, run := range k.BlockRuns() {
			a.repeat(run.Count, fmt.Sprintf("%d block(s) of %d vector(s), %d pixel(s).", run.Count, run.Vecs, pixels), func() {
				a.dwconvBlock(k, run.Block, pixels, w, s, d, rowStride)
			})
		}
	})
}

func (a *avx2) dwconvBlock(k Kernel, b Block, pixels int, w, s, d, rowStride reg.GPVirtual) {
	c := a.c
	acc := a.tileRegs(pixels, b.Vecs, operand.Mem{Base: w})
	c.ADDQ(operand.U32(b.Vecs*32), w)

	var mask reg.VecVirtual
	if b.Lanes < Lanes {
		mask = c.YMM()
		c.VMOVUPS(a.mask(b.Lanes), mask)
	}
	t := c.GP64()
	c.MOVQ(s, t)
	pix := k.StrideW * k.Cin * 4
	for ky := 0; ky < k.KH; ky++ {
		if ky > 0 {
			c.ADDQ(rowStride, t)
		}
		for kx := 0; kx < k.KW; kx++ {
			tap := ky*k.KW + kx
			wv := make([]reg.VecVirtual, b.Vecs)
			for v := range wv {
				wv[v] = c.YMM()
				c.VMOVUPS(operand.Mem{Base: w, Disp: (tap*b.Vecs + v) * 32}, wv[v])
			}
			for p := 0; p < pixels; p++ {
				for v := range wv {
					in := operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + v*32}
					if mask != nil && v == b.Vecs-1 {
						x := c.YMM()
						c.VMASKMOVPS(in, mask, x)
						c.VFMADD231PS(x, wv[v], acc[p][v])
					} else {
						c.VFMADD231PS(in, wv[v], acc[p][v])
					}
				}
			}
		}
	}
	c.ADDQ(operand.U32(k.Taps()*b.Vecs*32), w)
	a.epilogue(k, acc, b, operand.Mem{Base: d})
	c.ADDQ(operand.U32(b.Vecs*32), s)
	c.ADDQ(operand.U32(b.Vecs*32), d)
}
