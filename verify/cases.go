package verify

import (
	"math"
	"math/rand/v2"
	"sync"
)

// A layer's generated test sweeps the same sizes with the same seeds once
// per kernel path and once per way of running it (Forward, ForwardParallel,
// the row walks, the channel ranges), and Check and CheckBlock draw a case's
// inputs from nothing but its Conv(s), size and seed. So the inputs and the
// float64 reference of a case were the same every time, and computing them
// again was most of the test time (Reference alone half of it). The case
// data is now computed once, by pure functions of the case, and kept in a
// cache: every comparison, guard and canary still runs on every call.

// caseKey names a case: the Conv (dw and pw for a fused block), the size
// and the seed. The clamp bounds are keyed by their bits as well, so -0
// and +0 are different cases (a NaN bound is never found: no caching).
type caseKey struct {
	c, pw   Conv
	block   bool
	actBits [4]uint32
	n, h, w int
	seed    int64
}

func newCaseKey(c, pw Conv, block bool, n, h, w int, seed int64) caseKey {
	return caseKey{c: c, pw: pw, block: block,
		actBits: [4]uint32{math.Float32bits(c.ActMin), math.Float32bits(c.ActMax), math.Float32bits(pw.ActMin), math.Float32bits(pw.ActMax)},
		n:       n, h: h, w: w, seed: seed}
}

// layerCase is one data kind of a Check case: its inputs and reference.
// Nothing changes them once made: New gets copies of the weights and
// Forward a copy of src in guarded memory.
type layerCase struct {
	kind               dataKind
	skip               bool // the exact comparison cannot be exact (exactOK)
	src, weights, bias []float32
	ref, mag           []float64
}

// layerCases is the data of the Check case (c, n, h, w, seed), both kinds in
// order; the output must be non-empty. It is what Check drew and computed
// inline before: one PCG stream from the seed, the exact data first.
func layerCases(c Conv, n, h, w int, seed int64) []layerCase {
	key := newCaseKey(c, Conv{}, false, n, h, w, seed)
	if v, ok := cases.get(key); ok {
		return v.([]layerCase)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	var out []layerCase
	size := 0
	for _, kind := range []dataKind{exactData, randomData} {
		if kind == exactData && !c.exactOK() {
			out = append(out, layerCase{kind: kind, skip: true})
			continue
		}
		lc := layerCase{kind: kind}
		lc.src, lc.weights, lc.bias = c.gen(rng, kind, n, h, w)
		lc.ref, lc.mag = Reference(c, lc.src, lc.weights, lc.bias, n, h, w)
		if kind == exactData {
			lc.mag = nil // compareExact does not use it
		}
		size += 4*(len(lc.src)+len(lc.weights)+len(lc.bias)) + 8*(len(lc.ref)+len(lc.mag))
		out = append(out, lc)
	}
	cases.put(key, out, size)
	return out
}

// blockCase is one data kind of a CheckBlock case: both layers' inputs,
// the reference of the two layers in sequence, and the depthwise error
// propagated through the pointwise layer (prop).
type blockCase struct {
	kind                dataKind
	skip                bool // the intermediate values are too large for an exact comparison
	src, w1, b1, w2, b2 []float32
	ref, mag, prop      []float64
}

// blockCases is the data of the CheckBlock case (dw, pw, n, h, w, seed),
// both kinds in order; the output must be non-empty.
func blockCases(dw, pw Conv, n, h, w int, seed int64) []blockCase {
	key := newCaseKey(dw, pw, true, n, h, w, seed)
	if v, ok := cases.get(key); ok {
		return v.([]blockCase)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	oh, ow := dw.OutputSize(h, w)
	var out []blockCase
	size := 0
	for _, kind := range []dataKind{exactData, randomData} {
		bc := blockCase{kind: kind}
		bc.src, bc.w1, bc.b1 = dw.gen(rng, kind, n, h, w)
		_, bc.w2, bc.b2 = pw.gen(rng, kind, 0, 0, 0)
		size += 4 * (len(bc.src) + len(bc.w1) + len(bc.b1) + len(bc.w2) + len(bc.b2))
		mid, magMid := Reference(dw, bc.src, bc.w1, bc.b1, n, h, w)
		mid32 := make([]float32, len(mid))
		errMid := make([]float32, len(mid))
		midMax := 0.0
		for i, v := range mid {
			mid32[i] = float32(v)
			errMid[i] = float32(Tolerance(dw, magMid[i]) + 0x1p-24*math.Abs(v))
			midMax = max(midMax, math.Abs(v))
		}
		if kind == exactData && midMax*3*float64(pw.Cin/pw.Groups)+8 > 1<<24 {
			bc.skip = true
			out = append(out, bc)
			continue
		}
		bc.ref, bc.mag = Reference(pw, mid32, bc.w2, bc.b2, n, oh, ow)
		if kind == exactData {
			bc.mag = nil // compareExact does not use it
			size += 8 * len(bc.ref)
			out = append(out, bc)
			continue
		}
		// Σ|w_pw|·e_dw per output: the pointwise layer applied to the
		// depthwise error bound with |weights|, no bias, no clamp.
		abs := pw
		abs.Bias, abs.ActMin, abs.ActMax = false, float32(math.Inf(-1)), float32(math.Inf(1))
		absW := make([]float32, len(bc.w2))
		for i, v := range bc.w2 {
			absW[i] = float32(math.Abs(float64(v)))
		}
		bc.prop, _ = Reference(abs, errMid, absW, nil, n, oh, ow)
		size += 8 * (len(bc.ref) + len(bc.mag) + len(bc.prop))
		out = append(out, bc)
	}
	cases.put(key, out, size)
	return out
}

// caseCacheBytes bounds the data kept. A layer's sweep is at most
// sweepBudget naive MACs, up to a few million outputs for a 3×3 depthwise
// layer (9 MACs each), over 100 MB of cases; most layers' fit in a few MB.
// The least recently used other layers are dropped to make room; a case
// that still does not fit is computed and not kept, so a big layer keeps
// its first (required, small) sizes. On MobileNet v1's tests 64 MB saves
// 95% of what an unbounded cache saves (16 MB: 65%) at a third of its
// memory (peak RSS 250 MB against 760 MB).
const caseCacheBytes = 64 << 20

// caseCache holds case data by case, grouped by layer (the Conv(s)), up
// to limit bytes.
type caseCache struct {
	limit  int
	mu     sync.Mutex
	layers map[caseKey]*cachedLayer // key with size and seed zeroed
	bytes  int
	clock  uint64
}

type cachedLayer struct {
	cases    map[caseKey]any
	bytes    int
	lastUsed uint64
}

var cases = newCaseCache(caseCacheBytes)

func newCaseCache(limit int) *caseCache {
	return &caseCache{limit: limit, layers: map[caseKey]*cachedLayer{}}
}

func layerOf(k caseKey) caseKey {
	k.n, k.h, k.w, k.seed = 0, 0, 0, 0
	return k
}

func (cc *caseCache) get(k caseKey) (any, bool) {
	if k != k { // a NaN field
		return nil, false
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	l := cc.layers[layerOf(k)]
	if l == nil {
		return nil, false
	}
	cc.clock++
	l.lastUsed = cc.clock
	v, ok := l.cases[k]
	return v, ok
}

func (cc *caseCache) put(k caseKey, v any, size int) {
	if k != k {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	lk := layerOf(k)
	l := cc.layers[lk]
	if l == nil {
		l = &cachedLayer{cases: map[caseKey]any{}}
		cc.layers[lk] = l
	}
	cc.clock++
	l.lastUsed = cc.clock
	if _, ok := l.cases[k]; ok {
		return
	}
	// Drop other layers, least recently used first, to make room.
	for cc.bytes+size > cc.limit {
		var oldest caseKey
		var victim *cachedLayer
		for key, o := range cc.layers {
			if o != l && (victim == nil || o.lastUsed < victim.lastUsed) {
				oldest, victim = key, o
			}
		}
		if victim == nil {
			break
		}
		cc.bytes -= victim.bytes
		delete(cc.layers, oldest)
	}
	if cc.bytes+size > cc.limit {
		return
	}
	l.cases[k] = v
	l.bytes += size
	cc.bytes += size
}
