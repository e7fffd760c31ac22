package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dwconv512 is dwconv with ZMM registers: 16 channels per vector (a block
// of two packed 8-channel vectors), a kernel row of weights plus up to 16
// pixel accumulators in registers, and masked loads and stores for the
// channel tail instead of separate code.
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
	acc := make([]reg.VecVirtual, pixels)
	for p := range acc {
		acc[p] = c.ZMM()
		if p == 0 {
			loadW(operand.Mem{Base: w}, acc[p])
		} else {
			c.VMOVAPS(acc[0], acc[p])
		}
	}
	t := c.GP64()
	c.MOVQ(s, t)
	col := k.Cin * 4
	reads := tileReads(k, pixels, r.cols)
	rowLo, rowHi := k.tapRows()
	for ky := rowLo; ky < rowHi; ky++ {
		if ky > rowLo {
			c.ADDQ(r.rowStride, t)
		}
		wk := make([]reg.VecVirtual, k.KW)
		for _, kx := range readColumns(k, reads) {
			wk[kx] = c.ZMM()
			loadW(operand.Mem{Base: w, Disp: (1 + ky*k.KW + kx) * b.Vecs * 32}, wk[kx])
		}
		for _, rd := range reads {
			users := rd.users
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
			for _, u := range users {
				c.VFMADD231PS(v, wk[u[1]], acc[u[0]])
			}
		}
	}
	c.ADDQ(operand.U32((1+k.Taps())*b.Vecs*32), w)
	rows := make([][]reg.VecVirtual, len(acc))
	for p := range acc {
		rows[p] = acc[p : p+1]
	}
	a.store512(k, rows, validMask, d)
	c.ADDQ(operand.U32(b.Vecs*32/m), s)
	c.ADDQ(operand.U32(b.Vecs*32), d)
}

// store512 clamps ZMM accumulators and stores pixel p's at d + p·cout
// floats, the last vector of each pixel through mask when there is one.
func (a *avx2) store512(k Kernel, acc [][]reg.VecVirtual, mask reg.OpmaskVirtual, d reg.GPVirtual) {
	c := a.c
	a.clampWith(k, acc, c.ZMM)
	for p, row := range acc {
		for z, x := range row {
			m := operand.Mem{Base: d, Disp: p*k.Cout*4 + z*64}
			if z == len(row)-1 && mask != nil {
				c.VMOVUPS(x, mask, m)
			} else {
				c.VMOVUPS(x, m)
			}
		}
	}
}
