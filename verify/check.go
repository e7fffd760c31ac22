package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

const (
	// canaryBits is a quiet-NaN payload no reference output can be (they
	// are finite), so it marks both "outside dst" and "never written".
	canaryBits = 0x7fc0dead
	// numCanaries floats sit on the unguarded side of dst.
	numCanaries = 16
	// pcgStream is the fixed second PCG seed word; the test seed is the first.
	pcgStream = 0x636f6e7667656e
)

var canary = math.Float32frombits(canaryBits)

type dataKind int

const (
	exactData  dataKind = iota // integers: every partial sum exact in float32
	randomData                 // uniform [-1,1): compared within Tolerance
)

func (k dataKind) String() string {
	if k == exactData {
		return "exact integer data"
	}
	return "random data"
}

// gen fills src, weights and bias for one comparison.
func (c Conv) gen(rng *rand.Rand, kind dataKind, n, h, w int) (src, weights, bias []float32) {
	fill := func(s []float32, lim int) {
		for i := range s {
			if kind == exactData {
				s[i] = float32(rng.IntN(2*lim+1) - lim)
			} else {
				s[i] = rng.Float32()*2 - 1
			}
		}
	}
	src = make([]float32, n*h*w*c.Cin)
	weights = make([]float32, c.WeightLen())
	fill(src, 3)
	fill(weights, 3)
	if c.Bias {
		bias = make([]float32, c.Cout)
		fill(bias, 8)
	}
	return src, weights, bias
}

// exactOK: with |x|,|w| <= 3 and |b| <= 8 every partial sum is an integer
// below 2^24, hence exact in float32 whatever the order or FMA use.
func (c Conv) exactOK() bool {
	return 9*(c.Cin/c.Groups)*c.KH*c.KW+8 <= 1<<24
}

// caseName names a case in failure messages.
func caseName(c Conv, n, h, w int, seed int64) string {
	return fmt.Sprintf("%v, size n=%d h=%d w=%d, seed %d", c, n, h, w, seed)
}

// pos decodes an output index (NHWC, or NCHW for an NCHW Conv).
func pos(c Conv, oh, ow, i int) string {
	if c.NCHW {
		ox, oy, ch, b := i%ow, i/ow%oh, i/(ow*oh)%c.Cout, i/(ow*oh*c.Cout)
		return fmt.Sprintf("(n=%d, c=%d, oy=%d, ox=%d) [index %d of %dx%dx%d NCHW output]", b, ch, oy, ox, i, c.Cout, oh, ow)
	}
	ch := i % c.Cout
	p := i / c.Cout
	ox := p % ow
	p /= ow
	return fmt.Sprintf("(n=%d, oy=%d, ox=%d, c=%d) [index %d of %dx%dx%d output]", p/oh, p%oh, ox, ch, i, oh, ow, c.Cout)
}

// callNew runs newLayer, turning a panic into a value.
func callNew(newLayer New, weights, bias []float32) (fwd Forward, err error, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	fwd, err = newLayer(weights, bias)
	return fwd, err, nil
}

// callForward runs fwd with faults turned into panics, recovered. The
// deferred recover runs before SetPanicOnFault is restored.
func callForward(fwd Forward, dst, src []float32, n, h, w int) (err error, panicked any) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return fwd(dst, src, n, h, w), nil
}

// describePanic labels a recovered Forward panic: faults (guard page, with
// SetPanicOnFault the value has an Addr method) and index errors (pure Go
// kernels) are both out-of-bounds accesses.
func describePanic(p any) string {
	if f, ok := p.(interface{ Addr() uintptr }); ok {
		return fmt.Sprintf("Forward read or wrote outside its slices: %v (fault address %#x)", p, f.Addr())
	}
	if re, ok := p.(runtime.Error); ok && strings.Contains(re.Error(), "out of range") {
		return fmt.Sprintf("Forward read or wrote outside its slices: %v", p)
	}
	return fmt.Sprintf("Forward panicked: %v", p)
}

func mustNew(t testing.TB, newLayer New, weights, bias []float32, at string) Forward {
	t.Helper()
	fwd, err, p := callNew(newLayer, weights, bias)
	switch {
	case p != nil:
		t.Fatalf("%s: New panicked on valid weights: %v", at, p)
	case err != nil:
		t.Fatalf("%s: New rejected valid weights (len %d) and bias (len %d): %v", at, len(weights), len(bias), err)
	case fwd == nil:
		t.Fatalf("%s: New returned a nil Forward", at)
	}
	return fwd
}

// runGuarded runs fwd with src and dst in guarded memory on the `pl` side and
// canaries on the other side of dst (and in dst itself). It fails on a panic
// or fault, a clobbered canary or a modified src and, when Forward succeeds
// and oh, ow > 0, on a dst element left unwritten. It returns a copy of dst
// and Forward's error.
func runGuarded(t testing.TB, c Conv, fwd Forward, data []float32, n, h, w, oh, ow int, pl Placement, at string) ([]float32, error) {
	t.Helper()
	dstLen := n * max(oh, 1) * max(ow, 1) * c.Cout
	src, releaseSrc := Guarded(len(data), pl)
	defer releaseSrc()
	copy(src, data)
	region, releaseDst := Guarded(dstLen+numCanaries, pl)
	defer releaseDst()
	for i := range region {
		region[i] = canary
	}
	var dst, canaries []float32
	side := "before"
	if pl == AtEnd {
		canaries, dst = region[:numCanaries], region[numCanaries:]
	} else {
		dst, canaries, side = region[:dstLen:dstLen], region[dstLen:], "after"
	}
	at = fmt.Sprintf("%s, src and dst guarded %s", at, pl)

	err, p := callForward(fwd, dst, src, n, h, w)
	if p != nil {
		t.Fatalf("%s: %s", at, describePanic(p))
	}
	for i, v := range canaries {
		if math.Float32bits(v) != canaryBits {
			idx := i - numCanaries // AtEnd: dst[-16..-1]
			if pl == AtStart {
				idx = dstLen + i
			}
			t.Fatalf("%s: Forward wrote outside dst: canary %s dst clobbered at dst[%d] (now %g, bits 0x%08x)",
				at, side, idx, v, math.Float32bits(v))
		}
	}
	for i := range src {
		if math.Float32bits(src[i]) != math.Float32bits(data[i]) {
			t.Fatalf("%s: Forward modified src[%d]: %g -> %g", at, i, data[i], src[i])
		}
	}
	if err == nil && oh > 0 && ow > 0 {
		for i, v := range dst {
			if math.Float32bits(v) == canaryBits {
				t.Fatalf("%s: Forward left dst %s unwritten", at, pos(c, oh, ow, i))
			}
		}
	}
	return slices.Clone(dst), err
}

var placements = [...]Placement{AtEnd, AtStart}

// Check runs one n×h×w case of the layer newLayer builds against Reference:
// bit-exact on integer data and within Tolerance on random data, each with
// src and dst guarded at the end and then at the start. An input smaller
// than the kernel span must make Forward return an error instead.
func Check(t testing.TB, c Conv, newLayer New, n, h, w int, seed int64) {
	t.Helper()
	at := caseName(c, n, h, w, seed)
	if err := c.Validate(); err != nil {
		t.Fatalf("%s: invalid Conv: %v", at, err)
	}
	if n < 1 || h < 1 || w < 1 {
		t.Fatalf("%s: Check needs a positive size (CheckErrors covers the others)", at)
	}
	oh, ow := c.OutputSize(h, w)

	if oh <= 0 || ow <= 0 {
		rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
		src, weights, bias := c.gen(rng, exactData, n, h, w)
		fwd := mustNew(t, newLayer, weights, bias, at)
		for _, pl := range placements {
			// dst is sized as if for a 1×1 output.
			if _, err := runGuarded(t, c, fwd, src, n, h, w, oh, ow, pl, at); err == nil {
				t.Fatalf("%s, guarded %s: Forward accepted an input smaller than the kernel span (output %dx%d); want an error",
					at, pl, oh, ow)
			}
		}
		return
	}

	for _, d := range layerCases(c, n, h, w, seed) {
		if d.skip {
			t.Logf("%s: skipping the exact comparison: sums may exceed 2^24", at)
			continue
		}
		fwd := mustNew(t, newLayer, slices.Clone(d.weights), slices.Clone(d.bias), at)
		for _, pl := range placements {
			kat := fmt.Sprintf("%s, %s", at, d.kind)
			got, err := runGuarded(t, c, fwd, d.src, n, h, w, oh, ow, pl, kat)
			if err != nil {
				t.Fatalf("%s, guarded %s: Forward failed on a valid input: %v", kat, pl, err)
			}
			kat = fmt.Sprintf("%s, guarded %s", kat, pl)
			if d.kind == exactData {
				compareExact(t, c, got, d.ref, oh, ow, kat)
			} else {
				compareTol(t, c, got, d.ref, d.mag, oh, ow, kat)
			}
		}
	}
}

// compareExact requires got == float32(ref) bit for bit, except that -0 and
// +0 are equal: the sign of a zero sum depends on the order of additions and
// on how max/min pick between equal operands, and no consumer can see it.
func compareExact(t testing.TB, c Conv, got []float32, ref []float64, oh, ow int, at string) {
	t.Helper()
	first, bad := -1, 0
	for i, r := range ref {
		want, g := float32(r), got[i]
		if math.Float32bits(g) != math.Float32bits(want) && !(g == 0 && want == 0) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d outputs differ; first at %s: got %v, want %v",
			at, bad, len(ref), pos(c, oh, ow, first), got[first], float32(ref[first]))
	}
}

// compareTol requires |got - ref| <= Tolerance(mag) per element.
func compareTol(t testing.TB, c Conv, got []float32, ref, mag []float64, oh, ow int, at string) {
	t.Helper()
	first, bad := -1, 0
	for i, r := range ref {
		// Negated so a NaN fails.
		if !(math.Abs(float64(got[i])-r) <= Tolerance(c, mag[i])) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		i := first
		t.Fatalf("%s: %d of %d outputs outside tolerance; first at %s: got %v, want %v (|diff| %.3g > tolerance %.3g)",
			at, bad, len(ref), pos(c, oh, ow, i), got[i], ref[i], math.Abs(float64(got[i])-ref[i]), Tolerance(c, mag[i]))
	}
}

// Sweep runs Check over Sizes(c), as subtests named like "n1_h7_w13" when t
// is a *testing.T. The seed of size i is i+1, so a failure reproduces with
// Check(t, c, newLayer, n, h, w, seed) from its message.
func Sweep(t testing.TB, c Conv, newLayer New) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("%v: invalid Conv: %v", c, err)
	}
	for i, s := range Sizes(c) {
		seed := int64(i) + 1
		if tt, ok := t.(*testing.T); ok {
			tt.Run(fmt.Sprintf("n%d_h%d_w%d", s.N, s.H, s.W), func(t *testing.T) {
				Check(t, c, newLayer, s.N, s.H, s.W, seed)
			})
			continue
		}
		Check(t, c, newLayer, s.N, s.H, s.W, seed)
	}
}
