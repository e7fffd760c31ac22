package templates

import "fmt"

// The Planar family computes NCHW layers (layout "nchw", PyTorch's
// activation layout). Vectors run along the output row, 8 pixels of one
// channel each, instead of over channels: a channel plane is contiguous in
// NCHW, so a tap is one unaligned load of 8 neighbouring inputs. The
// driver hands the kernel input planes whose taps all exist (the image
// itself when nothing is padded, else a zero-padded copy) with the columns
// of a strided layer split into stride phases, so every tap of every stride
// is a unit-stride load.

// planarKernelSignature is the Go signature of every NCHW kernel; the
// driver documents what the arguments mean.
const planarKernelSignature = "func(dst, src, w []float32, count, rowStride, phaseStride, srcPlane, dstPlane, groups int)"

// PlanarVecs is the number of 8-pixel vectors per register tile for a
// block of co output channels: with co ≥ 2, co·V accumulators + V inputs +
// one broadcast weight ≤ 16 YMM; a single channel (depthwise) FMAs straight
// from memory, so only its V accumulators and the weight are live.
func PlanarVecs(co int) int {
	if co == 1 {
		return 8
	}
	return min(8, 15/(co+1))
}

// PlanarChanTile is the number of output channels a Planar register tile
// holds, given the channels per group: 4 (4 channels × 3 vectors, 7 loads
// for 12 FMAs), or the whole group when it is narrower.
func PlanarChanTile(coutG int) int { return min(coutG, 4) }

// ChanBlock is a run of Count equal blocks of Chans output channels.
type ChanBlock struct {
	Chans, Count int
}

// ChanBlocks lists the channel blocks of one Planar group: full blocks of
// ChanTile channels, then the rest as one block. The driver's packPlanar
// follows the same rule.
func (k Kernel) ChanBlocks() []ChanBlock {
	coutG := k.Cout / k.Groups
	var bs []ChanBlock
	if n := coutG / k.ChanTile; n > 0 {
		bs = append(bs, ChanBlock{Chans: k.ChanTile, Count: n})
	}
	if r := coutG % k.ChanTile; r > 0 {
		bs = append(bs, ChanBlock{Chans: r, Count: 1})
	}
	return bs
}

// planarCol returns where tap column kx reads in the phase-split row: the
// stride phase and the column within it.
func (k Kernel) planarCol(kx int) (phase, col int) {
	x := kx * k.DilW
	return x % k.StrideW, x / k.StrideW
}

// checkPlanar asserts what the Planar templates rely on.
func (k Kernel) checkPlanar() error {
	coutG := k.Cout / k.Groups
	switch {
	case k.ChanTile < 1 || k.ChanTile > coutG:
		return fmt.Errorf("%s: channel tile %d outside 1…%d", k.Name, k.ChanTile, coutG)
	case k.PixTile != Lanes*PlanarVecs(k.ChanTile):
		return fmt.Errorf("%s: pixel tile %d, want %d", k.Name, k.PixTile, Lanes*PlanarVecs(k.ChanTile))
	}
	return nil
}

// planarSets is the number of accumulator sets a Planar tile of co
// channels × vecs vectors spreads its taps over: enough for 8 independent
// FMA chains (two FMA units, four cycles of latency), at most 4.
func planarSets(co, vecs int) int {
	sets := 1
	for sets < 4 && 2*sets*co*vecs <= 8 {
		sets *= 2
	}
	return sets
}

// planarLiveVectors is the peak number of YMM values the Planar AVX2
// template keeps live: over every tile it runs (PlanarVecs vectors, the
// 4-, 2- and 1-vector tails, the masked vector), the accumulator sets plus
// one tap's inputs and weight (a single unmasked channel FMAs from memory:
// the weight only), plus the mask.
func (k Kernel) planarLiveVectors() int {
	peak := 0
	for _, b := range k.ChanBlocks() {
		v := PlanarVecs(b.Chans)
		tiles := []int{v}
		for _, n := range []int{4, 2, 1} {
			if n < v {
				tiles = append(tiles, n)
			}
		}
		for i, n := range append(tiles, 0) {
			masked := i == len(tiles)
			if masked {
				n = 1
			}
			step := n + 1
			if b.Chans == 1 && !masked {
				step = 1
			}
			if masked {
				step++
			}
			peak = max(peak, planarSets(b.Chans, n)*b.Chans*n+step)
		}
	}
	return peak
}

// describePlanar is the pseudo-code comment over each Planar kernel.
func (k Kernel) describePlanar() string {
	return fmt.Sprintf(`%s: %s, cin %d, cout %d, groups %d, %dx%d taps, stride_w %d, dilation_w %d, clamp [%v, %v].
Computes count output pixels of one NCHW row in the output planes of groups groups (all when shuffled):
dst[o][x] = clamp(bias[o] + Σ_ci Σ_tap src[ci][tap row][phase][x + col]·w[o][ci][tap]).
Register tile: %d channels × %d pixels.`,
		k.Name, k.Family, k.Cin, k.Cout, k.Groups, k.KH, k.KW, k.StrideW, k.DilW, k.ActMin, k.ActMax,
		k.ChanTile, k.PixTile)
}
