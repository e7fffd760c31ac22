package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// NewBlock builds a fused depthwise-separable block (a depthwise layer dw
// feeding a 1×1 layer pw) from both layers' OIHW weights and biases.
type NewBlock func(dwWeights, dwBias, pwWeights, pwBias []float32) (Forward, error)

// blockOut is the Conv whose output shape the block has: dw's input and
// geometry, pw's output channels (runGuarded and pos only use those).
func blockOut(dw, pw Conv) Conv {
	c := dw
	c.Cout, c.Groups, c.Shuffle = pw.Cout, 1, 0
	return c
}

// CheckBlock runs one n×h×w case of a fused block against the reference of
// its two layers run one after the other: bit-exact on integer data (the
// intermediate values are integers too), and on random data within pw's
// Tolerance plus the propagated depthwise error Σ|w_pw|·e_dw, where e_dw is
// dw's Tolerance plus the rounding of the intermediate value to float32.
func CheckBlock(t testing.TB, dw, pw Conv, newBlock NewBlock, n, h, w int, seed int64) {
	t.Helper()
	at := fmt.Sprintf("block %v → %v, size n=%d h=%d w=%d, seed %d", dw, pw, n, h, w, seed)
	if err := dw.Validate(); err != nil {
		t.Fatalf("%s: invalid depthwise Conv: %v", at, err)
	}
	if err := pw.Validate(); err != nil {
		t.Fatalf("%s: invalid pointwise Conv: %v", at, err)
	}
	if pw.KH != 1 || pw.KW != 1 || pw.StrideH != 1 || pw.StrideW != 1 || pw.Cin != dw.Cout {
		t.Fatalf("%s: the pointwise layer must be 1x1, stride 1, with cin = the depthwise cout", at)
	}
	oh, ow := dw.OutputSize(h, w)
	out := blockOut(dw, pw)
	newFwd := func(w1, b1, w2, b2 []float32) Forward {
		fwd, err, p := callNewBlock(newBlock, w1, b1, w2, b2)
		switch {
		case p != nil:
			t.Fatalf("%s: New panicked on valid weights: %v", at, p)
		case err != nil || fwd == nil:
			t.Fatalf("%s: New rejected valid weights: %v", at, err)
		}
		return fwd
	}
	if oh <= 0 || ow <= 0 {
		rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
		src, w1, b1 := dw.gen(rng, exactData, n, h, w)
		_, w2, b2 := pw.gen(rng, exactData, 0, 0, 0)
		fwd := newFwd(w1, b1, w2, b2)
		for _, pl := range placements {
			if _, err := runGuarded(t, out, fwd, src, n, h, w, oh, ow, pl, at); err == nil {
				t.Fatalf("%s, guarded %s: Forward accepted an input smaller than the kernel span; want an error", at, pl)
			}
		}
		return
	}
	for _, d := range blockCases(dw, pw, n, h, w, seed) {
		fwd := newFwd(slices.Clone(d.w1), slices.Clone(d.b1), slices.Clone(d.w2), slices.Clone(d.b2))
		if d.skip {
			t.Logf("%s: skipping the exact comparison: sums may exceed 2^24", at)
			continue
		}
		for _, pl := range placements {
			kat := fmt.Sprintf("%s, %s", at, d.kind)
			got, err := runGuarded(t, out, fwd, d.src, n, h, w, oh, ow, pl, kat)
			if err != nil {
				t.Fatalf("%s, guarded %s: Forward failed on a valid input: %v", kat, pl, err)
			}
			kat = fmt.Sprintf("%s, guarded %s", kat, pl)
			if d.kind == exactData {
				compareExact(t, out, got, d.ref, oh, ow, kat)
				continue
			}
			for i, r := range d.ref {
				tol := Tolerance(pw, d.mag[i]) + d.prop[i]
				if !(math.Abs(float64(got[i])-r) <= tol) {
					t.Fatalf("%s: output %s: got %v, want %v (|diff| %.3g > tolerance %.3g)",
						kat, pos(out, oh, ow, i), got[i], r, math.Abs(float64(got[i])-r), tol)
				}
			}
		}
	}
}

// SweepBlock runs CheckBlock over the depthwise layer's sizes, budgeted
// for both layers' MACs.
func SweepBlock(t testing.TB, dw, pw Conv, newBlock NewBlock) {
	t.Helper()
	for i, s := range dw.sizes(dw.macsPerPixel() + pw.macsPerPixel()) {
		seed := int64(i) + 1
		if tt, ok := t.(*testing.T); ok {
			tt.Run(fmt.Sprintf("n%d_h%d_w%d", s.N, s.H, s.W), func(t *testing.T) {
				CheckBlock(t, dw, pw, newBlock, s.N, s.H, s.W, seed)
			})
			continue
		}
		CheckBlock(t, dw, pw, newBlock, s.N, s.H, s.W, seed)
	}
}

// CheckBlockErrors: short or missing weights of either layer, short src and
// dst, bad sizes: an error each, never a panic.
func CheckBlockErrors(t testing.TB, dw, pw Conv, newBlock NewBlock) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, pcgStream))
	h, w := dw.KH+dw.PadTop+3, dw.KW+dw.PadLeft+3
	src, w1, b1 := dw.gen(rng, exactData, 1, h, w)
	_, w2, b2 := pw.gen(rng, exactData, 0, 0, 0)
	newErr := func(what string, w1, b1, w2, b2 []float32) {
		t.Helper()
		_, err, p := callNewBlock(newBlock, w1, b1, w2, b2)
		if p != nil || err == nil {
			t.Fatalf("block %v → %v: New with %s must fail with an error (panic: %v)", dw, pw, what, p)
		}
	}
	newErr("short depthwise weights", w1[:len(w1)-1], b1, w2, b2)
	newErr("short pointwise weights", w1, b1, w2[:len(w2)-1], b2)
	newErr("nil pointwise weights", w1, b1, nil, b2)
	if pw.Bias {
		newErr("nil pointwise bias", w1, b1, w2, nil)
	}
	fwd, err, p := callNewBlock(newBlock, w1, b1, w2, b2)
	if p != nil || err != nil {
		t.Fatalf("block %v → %v: New failed on valid weights: %v %v", dw, pw, err, p)
	}
	oh, ow := dw.OutputSize(h, w)
	need := oh * ow * pw.Cout
	for _, c := range []struct {
		what     string
		dst, src []float32
		n, h, w  int
	}{
		{"src one short", make([]float32, need), src[:len(src)-1], 1, h, w},
		{"dst one short", make([]float32, need-1), src, 1, h, w},
		{"n = 0", make([]float32, need), src, 0, h, w},
		{"w = -1", make([]float32, need), src, 1, h, -1},
		{"nil slices", nil, nil, 1, h, w},
	} {
		err, p := callForward(fwd, c.dst, c.src, c.n, c.h, c.w)
		if p != nil || err == nil {
			t.Fatalf("block %v → %v: Forward with %s must fail with an error (panic: %v)", dw, pw, c.what, p)
		}
	}
}

func callNewBlock(newBlock NewBlock, w1, b1, w2, b2 []float32) (fwd Forward, err error, panicked any) {
	defer func() { panicked = recover() }()
	fwd, err = newBlock(w1, b1, w2, b2)
	return fwd, err, nil
}

// BenchBlock times a fused block on one n×h×w input and reports GFLOP/s
// counting both layers' MACs.
func BenchBlock(b *testing.B, dw, pw Conv, newBlock NewBlock, n, h, w int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	src, w1, b1 := dw.gen(rng, randomData, n, h, w)
	_, w2, b2 := pw.gen(rng, randomData, 0, 0, 0)
	fwd, err := newBlock(w1, b1, w2, b2)
	if err != nil {
		b.Fatal(err)
	}
	oh, ow := dw.OutputSize(h, w)
	dst := make([]float32, n*oh*ow*pw.Cout)
	runs := 0
	for b.Loop() {
		if err := fwd(dst, src, n, h, w); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	flops := FLOPs(dw, n, h, w) + FLOPs(pw, n, oh, ow)
	b.ReportMetric(flops*float64(runs)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// Unfused runs dw then pw through a full intermediate feature map: the
// baseline a fused block is measured against.
func Unfused(dw, pw Conv, newDW, newPW New) NewBlock {
	return func(w1, b1, w2, b2 []float32) (Forward, error) {
		f1, err := newDW(w1, b1)
		if err != nil {
			return nil, err
		}
		f2, err := newPW(w2, b2)
		if err != nil {
			return nil, err
		}
		var mid []float32 // reused across calls, as a caller would
		return func(dst, src []float32, n, h, w int) error {
			oh, ow := dw.OutputSize(h, w)
			if need := max(n*oh*ow*dw.Cout, 0); len(mid) < need {
				mid = make([]float32, need)
			}
			if err := f1(mid, src, n, h, w); err != nil {
				return err
			}
			return f2(dst, mid, n, oh, ow)
		}, nil
	}
}
