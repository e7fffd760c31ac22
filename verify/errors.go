package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CheckErrors checks the API contract on bad arguments: New and Forward must
// return an error, never panic, for short or missing weights and bias,
// non-positive n, h or w, short or nil src and dst, and an input smaller
// than the kernel span. Over-long src and dst are fine and the extra dst
// element stays untouched. Short buffers are guarded, so a kernel that
// skips the length check and reads on faults instead of passing silently.
func CheckErrors(t testing.TB, c Conv, newLayer New) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("%v: invalid Conv: %v", c, err)
	}
	rng := rand.New(rand.NewPCG(1, pcgStream))

	// Base case: the span-sized input, valid for any padding.
	n, h, w := 1, span(c.KH, c.DilationH), span(c.KW, c.DilationW)
	oh, ow := c.OutputSize(h, w)
	src, weights, bias := c.gen(rng, exactData, n, h, w)

	newErr := func(what string, weights, bias []float32) {
		t.Helper()
		_, err, p := callNew(newLayer, weights, bias)
		if p != nil {
			t.Errorf("%v: New with %s panicked: %v", c, what, p)
			return
		}
		assert.Error(t, err, "%v: New with %s must fail", c, what)
	}
	newErr(fmt.Sprintf("weights one element short (%d of %d)", len(weights)-1, len(weights)), weights[:len(weights)-1], bias)
	newErr("nil weights", nil, bias)
	if c.Bias {
		newErr("nil bias", weights, nil)
		newErr(fmt.Sprintf("bias one element short (%d of %d)", c.Cout-1, c.Cout), weights, bias[:c.Cout-1])
	} else {
		newErr("a bias of length Cout although Bias is false", weights, make([]float32, c.Cout))
	}

	fwd := mustNew(t, newLayer, weights, bias, c.String())
	dstLen := n * oh * ow * c.Cout

	// guarded copies data[:size] (zeros past len(data)) flush against a
	// guard page; size < 0 means nil.
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	guarded := func(data []float32, size int) []float32 {
		if size < 0 {
			return nil
		}
		s, release := Guarded(size, AtEnd)
		releases = append(releases, release)
		copy(s, data)
		return s
	}
	fwdErr := func(what string, dstSize, srcSize, n, h, w int) {
		t.Helper()
		dst, src := guarded(nil, dstSize), guarded(src, srcSize)
		err, p := callForward(fwd, dst, src, n, h, w)
		if p != nil {
			t.Errorf("%v: Forward with %s (len(dst)=%d len(src)=%d n=%d h=%d w=%d): %s",
				c, what, len(dst), len(src), n, h, w, describePanic(p))
			return
		}
		assert.Error(t, err, "%v: Forward with %s (len(dst)=%d len(src)=%d n=%d h=%d w=%d) must fail",
			c, what, len(dst), len(src), n, h, w)
	}
	for _, v := range []int{0, -1} {
		fwdErr(fmt.Sprintf("n = %d", v), dstLen, len(src), v, h, w)
		fwdErr(fmt.Sprintf("h = %d", v), dstLen, len(src), n, v, w)
		fwdErr(fmt.Sprintf("w = %d", v), dstLen, len(src), n, h, v)
	}
	fwdErr("src one element short", dstLen, len(src)-1, n, h, w)
	fwdErr("dst one element short", dstLen-1, len(src), n, h, w)
	fwdErr("nil src", dstLen, -1, n, h, w)
	fwdErr("nil dst", -1, len(src), n, h, w)
	// Inputs smaller than the span (only possible with little padding);
	// OutputSize is monotonic, so if 1×1 is valid no smaller input exists.
	for _, s := range [][2]int{{1, 1}, {1, w}, {h, 1}} {
		if sh, sw := c.OutputSize(s[0], s[1]); sh <= 0 || sw <= 0 {
			fwdErr(fmt.Sprintf("an input smaller than the kernel span (output %dx%d)", sh, sw),
				n*c.Cout, n*s[0]*s[1]*c.Cin, n, s[0], s[1])
		}
	}

	// Over-long buffers: fine, and the extra dst element is left alone.
	longSrc := append(src[:len(src):len(src)], 1)
	longDst := make([]float32, dstLen+1)
	longDst[dstLen] = canary
	err, p := callForward(fwd, longDst, longSrc, n, h, w)
	if p != nil {
		t.Fatalf("%v: Forward with one extra element in src and dst: %s", c, describePanic(p))
	}
	require.NoError(t, err, "%v: Forward with one extra element in src and dst must succeed", c)
	assert.Equal(t, uint32(canaryBits), math.Float32bits(longDst[dstLen]),
		"%v: Forward wrote the extra dst element past n*oh*ow*Cout = %d", c, dstLen)
	if c.exactOK() {
		ref, _ := Reference(c, src, weights, bias, n, h, w)
		compareExact(t, c, longDst[:dstLen], ref, oh, ow, fmt.Sprintf("%v, over-long src and dst, size n=%d h=%d w=%d", c, n, h, w))
	}
}
