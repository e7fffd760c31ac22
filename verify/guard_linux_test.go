//go:build linux

package verify

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// touch reads s[i] (any i) under SetPanicOnFault and reports a fault.
func touch(s []float32, i int) (faulted bool) {
	_, p := callForward(func(_, _ []float32, _, _, _ int) error {
		sink = *elem(s, i)
		return nil
	}, nil, nil, 0, 0, 0)
	return p != nil
}

func TestGuarded(t *testing.T) {
	for _, n := range []int{0, 1, 3, 1024, 1025, 5000} {
		for _, pl := range placements {
			s, release := Guarded(n, pl)
			require.NotNil(t, s)
			assert.Equal(t, n, len(s))
			assert.Equal(t, n, cap(s))
			for i := range s {
				s[i] = float32(i)
			}
			if pl == AtEnd {
				assert.True(t, touch(s, n), "n=%d: read past the end must fault", n)
				if n%(os.Getpagesize()/4) != 0 { // same page
					assert.False(t, touch(s, -1), "n=%d: the byte before an AtEnd slice is mapped", n)
				}
			} else {
				assert.True(t, touch(s, -1), "n=%d: read before the start must fault", n)
				if n%(os.Getpagesize()/4) != 0 {
					assert.False(t, touch(s, n), "n=%d: the byte after an AtStart slice is mapped", n)
				}
			}
			release()
			release() // idempotent
		}
	}
}

func TestCheckCatchesOutOfBounds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fault
		wants string
	}{
		{"reads past src", readPastEnd, "exact integer data, src and dst guarded AtEnd: Forward read or wrote outside its slices: runtime error: invalid memory address or nil pointer dereference"},
		{"writes past dst", writePastEnd, "guarded AtEnd: Forward read or wrote outside its slices"},
		{"writes before dst", writeBeforeStart, "guarded AtEnd: Forward wrote outside dst: canary before dst clobbered at dst[-1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { Check(tb, grouped, fake(grouped, tc.f), 1, 4, 5, 7) })
			require.True(t, r.Failed())
			assert.Contains(t, r.text(), tc.wants)
			assert.Contains(t, r.text(), "size n=1 h=4 w=5, seed 7")
		})
	}
}
