package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dwconv512 is dwconv with ZMM registers: 16 channels per vector (a block
// of two packed 8-channel vectors), a kernel row of weights plus up to 16
// pixel accumulators in registers, and masked loads and stores for the
// channel tail instead of separate code. A multi-row variant (see
// RowFrames) holds the same pixels of Rows output rows and, per input row,
// a kernel row of weights for each output row that reads it.
//
// With a channel multiplier m, a vector's 16 output channels read 16/m
// input channels, each m times: a masked load of those and one VPERMPS
// that repeats each m times (the permute control is loaded once a tile).
func (a *avx2) dwconv512(k Kernel) {
	var spread reg.VecVirtual
	perTile := func(int) {
		if m := k.Multiplier(); m > 1 {
			spread = a.c.ZMM()
			a.c.VMOVUPS(a.table(fmt.Sprintf("spread512_%d", m), 16, func(i int) uint32 { return uint32(i / m) }), spread)
		}
	}
	a.frame(k, perTile, func(b Block, pixels int, r frameRegs) {
		a.dwconvBlock512(k, b, pixels, r, spread)
	})
}

func (a *avx2) dwconvBlock512(k Kernel, b Block, pixels int, r frameRegs, spread reg.VecVirtual) {
	c := a.c
	w, s, d := r.w, r.s, r.o.d
	m := k.Multiplier()
	// Lanes of the ZMM held in the packed weights, and valid channels.
	memLanes, valid := 16, Lanes+b.Lanes
	if b.Vecs == 1 {
		memLanes, valid = Lanes, b.Lanes
	}
	var memMask, validMask reg.OpmaskVirtual
	if memLanes < 16 {
		memMask = a.opmask(memLanes)
	}
	if valid < 16 {
		validMask = a.opmask(valid)
	}
	var inMask reg.OpmaskVirtual // the input channels a vector reads
	if m > 1 {
		inMask = a.opmask(valid / m)
	}
	loadW := func(m operand.Mem, r reg.VecVirtual) {
		if memMask != nil {
			c.VMOVUPS_Z(m, memMask, r)
		} else {
			c.VMOVUPS(m, r)
		}
	}
	// acc[r][p]: output row r (of a multi-row variant's Rows), pixel p.
	acc := make([][]reg.VecVirtual, max(k.Rows, 1))
	for ro := range acc {
		acc[ro] = make([]reg.VecVirtual, pixels)
		for p := range acc[ro] {
			acc[ro][p] = c.ZMM()
			if ro == 0 && p == 0 {
				loadW(operand.Mem{Base: w}, acc[ro][p])
			} else {
				c.VMOVAPS(acc[0][0], acc[ro][p])
			}
		}
	}
	t := c.GP64()
	c.MOVQ(s, t)
	col := k.Cin * 4
	reads := tileReads(k, pixels, r.cols)
	kxs := readColumns(k, reads)
	for j, uses := range k.inputRows() {
		if j > 0 {
			c.ADDQ(r.rowStride, t)
		}
		// A kernel row of weights for each output row reading this row.
		wk := make([][]reg.VecVirtual, len(uses))
		for i, u := range uses {
			wk[i] = make([]reg.VecVirtual, k.KW)
			for _, kx := range kxs {
				wk[i][kx] = c.ZMM()
				loadW(operand.Mem{Base: w, Disp: (1 + u.ky*k.KW + kx) * b.Vecs * 32}, wk[i][kx])
			}
		}
		for _, rd := range reads {
			v := c.ZMM()
			in := operand.Mem{Base: t, Disp: rd.x * col}
			switch {
			case m > 1:
				c.VMOVUPS_Z(in, inMask, v) // masked lanes are not read
				c.VPERMPS(v, spread, v)
			case validMask != nil:
				c.VMOVUPS_Z(in, validMask, v)
			default:
				c.VMOVUPS(in, v)
			}
			for i, u := range uses {
				for _, pk := range rd.users {
					c.VFMADD231PS(v, wk[i][pk[1]], acc[u.r][pk[0]])
				}
			}
		}
	}
	c.ADDQ(operand.U32((1+k.Taps())*b.Vecs*32), w)
	for ro, row := range acc {
		pix := make([][]reg.VecVirtual, len(row))
		for p := range row {
			pix[p] = row[p : p+1]
		}
		a.store512(k, pix, validMask, d, ro*k.Width*k.Cout*4)
	}
	c.ADDQ(operand.U32(b.Vecs*32/m), s)
	c.ADDQ(operand.U32(b.Vecs*32), d)
}

// store512 clamps ZMM accumulators and stores pixel p's at disp bytes +
// d + p·cout floats, the last vector of each pixel through mask when there
// is one.
func (a *avx2) store512(k Kernel, acc [][]reg.VecVirtual, mask reg.OpmaskVirtual, d reg.GPVirtual, disp int) {
	c := a.c
	a.clampWith(k, acc, c.ZMM)
	for p, row := range acc {
		for z, x := range row {
			m := operand.Mem{Base: d, Disp: disp + p*k.Cout*4 + z*64}
			if z == len(row)-1 && mask != nil {
				c.VMOVUPS(x, mask, m)
			} else {
				c.VMOVUPS(x, m)
			}
		}
	}
}
