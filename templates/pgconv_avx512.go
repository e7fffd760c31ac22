package templates

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// pgconv512 is pgconv with ZMM registers: each block of BlockVec 8-channel
// vectors is BlockVec/2 ZMM (the last one half-used when BlockVec is odd,
// its loads and stores masked), and VPERMILPS permutes within each of the
// four 128-bit lanes of a ZMM as within the two of a YMM, so one permute
// from memory serves 16 channels (4 or 8 groups).
func (a *avx2) pgconv512(k Kernel) {
	a.frame(k, nil, func(b Block, pixels int, r frameRegs) {
		a.pgconvBlock512(k, b, pixels, r)
	})
}

func (a *avx2) pgconvBlock512(k Kernel, b Block, pixels int, r frameRegs) {
	c := a.c
	w, s := r.w, r.s
	cg := k.PackCin()
	nz := (b.Vecs + 1) / 2
	// An odd number of vectors leaves the last ZMM half-used: its weights,
	// inputs and outputs are 8 floats, loaded and stored masked so that
	// nothing past the pixel's channels is touched.
	var half reg.OpmaskVirtual
	if b.Vecs%2 == 1 {
		half = a.opmask(Lanes)
	}
	load := a.zmmLoader(nz, half)
	acc := a.zmmTile(pixels, nz, operand.Mem{Base: w}, load)
	c.ADDQ(operand.U32(b.Vecs*32), w)
	pix := k.StrideW * k.Cin * 4
	t := c.GP64()
	c.MOVQ(s, t)
	for ky := 0; ky < k.KH; ky++ {
		if ky > 0 {
			c.ADDQ(r.rowStride, t)
		}
		for kx := 0; kx < k.KW; kx++ {
			tap := ky*k.KW + kx
			for i := 0; i < cg; i++ {
				wz := make([]reg.VecVirtual, nz)
				for z := range wz {
					wz[z] = c.ZMM()
					load(operand.Mem{Base: w, Disp: (i*k.Taps()+tap)*b.Vecs*32 + z*64}, z, wz[z])
				}
				imm := operand.U8(permuteImm(cg, i))
				for p := 0; p < pixels; p++ {
					for z := range wz {
						x := c.ZMM()
						in := operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + z*64}
						if z == nz-1 && half != nil {
							// A permute's mask applies to its result, so a
							// masked permute from memory still reads all 64
							// bytes: load the 8 floats masked, then permute.
							c.VMOVUPS_Z(in, half, x)
							c.VPERMILPS(imm, x, x)
						} else {
							c.VPERMILPS(imm, in, x)
						}
						c.VFMADD231PS(wz[z], x, acc[p][z])
					}
				}
			}
		}
	}
	c.ADDQ(operand.U32(cg*k.Taps()*b.Vecs*32), w)
	if k.Shuffled() {
		a.shuffledStore512(k, acc, (b.Vecs-1)*Lanes+b.Lanes, r.o)
	} else {
		a.store512(k, acc, half, r.o.d, 0)
		c.ADDQ(operand.U32(b.Vecs*32), r.o.d)
	}
	c.ADDQ(operand.U32(b.Vecs*32), s) // the next block's input channels
}
