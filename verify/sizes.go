package verify

import "sort"

// Size is one batch × height × width input shape.
type Size struct{ N, H, W int }

// sweepBudget caps the naive MACs summed over Sizes (the reference runs twice
// per size, so this keeps a layer's sweep well under a second). Required
// sizes are kept even if they alone exceed it.
const sweepBudget = 40_000_000

// axis is one spatial dimension of a Conv, for size searches.
type axis struct{ k, s, d, before, after int }

func (c Conv) axes() (h, w axis) {
	return axis{c.KH, c.StrideH, c.DilationH, c.PadTop, c.PadBottom},
		axis{c.KW, c.StrideW, c.DilationW, c.PadLeft, c.PadRight}
}

func (c Conv) out(a axis, in int) int {
	if c.SamePad {
		b, e := samePads(in, a.k, a.s, a.d)
		return outDim(in, a.k, a.s, a.d, b, e)
	}
	return outDim(in, a.k, a.s, a.d, a.before, a.after)
}

// inputFor is the smallest input giving exactly `target` outputs along a, or
// 0 if none does (padding can make even a 1-pixel input produce more).
// Outputs grow by at most one per input pixel, so the search is exhaustive.
func (c Conv) inputFor(a axis, target int) int {
	for in := 1; in <= target*a.s+span(a.k, a.d); in++ {
		if o := c.out(a, in); o == target {
			return in
		} else if o > target {
			return 0
		}
	}
	return 0
}

// minValid is the smallest input with at least one output along a.
func (c Conv) minValid(a axis) int {
	for in := 1; ; in++ {
		if c.out(a, in) >= 1 {
			return in
		}
	}
}

func (c Conv) cost(s Size) int { return c.costPer(s, c.macsPerPixel()) }

// costPer is the MACs of size s when each output pixel costs perPixel.
func (c Conv) costPer(s Size, perPixel int) int {
	oh, ow := c.OutputSize(s.H, s.W)
	if oh <= 0 || ow <= 0 {
		return 0
	}
	return s.N * oh * ow * perPixel
}

// Sizes is the edge sweep for c, in a deterministic order: 1×1, the smallest
// valid size, output widths covering every tail of row tiles up to 8, an
// odd×odd output, batch 2; then (dropped largest-first when the layer is
// heavy) sizes around the kernel span (span-1 is too small unless padded,
// so invalid sizes appear too), more tails, odd sizes and one big size.
func Sizes(c Conv) []Size { return c.sizes(c.macsPerPixel()) }

// sizes is Sizes for a layer whose output pixels cost perPixel MACs each
// (a fused block adds its second layer's).
func (c Conv) sizes(perPixel int) []Size {
	ah, aw := c.axes()
	spanH, spanW := span(c.KH, c.DilationH), span(c.KW, c.DilationW)
	minH, minW := c.minValid(ah), c.minValid(aw)

	type cand struct {
		Size
		required bool
	}
	var cands []cand
	add := func(req bool, n, h, w int) {
		if n >= 1 && h >= 1 && w >= 1 {
			cands = append(cands, cand{Size{n, h, w}, req})
		}
	}

	// Required.
	add(true, 1, 1, 1)
	add(true, 1, minH, minW)
	// Tails ow mod 8 = 1..7 at the cheapest valid height; ow = 3 comes
	// from the odd case below, which also gives a multi-row output.
	for _, ow := range []int{1, 2, 4, 5, 6, 7} {
		add(true, 1, minH, c.inputFor(aw, ow))
	}
	oddH, oddW := c.inputFor(ah, 3), c.inputFor(aw, 3)
	if oddH == 0 || oddW == 0 { // padding too large to get exactly 3
		oddH, oddW = 2*spanH+1, 2*spanW+1
	}
	add(true, 1, oddH, oddW)
	add(true, 2, minH, minW)
	if c.NCHW {
		// NCHW kernels tile the row by up to 64 pixels, then 32, 16 and 8,
		// then the last 1–7 masked: these widths reach each tail after
		// tiles of 24, 40 and 64 pixels, and the main loop twice.
		for _, ow := range []int{55, 103, 127, 135} {
			add(true, 1, minH, c.inputFor(aw, ow))
		}
	}

	// Optional, around the span.
	odd := func(v int) int { return v | 1 }
	add(false, 1, spanH-1, spanW-1)
	add(false, 1, spanH, spanW)
	add(false, 1, spanH+1, spanW+1)
	add(false, 1, odd(2*c.StrideH+spanH), odd(2*c.StrideW+spanW))
	add(false, 1, 1, spanW)
	add(false, 1, spanH, 1)
	add(false, 1, spanH-1, spanW)
	for _, ow := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17} {
		add(false, 1, spanH, c.inputFor(aw, ow))
	}
	add(false, 1, 7, 7)
	add(false, 1, 11, 15)
	add(false, 1, 15, 11)
	add(false, 2, spanH, spanW)
	add(false, 2, 7, 11)
	add(false, 1, 23, 19)

	// Dedupe keeping the first position; required wins.
	index := map[Size]int{}
	var uniq []cand
	for _, cd := range cands {
		if i, ok := index[cd.Size]; ok {
			uniq[i].required = uniq[i].required || cd.required
			continue
		}
		index[cd.Size] = len(uniq)
		uniq = append(uniq, cd)
	}

	// Drop optional sizes, most expensive (then latest) first, to the budget.
	total := 0
	for _, cd := range uniq {
		total += c.costPer(cd.Size, perPixel)
	}
	order := make([]int, len(uniq))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ca, cb := c.costPer(uniq[order[a]].Size, perPixel), c.costPer(uniq[order[b]].Size, perPixel)
		if ca != cb {
			return ca > cb
		}
		return order[a] > order[b]
	})
	drop := make([]bool, len(uniq))
	for _, i := range order {
		if total <= sweepBudget {
			break
		}
		if !uniq[i].required && c.costPer(uniq[i].Size, perPixel) > 0 {
			drop[i] = true
			total -= c.costPer(uniq[i].Size, perPixel)
		}
	}
	var sizes []Size
	for i, cd := range uniq {
		if !drop[i] {
			sizes = append(sizes, cd.Size)
		}
	}
	return sizes
}
