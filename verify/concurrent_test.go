package verify

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckConcurrentPassesCorrectLayer(t *testing.T) {
	for _, c := range sweepConvs {
		t.Run(fmt.Sprintf("%dx%d_g%d", c.KH, c.KW, c.Groups), func(t *testing.T) {
			CheckConcurrent(t, c, fake(c, correct))
		})
	}
}

// crowded is a layer that is right alone and wrong in company: while
// another call is in flight its first output is off by one. It uses only
// atomics, so it is broken without a data race (the race detector would
// not see it; CheckConcurrent must).
func crowded(c Conv, failWithError bool) New {
	var inFlight atomic.Int32
	return wrap(c, fake(c, correct), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		time.Sleep(2 * time.Millisecond) // let the others in
		crowd := inFlight.Load() > 1
		if crowd && failWithError {
			return errors.New("busy")
		}
		if err := fwd(dst, src, n, h, w); err != nil {
			return err
		}
		if crowd {
			dst[0]++
		}
		return nil
	})
}

func TestCheckConcurrentDetectsBrokenLayers(t *testing.T) {
	c := grouped
	for _, tc := range []struct {
		name  string
		layer New
		wants []string
	}{
		{"wrong under concurrency", crowded(c, false), []string{"outputs differ from the serial run; first at (n=0, oy=0, ox=0, c=0)", "goroutine "}},
		{"fails under concurrency", crowded(c, true), []string{"Forward failed with other goroutines running: busy"}},
		{"wrong even alone", fake(c, wrongLast), []string{"serial run: 1 of "}},
		{"misses an output", fake(c, skipLast), []string{"serial run: 1 of", "outputs differ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { CheckConcurrent(tb, c, tc.layer) })
			require.True(t, r.Failed(), "CheckConcurrent passed a broken layer")
			for _, w := range tc.wants {
				assert.Contains(t, r.text(), w)
			}
		})
	}
}

func TestConcurrentSizesStayWithinBudget(t *testing.T) {
	big := Conv{Cin: 320, Cout: 1280, KH: 1, KW: 1, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		ActMin: ninf, ActMax: inf}
	sizes := concurrentSizes(big)
	require.NotEmpty(t, sizes)
	for _, s := range sizes {
		assert.LessOrEqual(t, big.cost(s), concurrentBudget, "%+v", s)
	}
	huge := Conv{Cin: 4096, Cout: 4096, KH: 3, KW: 3, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		ActMin: ninf, ActMax: inf}
	assert.Len(t, concurrentSizes(huge), 1, "at least the cheapest size is kept")
	assert.GreaterOrEqual(t, len(concurrentSizes(grouped)), 3)
}
