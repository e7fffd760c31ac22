package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	// concurrentInputs distinct inputs per size; workers share them
	// (worker g reads input g mod concurrentInputs), so src is read by
	// several goroutines at once, as when one image feeds many layers.
	concurrentInputs = 4
	// concurrentRounds Forward calls per worker, each at another size, so
	// that calls of different sizes (and scratch needs) run at once.
	concurrentRounds = 3
	// concurrentBudget caps the naive MACs of one call at each size
	// (the race detector slows the Go kernels down a lot).
	concurrentBudget = 2_000_000
	// concurrentTimeout bounds the whole concurrent phase.
	concurrentTimeout = 2 * time.Minute
)

// concurrentSizes: a mid-sized input (interior runs, border patches, pixel
// tails), a batch of two span-sized ones (padded bands) and a larger one,
// dropping those over the budget but keeping at least the cheapest.
func concurrentSizes(c Conv) []Size {
	spanH, spanW := span(c.KH, c.DilationH), span(c.KW, c.DilationW)
	var valid []Size
	seen := map[Size]bool{}
	for _, s := range []Size{{1, spanH + 1, spanW + 3}, {2, spanH, spanW}, {1, 2*spanH + 3, 2*spanW + 5}, {1, 1, 1}, {1, 2, 3}} {
		if oh, ow := c.OutputSize(s.H, s.W); oh >= 1 && ow >= 1 && !seen[s] {
			seen[s] = true
			valid = append(valid, s)
		}
	}
	var sizes []Size
	cheapest := -1
	for i, s := range valid {
		if cheapest < 0 || c.cost(s) < c.cost(valid[cheapest]) {
			cheapest = i
		}
		if c.cost(s) <= concurrentBudget {
			sizes = append(sizes, s)
		}
	}
	if len(sizes) == 0 && cheapest >= 0 {
		sizes = append(sizes, valid[cheapest])
	}
	return sizes
}

// CheckConcurrent runs one layer from at least 8 goroutines at once, each
// calling Forward several times at a few sizes on its own dst (and on a src
// it shares with another goroutine), and requires every result to be
// bit-identical to a serial run of the same input on the same layer, src to
// stay unchanged and every dst element to be written. The serial results
// are first checked against Reference. Run it under -race: the driver's Go
// code and the pure-Go kernels then prove they share no mutable state
// between calls.
func CheckConcurrent(t testing.TB, c Conv, newLayer New) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("%v: invalid Conv: %v", c, err)
	}
	sizes := concurrentSizes(c)
	if len(sizes) == 0 {
		t.Fatalf("%v: no input size gives an output", c)
	}
	rng := rand.New(rand.NewPCG(7, pcgStream))
	_, weights, bias := c.gen(rng, exactData, 1, 1, 1)
	fwd := mustNew(t, newLayer, weights, bias, c.String())

	// inputs[s][j] and the serial results want[s][j].
	inputs := make([][][]float32, len(sizes))
	want := make([][][]float32, len(sizes))
	for si, s := range sizes {
		oh, ow := c.OutputSize(s.H, s.W)
		for j := 0; j < concurrentInputs; j++ {
			src, _, _ := c.gen(rng, exactData, s.N, s.H, s.W)
			at := fmt.Sprintf("%s, input %d, serial run", caseName(c, s.N, s.H, s.W, 7), j)
			dst := canaryFilled(s.N * oh * ow * c.Cout)
			err, p := callForward(fwd, dst, src, s.N, s.H, s.W)
			switch {
			case p != nil:
				t.Fatalf("%s: %s", at, describePanic(p))
			case err != nil:
				t.Fatalf("%s: Forward failed on a valid input: %v", at, err)
			}
			ref, mag := Reference(c, src, weights, bias, s.N, s.H, s.W)
			if c.exactOK() {
				compareExact(t, c, dst, ref, oh, ow, at)
			} else {
				compareTol(t, c, dst, ref, mag, oh, ow, at)
			}
			inputs[si] = append(inputs[si], src)
			want[si] = append(want[si], dst)
		}
	}
	pristine := make([][][]float32, len(inputs))
	for si := range inputs {
		for _, src := range inputs[si] {
			pristine[si] = append(pristine[si], slices.Clone(src))
		}
	}

	workers := min(max(8, 2*runtime.GOMAXPROCS(0)), 16)
	type result struct {
		size, input int
		dst         []float32
		err         error
		panicked    any
	}
	results := make([]result, workers*concurrentRounds) // worker g, round r at g*rounds+r
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := 0; r < concurrentRounds; r++ {
				si, j := (g+r)%len(sizes), g%concurrentInputs
				s := sizes[si]
				oh, ow := c.OutputSize(s.H, s.W)
				dst := canaryFilled(s.N * oh * ow * c.Cout)
				err, p := callForward(fwd, dst, inputs[si][j], s.N, s.H, s.W)
				results[g*concurrentRounds+r] = result{si, j, dst, err, p}
			}
		}()
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(concurrentTimeout):
		t.Fatalf("%v: %d goroutines calling Forward did not finish within %v (deadlock?)", c, workers, concurrentTimeout)
	}

	bad := 0
	for i, res := range results {
		g, r := i/concurrentRounds, i%concurrentRounds
		s := sizes[res.size]
		oh, ow := c.OutputSize(s.H, s.W)
		at := fmt.Sprintf("%v, size n=%d h=%d w=%d, input %d, goroutine %d of %d, call %d", c, s.N, s.H, s.W, res.input, g, workers, r)
		switch {
		case res.panicked != nil:
			t.Errorf("%s: %s", at, describePanic(res.panicked))
			bad++
		case res.err != nil:
			t.Errorf("%s: Forward failed with other goroutines running: %v", at, res.err)
			bad++
		default:
			ref := want[res.size][res.input]
			n, first := 0, -1
			for k := range ref {
				if math.Float32bits(res.dst[k]) != math.Float32bits(ref[k]) {
					if first < 0 {
						first = k
					}
					n++
				}
			}
			if n > 0 {
				t.Errorf("%s: %d of %d outputs differ from the serial run; first at %s: got %v, serial %v",
					at, n, len(ref), pos(c, oh, ow, first), res.dst[first], ref[first])
				bad++
			}
		}
		if bad >= 5 {
			t.Fatalf("%v: stopping after %d failed concurrent calls", c, bad)
		}
	}
	for si := range inputs {
		for j, src := range inputs[si] {
			if !slices.EqualFunc(src, pristine[si][j], func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				s := sizes[si]
				t.Fatalf("%v, size n=%d h=%d w=%d, input %d: src was modified by concurrent Forward calls", c, s.N, s.H, s.W, j)
			}
		}
	}
}

// canaryFilled returns n canaries: an element still holding one was never written.
func canaryFilled(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = canary
	}
	return s
}
