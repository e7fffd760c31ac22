package gen

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var defaultMachine = Machine{PeakGFLOPS: 117, BandwidthGBs: 28}

func explainPreset(t *testing.T, name string) *Cost {
	t.Helper()
	data, err := os.ReadFile("../generated/" + name + "/spec.json")
	require.NoError(t, err)
	s, err := ParseSpec(name, data)
	require.NoError(t, err)
	p, err := NewPlan(s)
	require.NoError(t, err)
	return Explain(p, defaultMachine)
}

// The saving of a grouped layer over its dense equivalent is exactly G.
func TestExplainSavingIsGroups(t *testing.T) {
	for _, preset := range []string{"resnext50", "alexnet", "mobilenetv2", "shufflenetv1"} {
		c := explainPreset(t, preset)
		for _, l := range c.Layers {
			assert.Equal(t, float64(l.Groups), l.Saving, "%s %s", preset, l.Name)
			assert.Equal(t, l.DenseMACs, int64(l.Groups)*l.MACs, "%s %s", preset, l.Name)
		}
	}
}

func TestExplainNumbers(t *testing.T) {
	c := explainPreset(t, "alexnet")
	require.Len(t, c.Layers, 3)
	l := c.Layers[0] // conv2: 96->256 5x5 g2 pad 2 bias, 27x27
	assert.Equal(t, "96->256 5x5 g2 s1 pad 2 bias relu", l.Shape)
	assert.Equal(t, int64(256*48*25+256), l.Params)
	assert.Equal(t, int64(256*96*25+256), l.DenseParams)
	assert.Equal(t, int64(256*48*25), l.MACsPerPixel)
	assert.Equal(t, []int{27, 27}, l.Output)
	assert.Equal(t, int64(27*27*256*48*25), l.MACs)
	assert.Equal(t, 2*l.MACs, l.FLOPs)
	assert.Equal(t, int64(4*(27*27*96+256*48*25+256+27*27*256)), l.Bytes)
	assert.InDelta(t, float64(l.FLOPs)/float64(l.Bytes), l.Intensity, 1e-12)
	assert.Equal(t, "compute", l.Bound)
	assert.Equal(t, "gconv", l.Family)
	assert.NotZero(t, l.BlockVec)
	assert.NotZero(t, l.PixTile)
	assert.InDelta(t, 117.0/28, c.Ridge, 1e-12)
	assert.Equal(t, 2.0, c.Totals.Saving)
	assert.Zero(t, c.Totals.NoInput)

	// A tiny-image pointwise layer moves more bytes than it computes on.
	s := &Spec{Layers: []Layer{
		{Name: "pw", Cin: 512, Cout: 512, KH: 1, KW: 1, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Act: NewActivation(ActNone), InputH: 1, InputW: 1},
		{Name: "nosize", Cin: 8, Cout: 8, KH: 3, KW: 3, Groups: 8, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Act: NewActivation(ActNone)},
	}}
	p, err := NewPlan(s)
	require.NoError(t, err)
	c = Explain(p, defaultMachine)
	assert.Equal(t, "memory", c.Layers[0].Bound)
	assert.Equal(t, "", c.Layers[1].Bound)
	assert.Zero(t, c.Layers[1].MACs)
	assert.Equal(t, 8.0, c.Layers[1].Saving)
	assert.Equal(t, 1, c.Totals.NoInput)

	var out bytes.Buffer
	require.NoError(t, c.WriteTable(&out))
	assert.Contains(t, out.String(), "1 of 2 layers have no \"input\" size")
}

func TestExplainOutput(t *testing.T) {
	c := explainPreset(t, "resnext50")
	var table bytes.Buffer
	require.NoError(t, c.WriteTable(&table))
	lines := strings.Split(table.String(), "\n")
	assert.True(t, strings.HasPrefix(lines[0], "layer"), lines[0])
	assert.Regexp(t, `^conv2 +128->128 3x3 g32 s1 pad 1 bias relu +56x56->56x56 .* 32x .* (compute|memory) +pgconv`, lines[1])
	assert.Regexp(t, `^total \(7\) .* 32x`, lines[8])
	assert.Contains(t, table.String(), "ridge 4.18 FLOP/B")

	b, err := json.Marshal(c)
	require.NoError(t, err)
	var back struct {
		Layers []map[string]any `json:"layers"`
		Totals map[string]any   `json:"totals"`
		Ridge  float64          `json:"ridge"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	require.Len(t, back.Layers, 7)
	assert.Equal(t, 32.0, back.Layers[0]["saving"])
	assert.Equal(t, "conv2", back.Layers[0]["name"])
	assert.Equal(t, 32.0, back.Totals["saving"])
}
