package gen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/convgen/convgen/templates"
)

// layoutSpec is a spec whose second layer, "b", has the given extra
// members (the first layer is there so that the index shown is 2).
func layoutSpec(members string) []byte {
	return []byte(`{"layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "b", "cin": 8, "cout": 8, "k": 3` + members + `}]}`)
}

// TestLayoutField: "layout" is "nhwc" (the default) or "nchw" in both
// forms; left out it is NHWC.
func TestLayoutField(t *testing.T) {
	for members, want := range map[string]bool{``: false, `, "layout": "nhwc"`: false, `, "layout": "nchw"`: true} {
		s, err := ParseSpec("layers.json", layoutSpec(members))
		require.NoError(t, err, members)
		assert.False(t, s.Layers[0].NCHW, members)
		assert.Equal(t, want, s.Layers[1].NCHW, members)
	}
	for arg, want := range map[string]bool{"b:cin=8,cout=8,k=3": false, "b:cin=8,cout=8,k=3,layout=nhwc": false, "b:layout=nchw,cin=8,cout=8,k=3": true} {
		l, err := ParseInlineLayer(arg, 2)
		require.NoError(t, err, arg)
		assert.Equal(t, want, l.NCHW, arg)
	}
	// The escape is decoded like any JSON string.
	s, err := ParseSpec("layers.json", layoutSpec(`, "layout": "nch\u0077"`))
	require.NoError(t, err)
	assert.True(t, s.Layers[1].NCHW)
}

// TestLayoutErrors: a bad layout is one line naming the source, the
// layer's 1-based index and name, and the field; it causes no follow-on
// error, and the layer's other problems are still reported.
func TestLayoutErrors(t *testing.T) {
	const want = `layers.json: layer 2 "b": layout: want "nhwc" or "nchw", got `
	for _, c := range []struct{ value, got string }{
		{`"NCHW"`, `"NCHW"`},
		{`"NHWC"`, `"NHWC"`},
		{`3`, `3`},
		{`"chw"`, `"chw"`},
		{`""`, `""`},
		{`"nchw "`, `"nchw "`},
		{`null`, `null`},
		{`true`, `true`},
		{`["nchw"]`, `["nchw"]`},
		{`{"layout": "nchw"}`, `{"layout":"nchw"}`},
	} {
		s, err := ParseSpec("layers.json", layoutSpec(`, "layout": `+c.value))
		assert.Nil(t, s)
		assert.EqualError(t, err, want+c.got, c.value)
	}

	for _, c := range []struct{ spec, want string }{
		{`{"layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"cin": 8, "cout": 8, "k": 3, "layout": 7}]}`,
			`layers.json: layer 2: layout: want "nhwc" or "nchw", got 7` + "\n" + `layers.json: layer 2: name is required`},
		{string(layoutSpec(`, "layout": "nchw", "layout": "nhwc"`)), `layers.json: layer 2 "b": duplicate field "layout"`},
		{`{"layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "b", "cin": 0, "cout": 8, "k": 3, "layout": "x", "stride": "y"}]}`,
			`layers.json: layer 2 "b": stride: want an int or [h, w], got "y"` + "\n" +
				`layers.json: layer 2 "b": layout: want "nhwc" or "nchw", got "x"` + "\n" +
				`layers.json: layer 2 "b": cin=0: channel count must be between 1 and 4096`},
	} {
		_, err := ParseSpec("layers.json", []byte(c.spec))
		assert.EqualError(t, err, c.want, c.spec)
	}

	for _, c := range []struct{ arg, want string }{
		{"b:cin=8,cout=8,k=3,layout=chw", `-layer 3: layer "b": layout: want "nhwc" or "nchw", got "chw"`},
		{"b:cin=8,cout=8,k=3,layout=NCHW", `-layer 3: layer "b": layout: want "nhwc" or "nchw", got "NCHW"`},
		{"b:cin=8,cout=8,k=3,layout=", `-layer 3: layer "b": layout: want "nhwc" or "nchw", got ""`},
		{"b:cin=8,cout=8,k=3,layout=nchw,layout=nhwc", `-layer 3: layer "b": key "layout" is given twice`},
		{"b:cin=0,cout=8,k=3,layout=3", `-layer 3: layer "b": layout: want "nhwc" or "nchw", got "3"` + "\n" +
			`-layer 3: layer "b": cin=0: channel count must be between 1 and 4096`},
		{"b:cin=8,cout=8,k=3,Layout=nchw", `-layer 3: layer "b": unknown key "Layout"`},
	} {
		l, err := ParseInlineLayer(c.arg, 3)
		assert.Equal(t, Layer{}, l, c.arg)
		assert.EqualError(t, err, c.want, c.arg)
	}
}

// TestLayoutLongValueShortened: like every other JSON value in a message
// (act, pad, bias, ...), a long layout string is cut at 40 characters.
func TestLayoutLongValueShortened(t *testing.T) {
	long := strings.Repeat("x", 100)
	_, err := ParseSpec("layers.json", layoutSpec(`, "layout": "`+long+`"`))
	require.Error(t, err)
	_, actErr := ParseSpec("layers.json", layoutSpec(`, "act": "`+long+`"`))
	require.Error(t, actErr)
	require.True(t, strings.HasSuffix(actErr.Error(), `got "`+strings.Repeat("x", 36)+"..."), actErr.Error())
	want := `layers.json: layer 2 "b": layout: want "nhwc" or "nchw", got "` + strings.Repeat("x", 36) + "..."
	assert.EqualError(t, err, want)
}

// TestFormatSpecLayout: FormatSpec writes "layout": "nchw" for NCHW layers
// only (NHWC is the default) and ParseSpec reads the same layers back.
func TestFormatSpecLayout(t *testing.T) {
	s, err := ParseSpec("l.json", []byte(`{"package": "k", "layers": [
		{"name": "a", "cin": 8, "cout": 16, "k": 3, "pad": 1, "layout": "nchw"},
		{"name": "b", "cin": 16, "cout": 16, "k": 3, "groups": 16, "stride": 2, "layout": "nhwc"},
		{"name": "c", "cin": 16, "cout": 12, "k": [1, 3], "groups": 4, "pad": "same", "act": {"min": -1}, "shuffle": 3, "input": [9, 7], "layout": "nchw"},
		{"name": "d", "cin": 12, "cout": 12, "k": 1}]}`))
	require.NoError(t, err)
	out := FormatSpec(s)
	assert.Equal(t, 2, strings.Count(string(out), `"layout": "nchw"`), string(out))
	assert.NotContains(t, string(out), "nhwc")
	lines := strings.Split(string(out), "\n")
	require.Len(t, lines, 8, string(out))
	assert.Contains(t, lines[2], `"name": "a"`)
	assert.Contains(t, lines[2], `"layout": "nchw"`)
	assert.Contains(t, lines[4], `"name": "c"`)
	assert.Contains(t, lines[4], `"layout": "nchw"`)
	back, err := ParseSpec("l.json", out)
	require.NoError(t, err, string(out))
	assert.Equal(t, s, back)
	assert.Equal(t, out, FormatSpec(back))
}

// TestBlockRefusesNCHW: a fused block runs NHWC rows, so a block naming an
// NCHW layer is refused with the block and the layer named.
func TestBlockRefusesNCHW(t *testing.T) {
	layers := func(dwLayout, pwLayout string) string {
		return `"layers": [
 {"name": "dw", "cin": 16, "cout": 16, "k": 3, "groups": 16, "pad": 1, "layout": "` + dwLayout + `"},
 {"name": "pw", "cin": 16, "cout": 24, "k": 1, "layout": "` + pwLayout + `"}]`
	}
	const block = `, "blocks": [{"name": "sep", "depthwise": "dw", "pointwise": "pw"}]}`
	const dwErr = `b.json: block 1 "sep": depthwise "dw": layout "nchw": fused blocks are NHWC only (the row buffer is a pixel row of channels)`
	const pwErr = `b.json: block 1 "sep": pointwise "pw": layout "nchw": fused blocks are NHWC only (the row buffer is a pixel row of channels)`
	for _, c := range []struct{ dw, pw, want string }{
		{"nchw", "nhwc", dwErr},
		{"nhwc", "nchw", pwErr},
		{"nchw", "nchw", dwErr + "\n" + pwErr},
	} {
		s, err := ParseSpec("b.json", []byte(`{`+layers(c.dw, c.pw)+block))
		assert.Nil(t, s)
		assert.EqualError(t, err, c.want, "%s %s", c.dw, c.pw)
	}
	s, err := ParseSpec("b.json", []byte(`{`+layers("nhwc", "nhwc")+block))
	require.NoError(t, err)
	require.Len(t, s.Blocks, 1)

	// The same layers without a block are fine in NCHW.
	s, err = ParseSpec("b.json", []byte(`{`+layers("nchw", "nchw")+`}`))
	require.NoError(t, err)
	_, err = NewPlan(s)
	require.NoError(t, err)

	// A Spec built in Go is checked the same way.
	s.Blocks = []Block{{Name: "sep", Index: 1, Depthwise: "dw", Pointwise: "pw"}}
	s.Source = "b.json"
	_, err = NewPlan(s)
	assert.EqualError(t, err, dwErr+"\n"+pwErr)
}

// TestPlanNCHW: every NCHW layer gets a Planar kernel (a depthwise or 1×1
// one too), named nchwconv…, with its tile; layers that differ only in
// layout get different kernels; NCHW layers that differ only in what the
// driver applies (padding, vertical stride and dilation, bias) share one.
func TestPlanNCHW(t *testing.T) {
	s, err := ParseSpec("p.json", []byte(`{"package": "k", "layers": [
		{"name": "a", "cin": 8, "cout": 16, "k": 3, "groups": 2, "act": "relu", "layout": "nchw"},
		{"name": "b", "cin": 8, "cout": 16, "k": 3, "groups": 2, "act": "relu"},
		{"name": "c", "cin": 8, "cout": 16, "k": 3, "groups": 2, "act": "relu", "pad": [1, 2], "stride": [2, 1], "dilation": [3, 1], "bias": true, "layout": "nchw"},
		{"name": "d", "cin": 8, "cout": 16, "k": 3, "groups": 2, "act": "relu", "stride": [1, 2], "layout": "nchw"},
		{"name": "dw", "cin": 24, "cout": 24, "k": 3, "groups": 24, "pad": 1, "layout": "nchw"},
		{"name": "pw", "cin": 24, "cout": 6, "k": 1, "layout": "nchw"},
		{"name": "dwn", "cin": 24, "cout": 24, "k": 3, "groups": 24, "pad": 1}]}`))
	require.NoError(t, err)
	p, err := NewPlan(s)
	require.NoError(t, err)
	kernel := func(i int) templates.Kernel { return p.Kernels[p.Layers[i].Kernel] }

	a := kernel(0)
	assert.Equal(t, templates.Planar, a.Family)
	assert.Equal(t, "nchwconv3x3_ci8_co16_g2_s1_d1_relu", a.Name)
	assert.Equal(t, 4, a.ChanTile) // 8 channels per group, 4 per tile
	assert.Equal(t, templates.Lanes*templates.PlanarVecs(4), a.PixTile)
	assert.NoError(t, a.Check())

	b := kernel(1)
	assert.NotEqual(t, templates.Planar, b.Family)
	assert.False(t, strings.HasPrefix(b.Name, "nchwconv"), b.Name)
	assert.NotEqual(t, p.Layers[0].Kernel, p.Layers[1].Kernel, "a and b differ only in layout")
	assert.NotEqual(t, a.Name, b.Name)

	assert.Equal(t, p.Layers[0].Kernel, p.Layers[2].Kernel, "a and c differ only in what the driver applies")
	assert.NotEqual(t, p.Layers[0].Kernel, p.Layers[3].Kernel, "d has another horizontal stride")
	assert.Equal(t, "nchwconv3x3_ci8_co16_g2_s2_d1_relu", kernel(3).Name)

	for _, i := range []int{4, 5} {
		k := kernel(i)
		assert.Equal(t, templates.Planar, k.Family, p.Layers[i].Name)
		assert.True(t, strings.HasPrefix(k.Name, "nchwconv"), k.Name)
		assert.NoError(t, k.Check())
	}
	assert.Equal(t, "nchwconv3x3_ci24_co24_g24_s1_d1_none", kernel(4).Name)
	assert.Equal(t, 1, kernel(4).ChanTile)
	assert.Equal(t, "nchwconv1x1_ci24_co6_g1_s1_d1_none", kernel(5).Name)
	assert.Equal(t, templates.Depthwise, kernel(6).Family)
	assert.NotEqual(t, p.Layers[4].Kernel, p.Layers[6].Kernel)

	names := map[string]bool{}
	for _, k := range p.Kernels {
		assert.False(t, names[k.Name], "two kernels named %s", k.Name)
		names[k.Name] = true
	}
	assert.Len(t, p.Kernels, 6)
}

// TestGenerateNCHWFiles: a package with an NCHW layer gets the NCHW half
// of the driver and the nchwconv assembly (with the copy helpers the
// driver's AVX2 hooks point at); one without gets neither.
func TestGenerateNCHWFiles(t *testing.T) {
	generate := func(spec string) map[string][]byte {
		t.Helper()
		s, err := ParseSpec("g.json", []byte(spec))
		require.NoError(t, err)
		p, err := NewPlan(s)
		require.NoError(t, err)
		files, err := Generate(p)
		require.NoError(t, err)
		return files
	}
	mixed := generate(`{"package": "k", "layers": [
		{"name": "dw", "cin": 8, "cout": 8, "k": 3, "groups": 8, "pad": 1},
		{"name": "pn", "cin": 8, "cout": 12, "k": 3, "groups": 4, "stride": 2, "pad": 1, "bias": true, "layout": "nchw"}]}`)
	for _, name := range []string{"convgen_driver.go", "convgen_driver_nchw.go", "nchwconv_amd64.s", "dwconv_amd64.s", "layers.go"} {
		require.Contains(t, mixed, name)
		assert.True(t, strings.HasPrefix(string(mixed[name]), "// "+Header+"\n"), name)
	}
	for name := range mixed {
		assert.False(t, strings.HasPrefix(name, "nchwconv_avx512"), "%s: there is no AVX-512 NCHW kernel", name)
	}
	nchw := string(mixed["convgen_driver_nchw.go"])
	assert.Contains(t, nchw, "\npackage k\n")
	assert.NotContains(t, nchw, "package driver")
	assert.Contains(t, nchw, "func (g *geometry) forwardPlanar(")
	assert.Contains(t, nchw, "func (g *geometry) packPlanar(")
	asm := string(mixed["nchwconv_amd64.s"])
	assert.Contains(t, asm, "·"+templates.PadRowsName+"(SB)")
	assert.Contains(t, asm, "·"+templates.PadPairsName+"(SB)")
	assert.Contains(t, string(mixed["dispatch_amd64.go"]), "padRowsAsm")
	assert.Contains(t, string(mixed["layers.go"]), "forwardPlanar")
	assert.NotContains(t, string(mixed["dwconv_amd64.s"]), templates.PadRowsName)

	nhwc := generate(`{"package": "k", "layers": [
		{"name": "dw", "cin": 8, "cout": 8, "k": 3, "groups": 8, "pad": 1},
		{"name": "pn", "cin": 8, "cout": 12, "k": 3, "groups": 4, "stride": 2, "pad": 1, "bias": true, "layout": "nhwc"}]}`)
	assert.NotContains(t, nhwc, "convgen_driver_nchw.go")
	for name, b := range nhwc {
		assert.False(t, strings.HasPrefix(name, "nchwconv"), name)
		for _, s := range []string{"type planeKernel", ") forwardPlanar(", ") packPlanar(", "padRowsAsm", templates.PadRowsName, "nchwconv"} {
			assert.False(t, strings.Contains(string(b), s), "%s has %q", name, s)
		}
	}
}
