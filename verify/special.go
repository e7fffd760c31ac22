package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// forwardTimeout bounds every Forward call of CheckSpecialValues, so a
// kernel that loops on a NaN or an infinity fails the test instead of
// hanging it. A variable so that the tests of this package can shorten it.
var forwardTimeout = 10 * time.Second

// callForwardWithin is callForward on a goroutine of its own, waited for at
// most d. ok is false on a timeout: the call may then still be running, so
// the caller must keep dst and src alive (never unmap them).
func callForwardWithin(fwd Forward, dst, src []float32, n, h, w int, d time.Duration) (err error, panicked any, ok bool) {
	type outcome struct {
		err      error
		panicked any
	}
	done := make(chan outcome, 1)
	go func() {
		err, p := callForward(fwd, dst, src, n, h, w)
		done <- outcome{err, p}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case o := <-done:
		return o.err, o.panicked, true
	case <-timer.C:
		return nil, nil, false
	}
}

// padExplicitly returns src zero-padded on every side as c pads an h×w input,
// and c without padding: Reference on those is the convolution computed the
// way the generated kernels compute border pixels, with the padding as real
// zero inputs (0·w for every tap, as PyTorch's and TensorFlow's padded
// inputs do). Reference on the original skips those taps. The two differ
// only where a padding tap meets a weight that is NaN or infinite (0·Inf =
// NaN).
func padExplicitly(c Conv, src []float32, n, h, w int) (Conv, []float32, int, int) {
	top, left, bottom, right := c.Pads(h, w)
	ph, pw := h+top+bottom, w+left+right
	out := make([]float32, n*ph*pw*c.Cin)
	if c.NCHW {
		for p := 0; p < n*c.Cin; p++ { // every plane
			for y := 0; y < h; y++ {
				copy(out[(p*ph+y+top)*pw+left:], src[(p*h+y)*w:(p*h+y+1)*w])
			}
		}
	}
	for b := 0; b < n && !c.NCHW; b++ {
		for y := 0; y < h; y++ {
			row := src[((b*h+y)*w)*c.Cin : ((b*h+y)*w+w)*c.Cin]
			copy(out[((b*ph+y+top)*pw+left)*c.Cin:], row)
		}
	}
	c.SamePad = false
	c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 0, 0, 0, 0
	return c, out, ph, pw
}

// specialMatch: NaN must be NaN (any payload, any sign), everything else
// bit-equal up to the sign of zero, or within Tolerance when the data are
// not exact.
func specialMatch(c Conv, got float32, want, mag float64, exact bool) bool {
	if math.IsNaN(want) {
		return got != got
	}
	if exact || math.IsInf(want, 0) {
		return got == float32(want)
	}
	return math.Abs(float64(got)-want) <= Tolerance(c, mag)
}

// specialCase is one way of planting NaN and infinities.
type specialCase struct {
	name string
	// plant fills src, weights and bias (already holding small integers)
	// with its special values.
	plant func(c Conv, rng *rand.Rand, src, weights, bias []float32)
	// weightsSpecial: weights or bias hold NaN or Inf, so a padding tap
	// may legitimately give NaN (see padExplicitly).
	weightsSpecial bool
}

var (
	nan32  = float32(math.NaN())
	pinf32 = float32(math.Inf(1))
	ninf32 = float32(math.Inf(-1))
)

// specialCases plant, in turn: NaN in src; +Inf and -Inf in src next to
// each other (Inf - Inf = NaN) with the weights of output channel 0 zero
// (Inf·0 = NaN); +Inf everywhere with positive weights (+Inf before the
// clamp, the upper bound after it); -Inf everywhere (the lower bound after
// the clamp, 0 for relu); NaN, +Inf and -Inf among the weights; and in the
// bias.
var specialCases = []specialCase{
	{name: "NaN in src", plant: func(c Conv, rng *rand.Rand, src, _, _ []float32) {
		src[0] = nan32
		src[len(src)-1] = nan32
		src[rng.IntN(len(src))] = nan32
	}},
	{name: "+Inf and -Inf in src, output channel 0 with zero weights", plant: func(c Conv, rng *rand.Rand, src, weights, _ []float32) {
		i := rng.IntN(len(src))
		src[i] = pinf32
		right := c.Cin
		if c.NCHW {
			right = 1
		}
		if j := i + right; j < len(src) { // the same channel one pixel to the right
			src[j] = ninf32
		}
		src[len(src)-1] = ninf32
		src[rng.IntN(len(src))] = pinf32
		clear(weights[:c.WeightLen()/c.Cout]) // OIHW: output channel 0 first
	}},
	{name: "+Inf everywhere in src, positive weights", plant: func(c Conv, rng *rand.Rand, src, weights, _ []float32) {
		for i := range src {
			src[i] = pinf32
		}
		for i := range weights {
			weights[i] = float32(1 + rng.IntN(3))
		}
	}},
	{name: "-Inf everywhere in src, positive weights", plant: func(c Conv, rng *rand.Rand, src, weights, _ []float32) {
		for i := range src {
			src[i] = ninf32
		}
		for i := range weights {
			weights[i] = float32(1 + rng.IntN(3))
		}
	}},
	{name: "NaN, +Inf and -Inf in weights", weightsSpecial: true, plant: func(c Conv, rng *rand.Rand, src, weights, _ []float32) {
		per := c.WeightLen() / c.Cout
		weights[rng.IntN(per)] = nan32                 // output channel 0
		weights[(c.Cout-1)*per+rng.IntN(per)] = pinf32 // the last
		// One in the middle (the last again if Cout = 1) gets -Inf and
		// +Inf: NaN where both meet non-zero inputs of one sign.
		weights[(c.Cout/2)*per+rng.IntN(per)] = ninf32
		weights[(c.Cout/2)*per+rng.IntN(per)] = pinf32
		src[rng.IntN(len(src))] = 0 // Inf·0 somewhere, whatever the random data
	}},
	{name: "NaN, +Inf and -Inf in bias", weightsSpecial: true, plant: func(c Conv, rng *rand.Rand, _, _, bias []float32) {
		if bias == nil {
			return
		}
		bias[0] = nan32
		bias[len(bias)-1] = pinf32
		bias[len(bias)/2] = ninf32
	}},
}

// specialBudget caps the naive MACs of one CheckSpecialValues input; the
// span-sized input is kept whatever it costs.
const specialBudget = 2_000_000

// specialSizes are the inputs CheckSpecialValues runs: one with interior
// pixels, border pixels and pixel tails, and one of exactly the kernel
// span (all border for a padded layer); the first only within the budget.
func specialSizes(c Conv) []Size {
	spanH, spanW := span(c.KH, c.DilationH), span(c.KW, c.DilationW)
	var sizes []Size
	for _, s := range []Size{{1, spanH + 1, spanW + 9}, {1, spanH, spanW}} {
		if oh, ow := c.OutputSize(s.H, s.W); oh >= 1 && ow >= 1 && (c.cost(s) <= specialBudget || s.H == spanH) {
			sizes = append(sizes, s)
		}
	}
	return sizes
}

// specialKey names one CheckSpecialValues input. Its data depend on
// nothing else, so the references are computed once per layer and input
// although the generated tests check every kernel path.
type specialKey struct {
	c            Conv
	caseIndex    int
	size         Size
	padAsZeroRef bool
}

type specialRef struct{ skip, zero, mag []float64 }

var specialRefs sync.Map // specialKey → *specialRef

// CheckSpecialValues checks IEEE semantics through a layer: NaN and ±Inf in
// src, in the weights and in the bias. An output whose receptive field
// holds a NaN must be NaN, also after the activation (the clamp y =
// min(max(x, lo), hi) keeps a NaN); Inf·0 and Inf + (-Inf) give NaN; +Inf
// plus finite values stays +Inf before the clamp and becomes the upper
// bound after it (relu6(+Inf) = 6, relu(-Inf) = 0). Outputs whose receptive
// field holds no special value must equal the reference exactly (the
// finite data are small integers). Where a padding tap meets a NaN or
// infinite weight, both "padding is skipped" and "padding is a zero input"
// (0·Inf = NaN) are accepted. src and dst are guarded as in Check, and
// every Forward call must return within 10 s.
func CheckSpecialValues(t testing.TB, c Conv, newLayer New) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("%v: invalid Conv: %v", c, err)
	}
	sizes := specialSizes(c)
	if len(sizes) == 0 {
		t.Fatalf("%v: no input size gives an output", c)
	}
	for ci, sc := range specialCases {
		if sc.name == "NaN, +Inf and -Inf in bias" && !c.Bias {
			continue
		}
		for si, s := range sizes {
			seed := int64(100*ci + si + 1)
			rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
			src, weights, bias := c.gen(rng, exactData, s.N, s.H, s.W)
			sc.plant(c, rng, src, weights, bias)
			at := fmt.Sprintf("%s, %s", caseName(c, s.N, s.H, s.W, seed), sc.name)
			key := specialKey{c, ci, s, sc.weightsSpecial}
			ref, ok := specialRefs.Load(key)
			if !ok {
				ref, _ = specialRefs.LoadOrStore(key, specialReference(c, src, weights, bias, s, sc.weightsSpecial))
			}
			checkSpecial(t, c, newLayer, src, weights, bias, s, ref.(*specialRef), at)
		}
	}
}

// specialReference: the reference skipping padding taps and, when the
// weights or bias are special, the one with the padding as zero inputs.
func specialReference(c Conv, src, weights, bias []float32, s Size, weightsSpecial bool) *specialRef {
	skip, mag := Reference(c, src, weights, bias, s.N, s.H, s.W)
	zero := skip
	if weightsSpecial {
		c0, padded, ph, pw := padExplicitly(c, src, s.N, s.H, s.W)
		zero, _ = Reference(c0, padded, weights, bias, s.N, ph, pw)
	}
	return &specialRef{skip, zero, mag}
}

func checkSpecial(t testing.TB, c Conv, newLayer New, data, weights, bias []float32, s Size, ref *specialRef, at string) {
	t.Helper()
	n, h, w := s.N, s.H, s.W
	oh, ow := c.OutputSize(h, w)
	fwd := mustNew(t, newLayer, weights, bias, at)
	skip, zero, mag := ref.skip, ref.zero, ref.mag

	dstLen := n * oh * ow * c.Cout
	src, releaseSrc := Guarded(len(data), AtEnd)
	region, releaseDst := Guarded(numCanaries+dstLen, AtEnd)
	hung := false
	defer func() {
		if !hung { // a hung call may still touch them: leak them instead
			releaseSrc()
			releaseDst()
		}
	}()
	copy(src, data)
	for i := range region {
		region[i] = canary
	}
	canaries, dst := region[:numCanaries], region[numCanaries:]

	err, p, ok := callForwardWithin(fwd, dst, src, n, h, w, forwardTimeout)
	if !ok {
		hung = true
		t.Fatalf("%s: Forward did not return within %v", at, forwardTimeout)
	}
	if p != nil {
		t.Fatalf("%s: %s", at, describePanic(p))
	}
	if err != nil {
		t.Fatalf("%s: Forward failed: %v (NaN and Inf are valid inputs)", at, err)
	}
	for i, v := range canaries {
		if math.Float32bits(v) != canaryBits {
			t.Fatalf("%s: Forward wrote outside dst: canary before dst clobbered at dst[%d]", at, i-numCanaries)
		}
	}
	for i := range src {
		if math.Float32bits(src[i]) != math.Float32bits(data[i]) {
			t.Fatalf("%s: Forward modified src[%d]: %g -> %g", at, i, data[i], src[i])
		}
	}
	exact := c.exactOK()
	first, bad := -1, 0
	for i, g := range dst {
		if math.Float32bits(g) == canaryBits {
			t.Fatalf("%s: Forward left dst %s unwritten", at, pos(c, oh, ow, i))
		}
		if !specialMatch(c, g, skip[i], mag[i], exact) && !specialMatch(c, g, zero[i], mag[i], exact) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		want := fmt.Sprint(float32(skip[first]))
		if zero[first] != skip[first] && !(math.IsNaN(zero[first]) && math.IsNaN(skip[first])) {
			want += fmt.Sprintf(" (or %v, the padding as zero inputs)", float32(zero[first]))
		}
		t.Fatalf("%s: %d of %d outputs break IEEE semantics; first at %s: got %v, want %v",
			at, bad, len(dst), pos(c, oh, ow, first), dst[first], want)
	}
}
