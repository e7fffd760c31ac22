package templates

import (
	"slices"

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
		a.dwconvVector(k, b, pixels, r, spread)
	})
}

func (a *avx2) dwconvVector(k Kernel, b Block, pixels int, r frameRegs, spread reg.VecVirtual) {
	c := a.c
	w, s := r.w, r.s
	acc := a.tileRegs(pixels, 1, operand.Mem{Base: w})
	var mask reg.VecVirtual
	if b.Lanes < Lanes {
		mask = c.YMM()
		c.VMOVUPS(a.mask(b.Lanes), mask)
	}
	t := c.GP64()
	c.MOVQ(s, t)
	col := k.Cin * 4 // bytes between input columns
	reads := tileReads(k, pixels, r.cols)
	rowLo, rowHi := k.tapRows()
	for ky := rowLo; ky < rowHi; ky++ {
		if ky > rowLo {
			c.ADDQ(r.rowStride, t)
		}
		wk := make([]reg.VecVirtual, k.KW)
		for _, kx := range readColumns(k, reads) {
			wk[kx] = c.YMM()
			c.VMOVUPS(operand.Mem{Base: w, Disp: (1 + ky*k.KW + kx) * 32}, wk[kx])
		}
		for _, rd := range reads {
			x, users := rd.x, rd.users
			v := c.YMM()
			in := operand.Mem{Base: t, Disp: x * col}
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
	a.epilogue(k, acc, b, r.o)
	c.ADDQ(operand.U32(32/k.Multiplier()), s)
}

// columnRead is one input column a depthwise tile loads per tap row: x
// input pixels from the source pointer, used by the (pixel, kx) pairs in
// users.
type columnRead struct {
	x     int
	users [][2]int
}

// tileReads lists the input columns a depthwise tile of pixels reads, left
// to right, each loaded once for every tap that reads it: the tap columns
// the kernel computes (an edge variant's src is at column EdgeLo·DilW), or
// in a framed tile cut by the padding, those inside the row (cols).
func tileReads(k Kernel, pixels int, cols *tileCols) []columnRead {
	at := map[int]int{} // x → index in reads
	var reads []columnRead
	lo, hi := k.tapCols()
	for p := 0; p < pixels; p++ {
		for kx := lo; kx < hi; kx++ {
			x := p*k.StrideW + (kx-lo)*k.DilW
			if cols != nil {
				if kx < cols.lo[p] || kx >= cols.hi[p] {
					continue
				}
				x = cols.col[p] + kx*k.DilW
			}
			i, ok := at[x]
			if !ok {
				i = len(reads)
				at[x] = i
				reads = append(reads, columnRead{x: x})
			}
			reads[i].users = append(reads[i].users, [2]int{p, kx})
		}
	}
	slices.SortFunc(reads, func(a, b columnRead) int { return a.x - b.x })
	return reads
}

// readColumns lists the tap columns used by reads, in order.
func readColumns(k Kernel, reads []columnRead) []int {
	used := make([]bool, k.KW)
	for _, rd := range reads {
		for _, u := range rd.users {
			used[u[1]] = true
		}
	}
	var kxs []int
	for kx, u := range used {
		if u {
			kxs = append(kxs, kx)
		}
	}
	return kxs
}
