package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	entries := []Entry{
		{Name: "conv1", Layer: Layer{Weights: []float32{1, -2.5, float32(math.Inf(1)), 0}, Bias: []float32{0.5}}},
		{Name: "dw", Layer: Layer{Weights: []float32{3}}},
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, entries))
	got, err := Read(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, map[string]Layer{"conv1": entries[0].Layer, "dw": entries[1].Layer}, got)
	assert.Nil(t, got["dw"].Bias, "no bias reads back as nil, which NewX wants")

	// The documented layout, byte by byte.
	b := buf.Bytes()
	assert.Equal(t, "CVGW", string(b[:4]))
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(b[4:]))
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(b[8:]))
	assert.Equal(t, uint32(5), binary.LittleEndian.Uint32(b[12:]))
	assert.Equal(t, "conv1", string(b[16:21]))
	assert.Equal(t, uint32(4), binary.LittleEndian.Uint32(b[21:]))
	assert.Equal(t, float32(-2.5), math.Float32frombits(binary.LittleEndian.Uint32(b[29:])))
	assert.Equal(t, 12+4+5+4+16+4+4+4+2+4+4+4, len(b))
}

func TestBadFiles(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, Write(&good, []Entry{{Name: "a", Layer: Layer{Weights: []float32{1, 2}}}}))
	g := good.Bytes()
	le := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no CVGW magic"},
		{"magic", []byte("CVGX\x01\x00\x00\x00"), "no CVGW magic"},
		{"version", append([]byte("CVGW"), le(2, 0)...), "version 2"},
		{"truncated", g[:len(g)-1], "unexpected EOF"},
		{"trailing", append(append([]byte{}, g...), 0), "data after the last layer"},
		{"dup", append([]byte("CVGW"), append(le(1, 2, 1), append([]byte("a"), append(le(0, 0, 1), append([]byte("a"), le(0, 0)...)...)...)...)...), `"a" appears twice`},
		{"huge", append([]byte("CVGW"), append(le(1, 1, 1), append([]byte("a"), le(0xffffffff)...)...)...), "too large"},
		{"name", append([]byte("CVGW"), le(1, 1, 0)...), "name length 0"},
	} {
		_, err := Read(bytes.NewReader(c.data))
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
	var buf bytes.Buffer
	err := Write(&buf, []Entry{{Name: "a"}, {Name: "a"}})
	assert.ErrorContains(t, err, "used twice")
	err = Write(&buf, []Entry{{Name: strings.Repeat("x", 1025)}})
	assert.ErrorContains(t, err, "1 to 1024 bytes")
}
