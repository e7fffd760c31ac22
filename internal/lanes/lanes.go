// Package lanes draws the filter-correlation square of two consecutive
// convolution layers: `convgen lanes`.
//
// Grouped convolutions split a network into lanes: with G groups in two
// consecutive layers, the filters of lane g of the second layer read only
// the channels made by lane g of the first. The square shows it: one row per
// filter i of layer 1 (which makes channel i), one column per filter j of
// layer 2, bright where the two are correlated. Grouped pairs give a
// block-diagonal picture with G blocks; dense pairs give no structure.
//
// The correlation, over the channel index c of layer 1's output:
//
//	u_i[c] = |cos(w1_i, w1_c)|             how alike filters i and c of layer 1 are
//	                                       (0 when they are in different groups:
//	                                       they read disjoint input channels)
//	a_j[c] = Σ_taps |w2_j[c][tap]|          how much filter j of layer 2 reads channel c
//	                                       (0 when c is outside j's group)
//	C[i][j] = ⟨u_i, a_j⟩ / (‖u_i‖·‖a_j‖)    in [0, 1]
//
// So filter i and filter j are correlated when j reads the channels of
// filters like i. u_i has u_i[i] = 1, so C[i][j] is at least j's share of
// input weight on channel i; the similarity term spreads it over the
// filters that duplicate i. Both vectors are non-negative, so the
// uncentred correlation (the cosine) is used: channels j does not read
// count as 0, not as below average, and an unrelated pair is exactly 0.
package lanes

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// Shape is an OIHW weight tensor with its groups: Cout filters of
// CinG·KH·KW weights each.
type Shape struct {
	Cout, CinG, KH, KW int
	Groups             int
}

// Len is the number of weights.
func (s Shape) Len() int { return s.Cout * s.CinG * s.KH * s.KW }

// Cin is the number of input channels.
func (s Shape) Cin() int { return s.CinG * s.Groups }

func (s Shape) check(what string) error {
	if s.Cout < 1 || s.CinG < 1 || s.KH < 1 || s.KW < 1 || s.Groups < 1 {
		return fmt.Errorf("%s: shape %d,%d,%d,%d groups %d: every number must be at least 1", what, s.Cout, s.CinG, s.KH, s.KW, s.Groups)
	}
	if s.Cout%s.Groups != 0 {
		return fmt.Errorf("%s: groups=%d does not divide cout=%d", what, s.Groups, s.Cout)
	}
	return nil
}

// Square is the correlation square: Rows filters of layer 1 by Cols filters
// of layer 2, row-major.
type Square struct {
	Rows, Cols int
	V          []float64
	Groups     int // layer 2's groups: the lanes the blocks are counted in
}

// At is C[i][j].
func (s *Square) At(i, j int) float64 { return s.V[i*s.Cols+j] }

// Correlate computes the square of layer 1 (w1, s1) followed by layer 2
// (w2, s2); layer 2 must read layer 1's output: s2.Cin() == s1.Cout.
func Correlate(w1 []float32, s1 Shape, w2 []float32, s2 Shape) (*Square, error) {
	if err := errors.Join(s1.check("layer 1"), s2.check("layer 2")); err != nil {
		return nil, err
	}
	if len(w1) != s1.Len() {
		return nil, fmt.Errorf("layer 1: %d weights, its shape wants %d", len(w1), s1.Len())
	}
	if len(w2) != s2.Len() {
		return nil, fmt.Errorf("layer 2: %d weights, its shape wants %d", len(w2), s2.Len())
	}
	if s2.Cin() != s1.Cout {
		return nil, fmt.Errorf("layer 2 reads %d channels (%d per group × %d groups), layer 1 makes %d: they are not consecutive",
			s2.Cin(), s2.CinG, s2.Groups, s1.Cout)
	}
	n, m := s1.Cout, s2.Cout

	// u[i] is stored only over i's own group of layer 1 (it is 0 elsewhere):
	// u[i][k] is for channel g1·per1 + k.
	per1 := s1.Cout / s1.Groups
	d1 := s1.CinG * s1.KH * s1.KW
	norm1 := make([]float64, n)
	for i := range n {
		norm1[i] = norm(w1[i*d1 : (i+1)*d1])
	}
	u := make([][]float64, n)
	for i := range n {
		u[i] = make([]float64, per1)
	}
	for g := range s1.Groups {
		for a := range per1 {
			i := g*per1 + a
			for b := a; b < per1; b++ {
				c := g*per1 + b
				var v float64
				if norm1[i] > 0 && norm1[c] > 0 {
					v = math.Abs(dot(w1[i*d1:(i+1)*d1], w1[c*d1:(c+1)*d1])) / (norm1[i] * norm1[c])
				}
				u[i][b], u[c][a] = v, v
			}
		}
	}

	// a[j] is stored over j's group of layer 2's inputs: a[j][k] is for
	// channel g2·CinG2 + k.
	taps := s2.KH * s2.KW
	per2 := s2.Cout / s2.Groups
	a := make([][]float64, m)
	for j := range m {
		a[j] = make([]float64, s2.CinG)
		for k := range s2.CinG {
			for _, x := range w2[(j*s2.CinG+k)*taps:][:taps] {
				a[j][k] += math.Abs(float64(x))
			}
		}
	}

	normA := make([]float64, m)
	for j := range m {
		normA[j] = norm(a[j])
	}
	sq := &Square{Rows: n, Cols: m, V: make([]float64, n*m), Groups: s2.Groups}
	for i := range n {
		ui := u[i]
		lo1 := i / per1 * per1
		nu := norm(ui)
		for j := range m {
			lo2 := j / per2 * s2.CinG
			// The channels both vectors can be non-zero on.
			lo, hi := max(lo1, lo2), min(lo1+per1, lo2+s2.CinG)
			var v float64
			for c := lo; c < hi; c++ {
				v += ui[c-lo1] * a[j][c-lo2]
			}
			if v > 0 {
				v /= nu * normA[j] // both > 0 when v is
			}
			sq.V[i*m+j] = v
		}
	}
	return sq, nil
}

func dot[T float32 | float64](x, y []T) float64 {
	var s float64
	for k := range x {
		s += float64(x[k]) * float64(y[k])
	}
	return s
}

func norm[T float32 | float64](x []T) float64 { return math.Sqrt(dot(x, x)) }

// BlockMeans is the mean of the square on the G diagonal blocks (row i and
// column j in the same lane of layer 2: i in the g-th G-th of the rows, j in
// the g-th G-th of the columns) and off them. A grouped pair has off ≈ 0; a
// dense pair (or groups = 1) has on ≈ off.
func (s *Square) BlockMeans(groups int) (on, off float64) {
	var nOn, nOff int
	for i := range s.Rows {
		bi := i * groups / s.Rows
		for j := range s.Cols {
			if j*groups/s.Cols == bi {
				on += s.At(i, j)
				nOn++
			} else {
				off += s.At(i, j)
				nOff++
			}
		}
	}
	if nOn > 0 {
		on /= float64(nOn)
	}
	if nOff > 0 {
		off /= float64(nOff)
	}
	return on, off
}

// Image renders the square with the long side about size pixels (never
// below one pixel per cell): rows are layer 1's filters top to bottom,
// columns layer 2's left to right, brightness the correlation scaled to the
// largest one, in a dark-to-bright colormap.
func (s *Square) Image(size int) *image.RGBA {
	scale := max(1, float64(size)/float64(max(s.Rows, s.Cols)))
	w, h := int(math.Round(float64(s.Cols)*scale)), int(math.Round(float64(s.Rows)*scale))
	peak := 0.0
	for _, v := range s.V {
		peak = max(peak, v)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		i := min(y*s.Rows/h, s.Rows-1)
		for x := range w {
			j := min(x*s.Cols/w, s.Cols-1)
			t := 0.0
			if peak > 0 {
				t = s.At(i, j) / peak
			}
			img.SetRGBA(x, y, colormap(t))
		}
	}
	return img
}

// WritePNG writes Image(size) as a PNG.
func (s *Square) WritePNG(w io.Writer, size int) error {
	return png.Encode(w, s.Image(size))
}

// stops approximate the "inferno" colormap: black through purple and orange
// to pale yellow, monotonic in lightness so bright means high.
var stops = []color.RGBA{
	{0, 0, 4, 255},
	{87, 16, 110, 255},
	{188, 55, 84, 255},
	{249, 142, 9, 255},
	{252, 255, 164, 255},
}

func colormap(t float64) color.RGBA {
	t = min(max(t, 0), 1) * float64(len(stops)-1)
	k := min(int(t), len(stops)-2)
	f := t - float64(k)
	a, b := stops[k], stops[k+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + f*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}
