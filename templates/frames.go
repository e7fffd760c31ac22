package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Frames lists the framed variants of a grouped or depthwise kernel whose
// spec row has padding (FrameIn > 0). Each computes one whole output row
// of exactly FrameOut pixels straight from the input and skips every tap
// that falls on the padding: the register tiles holding the row's first
// and last pixels compute only the tap columns inside the row, and a row
// cut by the top or bottom padding only its tap rows inside the image.
// The zero-padded copies and patches (or one-pixel edge kernels) the
// driver would use, and the multiply-adds of zeros (9% of a 3×3 layer's at
// 14×14), are gone, and every pixel still runs in a full register tile.
// Tap rows 0 … KH-1 (a row without top or bottom padding) first, then
// RowLo = 1 … FrameTop, then RowHi = KH-1 down to KH-FrameBottom. The
// driver runs them on the rows of a call whose row matches (FrameOut,
// FrameIn, FramePad); other rows and calls run as before.
func (k Kernel) Frames() []Kernel {
	if !k.framedFamily() || k.FrameIn == 0 || k.FrameOut < 1 || k.RowHi != 0 || k.EdgeHi != 0 {
		return nil
	}
	fs := []Kernel{k.framed(0, k.KH)}
	for lo := 1; lo <= min(k.FrameTop, k.KH-1); lo++ {
		fs = append(fs, k.framed(lo, k.KH))
	}
	for hi := k.KH - 1; hi >= max(k.KH-k.FrameBottom, 1); hi-- {
		fs = append(fs, k.framed(0, hi))
	}
	return fs
}

// framedFamily tells whether the family has framed variants: the
// implicit GEMM with taps (Grouped) and Depthwise.
func (k Kernel) framedFamily() bool { return k.Family == Grouped || k.Family == Depthwise }

func (k Kernel) framed(lo, hi int) Kernel {
	k.RowLo, k.RowHi = lo, hi
	k.Name = fmt.Sprintf("%s_f%d_%d", k.Name, lo, hi)
	k.Width = k.FrameOut
	// The most pixels a tile holds: rowTiles balances them.
	if k.Family == Depthwise {
		k.PixTile = DepthwisePixTile(k)
	} else {
		k.PixTile = GroupedPixTile(k.BlockVec)
	}
	return k
}

// DepthwisePixTile is the most pixels an AVX2 depthwise register tile
// holds: the accumulators, a kernel row of KW weights and the input column
// (and the load mask of a partial vector, or the multiplier's permute
// control) fit 16 YMM; at most 12.
func DepthwisePixTile(k Kernel) int {
	pixels := 15 - k.KW
	if k.PackCout()%Lanes != 0 || k.Multiplier() > 1 {
		pixels--
	}
	return min(pixels, 12)
}

// GroupedPixTile is the most pixels an AVX2 register tile of an implicit
// GEMM (Grouped, Pointwise) holds with vecs vectors per pixel: the
// accumulators, one step's weights and the broadcast input fit 16 YMM.
func GroupedPixTile(vecs int) int {
	return map[int]int{3: 4, 2: 6, 1: 8}[vecs]
}

// Variants lists the kernels emitted beside k: its edge and framed
// variants.
func (k Kernel) Variants() []Kernel { return append(k.Edges(), k.Frames()...) }

// Variants512 lists the kernels emitted beside k's AVX-512 variant: its
// variants and its multi-row frames.
func (k Kernel) Variants512() []Kernel { return append(k.Variants(), k.RowFrames()...) }

// RowFrames lists the multi-row framed variants of a depthwise kernel's
// AVX-512 implementation: one that computes Rows512 whole output rows of
// the spec's width per call, when output rows share input rows (vertical
// stride below the kernel height, no vertical dilation). A register tile
// then holds the same pixels of every row, and each input row is loaded
// once for all the output rows it feeds: three 3×3 stride-2 rows load 7
// input rows where three calls load 9. On Zen 4, where a core reads about
// 30 bytes a cycle from L2, a stride-2 row is bound by its loads (each
// 64-byte line feeds 1.5 FMAs per output row). Rows cut by the top or
// bottom padding run the single-row frames. AVX2 has none: with 16
// registers a tile of three rows would hold three pixels.
func (k Kernel) RowFrames() []Kernel {
	rows := k.Rows512()
	if k.Family != Depthwise || len(k.Frames()) == 0 || rows < 2 {
		return nil
	}
	f := k.framed(0, k.KH)
	f.Rows = rows
	f.Name += fmt.Sprintf("_r%d", rows)
	return []Kernel{f}
}

// Rows512 is the number of output rows a depthwise AVX-512 multi-row
// frame computes (see RowFrames): the most, up to 3, whose register tile
// still holds 6 pixels of each row; 1 (none) when rows share no input row.
func (k Kernel) Rows512() int {
	if k.FrameStrideH < 1 || k.FrameStrideH >= k.KH {
		return 1
	}
	for rows := 3; rows >= 2; rows-- {
		share := min(rows, (k.KH+k.FrameStrideH-1)/k.FrameStrideH)
		if multiRowPixTile(k.KW, share, rows) >= 6 {
			return rows
		}
	}
	return 1
}

// multiRowPixTile is the most pixels of each of rows output rows an
// AVX-512 depthwise tile holds: rows·P accumulators, kw weights for each
// of the share output rows that read one input row, the input column and
// the multiplier's permute control in 32 ZMM.
func multiRowPixTile(kw, share, rows int) int { return min(16, (30-kw*share)/rows) }

// rowUse is one output row r of a register tile reading tap row ky from
// an input row.
type rowUse struct{ r, ky int }

// inputRows lists, for each input row a depthwise tile reads (one
// rowStride apart from src), the output rows and tap rows that read it:
// tap rows RowLo … RowHi-1 of one row, or all the tap rows of Rows output
// rows FrameStrideH input rows apart.
func (k Kernel) inputRows() [][]rowUse {
	var rows [][]rowUse
	if k.Rows <= 1 {
		lo, hi := k.tapRows()
		for ky := lo; ky < hi; ky++ {
			rows = append(rows, []rowUse{{0, ky}})
		}
		return rows
	}
	rows = make([][]rowUse, (k.Rows-1)*k.FrameStrideH+k.KH)
	for r := 0; r < k.Rows; r++ {
		for ky := 0; ky < k.KH; ky++ {
			j := r*k.FrameStrideH + ky
			rows[j] = append(rows[j], rowUse{r, ky})
		}
	}
	return rows
}

// rowShare is the most output rows of a tile that read one input row.
func (k Kernel) rowShare() int {
	n := 0
	for _, uses := range k.inputRows() {
		n = max(n, len(uses))
	}
	return n
}

// tapRows is the range of tap rows the kernel computes.
func (k Kernel) tapRows() (lo, hi int) {
	if k.RowHi == 0 {
		return 0, k.KH
	}
	return k.RowLo, k.RowHi
}

// rowTiles lists the register tiles of a framed row in order: as few as
// hold Width pixels in tiles of at most PixTile, of sizes differing by at
// most one. The pixel loop, which does not know the row's width, ends a
// row in tails of 8, 4, 2 and 1 pixels, whose few FMA chains wait on
// their latency; a framed row has none (27 pixels: 6+6+5+5+5, not
// 5+5+5+5+5+2).
func (k Kernel) rowTiles() []int {
	n := (k.Width + k.PixTile - 1) / k.PixTile
	ts := make([]int, n)
	for i := range ts {
		ts[i] = k.Width / n
		if i < k.Width%n {
			ts[i]++
		}
	}
	return ts
}

// tileCols places the pixels of a register tile for the block emitters:
// pixel p's tap column kx reads input pixel col[p] + kx·DilW from the tap
// row's pointer, and only its columns lo[p] … hi[p]-1 are computed. A nil
// *tileCols is an unframed tile: pixel p at p·StrideW, every column.
type tileCols struct{ col, lo, hi []int }

// at returns the memory operand of pixel p's input at tap column kx, input
// channel ci, from the tap row's pointer t, and whether the tap is
// computed.
func (c *tileCols) at(k Kernel, t reg.GPVirtual, p, kx, ci int) (operand.Mem, bool) {
	col := p * k.StrideW
	if c != nil {
		if kx < c.lo[p] || kx >= c.hi[p] {
			return operand.Mem{}, false
		}
		col = c.col[p]
	}
	return operand.Mem{Base: t, Disp: ((col+kx*k.DilW)*k.Cin + ci) * 4}, true
}

// column tells whether any of the tile's pixels computes tap column kx
// (when none does, its weights are not loaded either).
func (c *tileCols) column(kx int) bool {
	if c == nil {
		return true
	}
	for p := range c.col {
		if kx >= c.lo[p] && kx < c.hi[p] {
			return true
		}
	}
	return false
}

// cut returns the placement of the tile of n pixels from output pixel x0
// of a framed row, relative to input column from (where the source pointer
// is), or nil when every tap of every pixel lies inside the row.
func (k Kernel) cut(x0, n, from int) *tileCols {
	c := &tileCols{}
	whole := true
	for p := 0; p < n; p++ {
		first := (x0+p)*k.StrideW - k.FramePad // tap column 0's input pixel
		lo := min(max(ceilDiv(-first, k.DilW), 0), k.KW)
		hi := 0
		if first < k.FrameIn {
			hi = min((k.FrameIn-1-first)/k.DilW+1, k.KW)
		}
		whole = whole && lo == 0 && hi == k.KW
		c.col = append(c.col, first-from)
		c.lo = append(c.lo, lo)
		c.hi = append(c.hi, hi)
	}
	if whole {
		return nil
	}
	return c
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return -(-a / b)
	}
	return (a + b - 1) / b
}

// framedRow emits a framed variant's walk over its row (see Frames): the
// tiles of rowTiles in order, a run of equal tiles with every tap inside
// the row as one counted loop, each tile with a cut (the first and the
// last, mostly) on its own with its placement. src starts at input column
// 0; it moves to a tile's first tap column before a loop, so that the loop
// body is the unframed tile's.
func (a *avx2) framedRow(k Kernel, dst, src reg.GPVirtual, tile func(pixels int, cols *tileCols)) {
	c := a.c
	tiles := k.rowTiles()
	x, at := 0, 0 // the next output pixel; the input column src points at
	for i := 0; i < len(tiles); {
		n := tiles[i]
		if cols := k.cut(x, n, at); cols != nil {
			c.Comment(fmt.Sprintf("Pixels %d … %d, cut by the padding.", x, x+n-1))
			tile(n, cols)
			c.ADDQ(operand.U32(n*k.Cout*4), dst)
			x += n
			i++
			continue
		}
		j := i + 1
		for j < len(tiles) && tiles[j] == n && k.cut(x+(j-i)*n, n, 0) == nil {
			j++
		}
		if d := x*k.StrideW - k.FramePad - at; d != 0 {
			c.ADDQ(operand.I32(d*k.Cin*4), src)
		}
		a.repeat(j-i, fmt.Sprintf("Pixels %d … %d: %d tile(s) of %d.", x, x+(j-i)*n-1, j-i, n), func() {
			tile(n, nil)
			c.ADDQ(operand.U32(n*k.StrideW*k.Cin*4), src)
			c.ADDQ(operand.U32(n*k.Cout*4), dst)
		})
		x += (j - i) * n
		at = x*k.StrideW - k.FramePad
		i = j
	}
}
