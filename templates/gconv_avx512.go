package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// AVX512Name is the name of a kernel's AVX-512 function.
func (k Kernel) AVX512Name() string { return k.Name + "_avx512" }

// HasAVX512 tells whether convgen emits an AVX-512 variant of k: the
// implicit-GEMM and depthwise families, whose speed comes from the larger
// register tile 32 ZMM registers hold. (Shuffled stores and packed groups
// stay with AVX2 for now.)
func (k Kernel) HasAVX512() bool {
	return (k.Family == Grouped || k.Family == Pointwise || k.Family == Depthwise && k.Multiplier() == 1) && !k.Shuffled()
}

// AVX512 returns k with the register tile of its AVX-512 variant: blocks
// of BlockVec 8-channel vectors (BlockVec/2 ZMM, BlockVec even unless the
// group has a single vector) by PixTile pixels, accumulators + one step's
// weights + nothing else (inputs are embedded broadcasts) ≤ 32.
func (k Kernel) AVX512() Kernel {
	if k.Family == Depthwise {
		// One ZMM of 16 channels; P accumulators + a kernel row + the input.
		k.BlockVec, k.PixTile = 2, FitTile(min(16, 30-k.KW), k.Width, 1)
		return k
	}
	full := k.PackCout() / Lanes
	vecs := 1
	for _, v := range []int{8, 6, 4, 2} {
		if full >= v && full%v == 0 {
			vecs = v
			break
		}
	}
	switch {
	case vecs == 1 && full >= 2 && full <= 8:
		// The whole group in one block, its last ZMM half used: every
		// input broadcast then serves all of the group's channels.
		vecs = full
	case vecs == 1 && full >= 2:
		vecs = min(8, full-full%2)
	}
	z := (vecs + 1) / 2
	k.BlockVec = vecs
	k.PixTile = min(12, (31-z)/z) // accumulators + weights + the broadcast input
	if k.Width > 0 {
		k.PixTile = FitTile(min(16, (31-z)/z), k.Width, z)
	}
	return k
}

// AVX512File assembles the AVX-512 variants of kernels (each already
// carrying its AVX-512 tile, see AVX512) into one file.
func AVX512File(pkg string, kernels []Kernel) ([]byte, error) {
	a := &avx2{c: build.NewContext(), consts: map[string]operand.Mem{}}
	a.c.ConstraintExpr("amd64,!purego")
	for _, k := range kernels {
		if err := k.Check(); err != nil {
			return nil, err
		}
		if !k.HasAVX512() {
			return nil, fmt.Errorf("%s: no AVX-512 variant for family %s", k.Name, k.Family)
		}
		z := (k.BlockVec + 1) / 2
		step := z + 1 // one step's weights and the broadcast input
		if k.Family == Depthwise {
			step = k.KW + 1 // a kernel row of weights + the input column
		}
		if z*k.PixTile+step > 32 {
			return nil, fmt.Errorf("%s: AVX-512 tile needs %d registers, there are 32", k.Name, z*k.PixTile+step)
		}
		c := a.c
		c.Function(k.AVX512Name())
		c.Attributes(attr.NOSPLIT)
		c.Pragma("noescape")
		c.SignatureExpr(rowKernelSignature)
		c.Doc(k.describe(), "AVX-512 variant: vectors of 16 channels, masked tails.")
		if k.Family == Depthwise {
			a.dwconv512(k)
		} else {
			a.gconv512(k)
		}
		c.VZEROUPPER()
		c.RET()
	}
	f, err := a.c.Result()
	if err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	return printer.NewGoAsm(printer.Config{Name: "convgen", Pkg: pkg}).Print(f)
}

// gconv512 is gconv with ZMM registers: each block of BlockVec 8-channel
// vectors is BlockVec/2 ZMM (the last one half-used when BlockVec is odd),
// inputs are broadcast straight from memory by the FMA, and the tails are
// masked loads and stores instead of separate code.
func (a *avx2) gconv512(k Kernel) {
	a.frame(k, nil, func(b Block, pixels int, r frameRegs) {
		a.gconvBlock512(k, b, pixels, r.w, r.s, r.o.d, r.rowStride)
	})
}

// opmask returns a K register holding the low n bits set.
func (a *avx2) opmask(n int) reg.OpmaskVirtual {
	c := a.c
	r := c.GP32()
	c.MOVL(operand.U32(1<<n-1), r)
	k := c.K()
	c.KMOVW(r, k)
	return k
}

func (a *avx2) gconvBlock512(k Kernel, b Block, pixels int, w, s, d, rowStride reg.GPVirtual) {
	c := a.c
	nz := (b.Vecs + 1) / 2
	// Lanes in the last ZMM: in memory (8 when the block has an odd number
	// of vectors), and valid for the store.
	memLanes, validLanes := 16, Lanes+b.Lanes
	if b.Vecs%2 == 1 {
		memLanes, validLanes = Lanes, b.Lanes
	}
	var loadMask, storeMask reg.OpmaskVirtual
	if memLanes < 16 {
		loadMask = a.opmask(memLanes)
	}
	if validLanes < 16 {
		storeMask = a.opmask(validLanes)
	}
	load := func(m operand.Mem, z int, r reg.VecVirtual) {
		if z == nz-1 && loadMask != nil {
			c.VMOVUPS_Z(m, loadMask, r)
		} else {
			c.VMOVUPS(m, r)
		}
	}

	acc := make([][]reg.VecVirtual, pixels)
	for p := range acc {
		acc[p] = make([]reg.VecVirtual, nz)
		for z := range acc[p] {
			acc[p][z] = c.ZMM()
			if p == 0 {
				load(operand.Mem{Base: w, Disp: z * 64}, z, acc[p][z])
			} else {
				c.VMOVAPS(acc[0][z], acc[p][z])
			}
		}
	}
	c.ADDQ(operand.U32(b.Vecs*32), w)

	cinG := k.PackCin()
	chunk := min(k.CinChunk, cinG)
	pix := k.StrideW * k.Cin * 4
	step := func(n int) {
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
					wz := make([]reg.VecVirtual, nz)
					for z := range wz {
						wz[z] = c.ZMM()
						load(operand.Mem{Base: w, Disp: (ci*k.Taps()+tap)*b.Vecs*32 + z*64}, z, wz[z])
					}
					for p := 0; p < pixels; p++ {
						x := operand.Mem{Base: t, Disp: p*pix + kx*k.DilW*k.Cin*4 + ci*4}
						if nz == 1 {
							c.VFMADD231PS_BCST(x, wz[0], acc[p][0])
							continue
						}
						// Broadcast once, use it for every ZMM of the block:
						// one load per nz FMAs instead of one per FMA.
						xb := c.ZMM()
						c.VBROADCASTSS(x, xb)
						for z := range wz {
							c.VFMADD231PS(wz[z], xb, acc[p][z])
						}
					}
				}
			}
		}
		c.ADDQ(operand.U32(n*k.Taps()*b.Vecs*32), w)
		c.ADDQ(operand.U32(n*4), s)
	}
	a.repeat(cinG/chunk, fmt.Sprintf("Input channels, %d per trip.", chunk), func() { step(chunk) })
	if r := cinG % chunk; r > 0 {
		c.Comment("Remaining input channels.")
		step(r)
	}
	c.SUBQ(operand.U32(cinG*4), s)

	a.store512(k, acc, storeMask, d)
	c.ADDQ(operand.U32(b.Vecs*32), d)
}
