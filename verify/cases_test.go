package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layerCases is what Check drew and computed inline: one PCG stream from
// the seed, exact data then random data, and their references; a second
// call returns the kept data.
func TestLayerCasesAreTheInlineDraw(t *testing.T) {
	for _, c := range sweepConvs {
		n, h, w, seed := 2, 9, 7, int64(5)
		got := layerCases(c, n, h, w, seed)
		rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
		require.Len(t, got, 2)
		for i, kind := range []dataKind{exactData, randomData} {
			d := got[i]
			require.Equal(t, kind, d.kind)
			require.False(t, d.skip)
			src, weights, bias := c.gen(rng, kind, n, h, w)
			ref, mag := Reference(c, src, weights, bias, n, h, w)
			assert.Equal(t, src, d.src, "%v %v src", c, kind)
			assert.Equal(t, weights, d.weights, "%v %v weights", c, kind)
			assert.Equal(t, bias, d.bias, "%v %v bias", c, kind)
			assert.Equal(t, ref, d.ref, "%v %v reference", c, kind)
			if kind == randomData {
				assert.Equal(t, mag, d.mag, "%v %v magnitudes", c, kind)
			}
		}
		again := layerCases(c, n, h, w, seed)
		assert.Same(t, &got[1].ref[0], &again[1].ref[0], "%v: the second call computed the case again", c)
	}
	// A layer whose sums may exceed 2^24 has no exact case, and its random
	// data is then the stream's first draw.
	big := Conv{Cin: 16000, Cout: 1, KH: 11, KW: 11, Groups: 1, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1, ActMin: ninf, ActMax: inf}
	got := layerCases(big, 1, 11, 11, 3)
	require.Len(t, got, 2)
	assert.True(t, got[0].skip)
	src, _, _ := big.gen(rand.New(rand.NewPCG(3, pcgStream)), randomData, 1, 11, 11)
	assert.Equal(t, src, got[1].src)
}

// Kept cases change no outcome: a broken layer still fails on a case a
// correct one has just passed, and a layer that scribbles over the
// weights it is given does not change the data of later checks.
func TestCheckWithKeptCases(t *testing.T) {
	c := grouped
	c.Cout, c.ActMin = 8, -30 // a layer of its own
	pass := func(newLayer New) *recorder {
		return record(t, func(tb testing.TB) { Check(tb, c, newLayer, 2, 6, 5, 11) })
	}
	require.False(t, pass(fake(c, correct)).Failed())
	r := pass(fake(c, wrongLast))
	require.True(t, r.Failed(), "a broken layer passed a kept case")
	assert.Contains(t, r.text(), "1 of 192 outputs differ")
	scribbler := func(weights, bias []float32) (Forward, error) {
		fwd, err := fake(c, correct)(weights, bias)
		for i := range weights {
			weights[i] = 99
		}
		for i := range bias {
			bias[i] = -99
		}
		return fwd, err
	}
	require.False(t, pass(scribbler).Failed())
	r = pass(fake(c, correct))
	assert.False(t, r.Failed(), r.text())
	for _, d := range layerCases(c, 2, 6, 5, 11) {
		assert.NotContains(t, d.weights, float32(99))
		assert.NotContains(t, d.bias, float32(-99))
	}
}

// blockCases and CheckBlock: a correct unfused pair passes, with its data
// kept, and a broken pointwise layer fails on the kept case.
func TestCheckBlockWithKeptCases(t *testing.T) {
	dw := Conv{Cin: 8, Cout: 8, KH: 3, KW: 3, Groups: 8, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Bias: true, ActMin: 0, ActMax: 6}
	pw := Conv{Cin: 8, Cout: 4, KH: 1, KW: 1, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		Bias: true, ActMin: ninf, ActMax: inf}
	block := func(f fault) NewBlock { return Unfused(dw, pw, fake(dw, correct), fake(pw, f)) }
	r := record(t, func(tb testing.TB) { SweepBlock(tb, dw, pw, block(correct)) })
	require.False(t, r.Failed(), r.text())
	first := blockCases(dw, pw, 1, 5, 6, 3)
	require.Len(t, first, 2)
	assert.Same(t, &first[1].prop[0], &blockCases(dw, pw, 1, 5, 6, 3)[1].prop[0])
	r = record(t, func(tb testing.TB) { CheckBlock(tb, dw, pw, block(wrongLast), 1, 5, 6, 3) })
	require.True(t, r.Failed(), "a broken block passed a kept case")
	assert.Contains(t, r.text(), "exact integer data")
}

// The cache keeps at most its limit: other layers are dropped, least
// recently used first, and a case that does not fit is not kept.
func TestCaseCacheLimit(t *testing.T) {
	cc := newCaseCache(100)
	key := func(cin, n int) caseKey {
		c := grouped
		c.Cin = cin
		return newCaseKey(c, Conv{}, false, n, 1, 1, 1)
	}
	kept := func(k caseKey) bool {
		_, ok := cc.get(k)
		return ok
	}
	cc.put(key(1, 1), "a1", 30)
	cc.put(key(1, 2), "a2", 30)
	cc.put(key(2, 1), "b1", 20)
	require.True(t, kept(key(1, 1))) // layer 1 is now the most recently used
	cc.put(key(3, 1), "c1", 30)      // 110 bytes: drops layer 2, not layer 1
	for k, want := range map[caseKey]bool{key(1, 1): true, key(1, 2): true, key(2, 1): false, key(3, 1): true} {
		assert.Equal(t, want, kept(k), "layer %d, case %d", k.c.Cin, k.n)
	}
	assert.Equal(t, 90, cc.bytes)
	cc.put(key(1, 3), "a3", 50) // drops layer 3, still does not fit: not kept
	assert.False(t, kept(key(1, 3)))
	assert.False(t, kept(key(3, 1)))
	assert.True(t, kept(key(1, 2)))
	assert.Equal(t, 60, cc.bytes)
	// A NaN clamp is never kept (the key is not equal to itself).
	c := grouped
	c.ActMax = float32(math.NaN())
	k := newCaseKey(c, Conv{}, false, 1, 1, 1, 1)
	cc.put(k, "nan", 1)
	assert.False(t, kept(k))
	assert.Equal(t, 60, cc.bytes)
}
