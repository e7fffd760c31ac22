package lanes

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/lanes.png")

func random(r *rand.Rand, s Shape) []float32 {
	w := make([]float32, s.Len())
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	return w
}

func TestGroupedPairIsBlockDiagonal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	s1 := Shape{Cout: 32, CinG: 4, KH: 3, KW: 3, Groups: 4}
	s2 := Shape{Cout: 48, CinG: 8, KH: 3, KW: 3, Groups: 4}
	sq, err := Correlate(random(r, s1), s1, random(r, s2), s2)
	require.NoError(t, err)
	require.Equal(t, 32, sq.Rows)
	require.Equal(t, 48, sq.Cols)
	on, off := sq.BlockMeans(4)
	assert.Less(t, off, 1e-12, "lanes do not mix")
	assert.Greater(t, on, 0.1)
	for i := range sq.Rows {
		for j := range sq.Cols {
			v := sq.At(i, j)
			assert.True(t, v >= 0 && v <= 1+1e-12, "C[%d][%d] = %g", i, j, v)
			if i/8 == j/12 {
				assert.Greater(t, v, 0.0, "every filter pair within a lane is connected")
			} else {
				assert.Zero(t, v)
			}
		}
	}
}

func TestDensePairHasNoBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	s1 := Shape{Cout: 32, CinG: 16, KH: 3, KW: 3, Groups: 1}
	s2 := Shape{Cout: 48, CinG: 32, KH: 3, KW: 3, Groups: 1}
	sq, err := Correlate(random(r, s1), s1, random(r, s2), s2)
	require.NoError(t, err)
	on, off := sq.BlockMeans(4)
	assert.Greater(t, off, 0.1)
	assert.InEpsilon(t, on, off, 0.05, "on-block %g vs off-block %g", on, off)
}

func TestCorrelateErrors(t *testing.T) {
	s1 := Shape{Cout: 8, CinG: 2, KH: 1, KW: 1, Groups: 2}
	s2 := Shape{Cout: 8, CinG: 2, KH: 1, KW: 1, Groups: 2}
	_, err := Correlate(make([]float32, 16), s1, make([]float32, 16), s2)
	assert.ErrorContains(t, err, "layer 2 reads 4 channels (2 per group × 2 groups), layer 1 makes 8")
	_, err = Correlate(make([]float32, 15), s1, make([]float32, 16), s1)
	assert.ErrorContains(t, err, "layer 1: 15 weights, its shape wants 16")
	_, err = Correlate(nil, Shape{Cout: 6, CinG: 1, KH: 1, KW: 1, Groups: 4}, nil, s2)
	assert.ErrorContains(t, err, "layer 1: groups=4 does not divide cout=6")
	// All-zero weights give a black square, not NaN.
	sq, err := Correlate(make([]float32, 16), s1, make([]float32, 32), Shape{Cout: 8, CinG: 4, KH: 1, KW: 1, Groups: 2})
	require.NoError(t, err)
	for _, v := range sq.V {
		assert.Zero(t, v)
	}
	assert.Equal(t, image.Rect(0, 0, 512, 512), sq.Image(512).Bounds())
}

func luminance(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	return 0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)
}

func TestColormapIsMonotonic(t *testing.T) {
	prev := -1.0
	for k := 0; k <= 100; k++ {
		c := colormap(float64(k) / 100)
		l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
		assert.Greater(t, l, prev, "t=%d%%", k)
		prev = l
	}
}

// alexNetPair is the README's picture: AlexNet's conv4 (384→384, G=2) and
// conv5 (384→256, G=2), with random weights.
func alexNetPair(t *testing.T) *Square {
	r := rand.New(rand.NewPCG(2012, 2))
	s1 := Shape{Cout: 384, CinG: 192, KH: 3, KW: 3, Groups: 2}
	s2 := Shape{Cout: 256, CinG: 192, KH: 3, KW: 3, Groups: 2}
	sq, err := Correlate(random(r, s1), s1, random(r, s2), s2)
	require.NoError(t, err)
	return sq
}

// docs/lanes.png is what the pair renders to; go test -run DocsImage -update rewrites it.
func TestDocsImage(t *testing.T) {
	sq := alexNetPair(t)
	img := sq.Image(512)
	assert.Equal(t, image.Rect(0, 0, 341, 512), img.Bounds())
	// Bright in the two diagonal blocks, black outside.
	assert.Greater(t, luminance(img, 50, 50), luminance(img, 300, 50))
	assert.Greater(t, luminance(img, 300, 400), luminance(img, 50, 400))
	assert.Equal(t, colormap(0), img.RGBAAt(300, 50), "off-block is the colormap's bottom")
	on, off := sq.BlockMeans(2)
	assert.Zero(t, off)
	assert.Greater(t, on, 0.0)

	const path = "../../docs/lanes.png"
	if *update {
		var buf bytes.Buffer
		require.NoError(t, png.Encode(&buf, img))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	f, err := os.Open(path)
	require.NoError(t, err, "run go test ./internal/lanes -run DocsImage -update")
	defer f.Close()
	got, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, img.Bounds(), got.Bounds())
	diff := 0
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			if math.Abs(luminance(img, x, y)-luminance(got, x, y)) > 0 {
				diff++
			}
		}
	}
	assert.Zero(t, diff, "docs/lanes.png is out of date: go test ./internal/lanes -run DocsImage -update")
}
