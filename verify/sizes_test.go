package verify

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func sweepMACs(c Conv, sizes []Size) int {
	total := 0
	for _, s := range sizes {
		total += c.cost(s)
	}
	return total
}

// checkRequired asserts the sizes every sweep must keep.
func checkRequired(t *testing.T, c Conv, sizes []Size) {
	t.Helper()
	seen := map[Size]bool{}
	tails := map[int]bool{}
	odd, batch2 := false, false
	for _, s := range sizes {
		assert.False(t, seen[s], "duplicate %v", s)
		seen[s] = true
		oh, ow := c.OutputSize(s.H, s.W)
		if oh <= 0 || ow <= 0 {
			continue
		}
		tails[ow%8] = true
		odd = odd || (oh%2 == 1 && ow%2 == 1 && oh > 1 && ow > 1)
		batch2 = batch2 || s.N == 2
	}
	if oh, ow := c.OutputSize(1, 1); oh > 0 && ow > 0 {
		assert.True(t, seen[Size{1, 1, 1}], "1x1 missing")
	}
	for r := 1; r < 8; r++ {
		assert.True(t, tails[r], "no output width = %d mod 8", r)
	}
	assert.True(t, odd, "no odd output size")
	assert.True(t, batch2, "no batch of 2")
	ah, aw := c.axes()
	assert.True(t, seen[Size{1, c.minValid(ah), c.minValid(aw)}], "smallest valid size missing")
}

func TestSizesHeavy(t *testing.T) {
	c := conv(1024, 1024, 1, 1, 1)
	sizes := Sizes(c)
	assert.LessOrEqual(t, sweepMACs(c, sizes), sweepBudget)
	checkRequired(t, c, sizes)
	assert.Equal(t, sizes, Sizes(c), "deterministic")
}

func TestSizesLight(t *testing.T) {
	c := conv(16, 16, 3, 3, 1)
	c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 1, 1, 1
	sizes := Sizes(c)
	assert.LessOrEqual(t, sweepMACs(c, sizes), sweepBudget)
	checkRequired(t, c, sizes)
	assert.Contains(t, sizes, Size{1, 23, 19}, "light layers keep the big size")
	assert.Contains(t, sizes, Size{1, 2, 2}, "span-1, valid thanks to padding")
	assert.Contains(t, sizes, Size{1, 15, 11})
	for _, ow := range []int{8, 9, 13, 17} {
		assert.Contains(t, sizes, Size{1, 3, ow}, "tail ow=%d at h = span", ow)
	}
}

func TestSizesIncludeInvalid(t *testing.T) {
	c := conv(4, 4, 3, 3, 1)
	c.StrideH, c.StrideW = 2, 2
	sizes := Sizes(c)
	invalid := 0
	for _, s := range sizes {
		if oh, ow := c.OutputSize(s.H, s.W); oh <= 0 || ow <= 0 {
			invalid++
		}
	}
	assert.Positive(t, invalid)
	assert.Contains(t, sizes, Size{1, 2, 2}, "span-1 without padding")
	assert.Contains(t, sizes, Size{1, 3, 3})
	assert.Contains(t, sizes, Size{1, 7, 7}, "2*stride+span")
	checkRequired(t, c, sizes)
}

func TestSizesSamePadAndBudgets(t *testing.T) {
	for _, c := range append(sweepConvs,
		conv(512, 512, 3, 3, 1), conv(256, 256, 3, 3, 1), conv(96, 96, 7, 7, 96)) {
		sizes := Sizes(c)
		checkRequired(t, c, sizes)
		// Heavy layers may exceed the budget only through required sizes.
		if sweepMACs(c, sizes) > sweepBudget {
			assert.Greater(t, c.macsPerPixel(), sweepBudget/64, "%v", c)
		}
	}
}
