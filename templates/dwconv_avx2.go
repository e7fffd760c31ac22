package templates

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dwconv emits a depthwise row kernel (groups == cin == cout), one vector
// of 8 channels at a time:
//
//	for each tile of P pixels:
//	  for each vector of 8 channels c:
//	    acc[p] = bias[c]
//	    for ky:
//	      wk[kx] = w[c][ky][kx]                       // kw weight vectors in registers
//	      for each input column x the tile's row ky touches:
//	        v = src[ky][x][c]                          // loaded once …
//	        acc[p] += v · wk[kx] for every (p, kx) with p·sw + kx·dw == x   // … used by every pixel that reads it
//	    clamp; store
//
// A stride-1 3×3 kernel loads P+2 inputs per row for 3·P FMAs. The partial
// vector at the end of the channels uses masked loads and stores, so nothing
// past the pixel's channels is touched. With a channel multiplier m, the 8
// output channels of a vector read 8/m input channels, each m times: the
// input "column" is a broadcast load of those 8/m floats spread over the
// lanes by VPERMILPS.
func (a *avx2) dwconv(k Kernel) {
	var spread reg.VecVirtual
	perTile := func(int) {
		if m := k.Multiplier(); m == 2 || m == 4 {
			spread = a.c.YMM()
			a.c.VMOVUPS(a.spreadControl(m), spread)
		}
	}
	a.frame(k, perTile, func(b Block, pixels int, r frameRegs) {
		a.dwconvVector(k, b, pixels, r.w, r.s, r.rowStride, spread, r.o)
	})
}

func (a *avx2) dwconvVector(k Kernel, b Block, pixels int, w, s, rowStride reg.GPVirtual, spread reg.VecVirtual, o out) {
	c := a.c
	acc := a.tileRegs(pixels, 1, operand.Mem{Base: w})
	var mask reg.VecVirtual
	if b.Lanes < Lanes {
		mask = c.YMM()
		c.VMOVUPS(a.mask(b.Lanes), mask)
	}
	t := c.GP64()
	c.MOVQ(s, t)
	col := k.Cin * 4 // bytes between input columns
	for ky := 0; ky < k.KH; ky++ {
		if ky > 0 {
			c.ADDQ(rowStride, t)
		}
		lo, hi := k.tapCols()
		wk := make([]reg.VecVirtual, k.KW)
		for kx := lo; kx < hi; kx++ {
			wk[kx] = c.YMM()
			c.VMOVUPS(operand.Mem{Base: w, Disp: (1 + ky*k.KW + kx) * 32}, wk[kx])
		}
		for x := range tapColumns(k, pixels) {
			users := columnUsers(k, pixels, x)
			if len(users) == 0 {
				continue
			}
			v := c.YMM()
			in := operand.Mem{Base: t, Disp: (x - lo*k.DilW) * col}
			switch {
			case mask != nil:
				c.VMASKMOVPS(in, mask, v)
			case k.Multiplier() == 2:
				c.VBROADCASTF128(in, v)
				c.VPERMILPS(spread, v, v)
			case k.Multiplier() == 4:
				c.VBROADCASTSD(in, v)
				c.VPERMILPS(spread, v, v)
			case k.Multiplier() == 8:
				c.VBROADCASTSS(in, v)
			default:
				c.VMOVUPS(in, v)
			}
			for _, u := range users {
				c.VFMADD231PS(v, wk[u[1]], acc[u[0]][0])
			}
		}
	}
	c.ADDQ(operand.U32((1+k.Taps())*32), w)
	a.epilogue(k, acc, b, o)
	c.ADDQ(operand.U32(32/k.Multiplier()), s)
}

// tapColumns is the number of input columns a tile of pixels reads, from
// its first pixel's column 0 (for an edge variant, column EdgeLo·DilW is
// where src points).
func tapColumns(k Kernel, pixels int) int { return (pixels-1)*k.StrideW + (k.KW-1)*k.DilW + 1 }

// columnUsers lists the (pixel, kx) pairs of a tile that read input
// column x, among the tap columns the kernel computes.
func columnUsers(k Kernel, pixels, x int) (users [][2]int) {
	lo, hi := k.tapCols()
	for p := 0; p < pixels; p++ {
		if off := x - p*k.StrideW; off >= 0 && off%k.DilW == 0 && off/k.DilW >= lo && off/k.DilW < hi {
			users = append(users, [2]int{p, off / k.DilW})
		}
	}
	return users
}
