// Package weights reads and writes convgen's flat weights file, which
// `convgen -onnx model.onnx -weights FILE` exports from a model's
// initializers so that a generated package's NewX can be given the model's
// real weights. It uses only the standard library, so a program that runs
// generated kernels can import it without pulling in the generator.
//
// The format is little-endian throughout:
//
//	"CVGW"                 4 bytes, the magic
//	version                uint32, 1
//	layers                 uint32, the number of layers L
//	L times:
//	  name length          uint32, 1 … 1024
//	  name                 UTF-8 bytes: the spec's layer name (NewX's layer)
//	  weight count         uint32
//	  weights              float32 × count, OIHW: [cout][cin/groups][kh][kw]
//	  bias count           uint32, 0 when the layer has no bias
//	  bias                 float32 × count
//
// Nothing may follow the last layer. The weight order is the one NewX wants
// (and ONNX's and PyTorch's), so the slices are passed on as they are:
//
//	ws, err := weights.ReadFile("kernels.cvgw")
//	l := ws["conv1"]
//	conv1, err := kernels.NewConv1(l.Weights, l.Bias)
package weights

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Magic starts every weights file.
const Magic = "CVGW"

// Version is the format version this package writes and reads.
const Version = 1

const (
	maxName  = 1024
	maxCount = 1 << 30 // floats per array: far above any convgen layer, below what uint32 allows
)

// Layer is one layer's parameters. Bias is nil when the layer has none, which
// is what NewX wants for a layer without bias.
type Layer struct {
	Weights []float32
	Bias    []float32
}

// Entry is a named layer, for Write, which keeps the order it is given.
type Entry struct {
	Name string
	Layer
}

// Write writes entries in the format above. Names must be unique and 1 to
// 1024 bytes long.
func Write(w io.Writer, entries []Entry) error {
	seen := map[string]bool{}
	bw := bufio.NewWriter(w)
	bw.WriteString(Magic)
	put := func(v uint32) { binary.Write(bw, binary.LittleEndian, v) }
	put(Version)
	put(uint32(len(entries)))
	for _, e := range entries {
		if len(e.Name) == 0 || len(e.Name) > maxName {
			return fmt.Errorf("weights: layer name %q: must be 1 to %d bytes long", e.Name, maxName)
		}
		if seen[e.Name] {
			return fmt.Errorf("weights: layer name %q is used twice", e.Name)
		}
		seen[e.Name] = true
		if len(e.Weights) > maxCount || len(e.Bias) > maxCount {
			return fmt.Errorf("weights: layer %q: too many values", e.Name)
		}
		put(uint32(len(e.Name)))
		bw.WriteString(e.Name)
		for _, xs := range [][]float32{e.Weights, e.Bias} {
			put(uint32(len(xs)))
			var b [4]byte
			for _, x := range xs {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
				bw.Write(b[:])
			}
		}
	}
	return bw.Flush() // bufio keeps the first write error
}

// Read reads a weights file: layer name → weights and bias. A truncated
// file, trailing data, a repeated name or another magic or version is an
// error.
func Read(r io.Reader) (map[string]Layer, error) {
	br := bufio.NewReader(r)
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || string(magic[:]) != Magic {
		return nil, errors.New("weights: not a convgen weights file (no CVGW magic)")
	}
	get := func(what string) (uint32, error) {
		var v uint32
		if err := binary.Read(br, binary.LittleEndian, &v); err != nil {
			return 0, fmt.Errorf("weights: reading %s: %w", what, unexpectedEOF(err))
		}
		return v, nil
	}
	version, err := get("the version")
	if err != nil {
		return nil, err
	}
	if version != Version {
		return nil, fmt.Errorf("weights: version %d, this reader knows version %d", version, Version)
	}
	n, err := get("the layer count")
	if err != nil {
		return nil, err
	}
	layers := map[string]Layer{}
	for i := range int(n) {
		nameLen, err := get(fmt.Sprintf("layer %d's name length", i+1))
		if err != nil {
			return nil, err
		}
		if nameLen == 0 || nameLen > maxName {
			return nil, fmt.Errorf("weights: layer %d: name length %d, want 1 to %d", i+1, nameLen, maxName)
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(br, name); err != nil {
			return nil, fmt.Errorf("weights: layer %d's name: %w", i+1, unexpectedEOF(err))
		}
		if _, dup := layers[string(name)]; dup {
			return nil, fmt.Errorf("weights: layer %q appears twice", name)
		}
		var l Layer
		for _, part := range []struct {
			what string
			dst  *[]float32
		}{{"weights", &l.Weights}, {"bias", &l.Bias}} {
			count, err := get(fmt.Sprintf("layer %q's %s count", name, part.what))
			if err != nil {
				return nil, err
			}
			if *part.dst, err = readFloats(br, count); err != nil {
				return nil, fmt.Errorf("weights: layer %q's %s: %w", name, part.what, err)
			}
		}
		layers[string(name)] = l
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, errors.New("weights: data after the last layer")
	}
	return layers, nil
}

// ReadFile reads the weights file at path.
func ReadFile(path string) (map[string]Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	layers, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return layers, nil
}

// readFloats reads count float32 values, growing the slice as data arrives
// so that a corrupt count cannot make it allocate gigabytes up front. A
// count of 0 gives nil (no bias).
func readFloats(r io.Reader, count uint32) ([]float32, error) {
	if count == 0 {
		return nil, nil
	}
	if count > maxCount {
		return nil, fmt.Errorf("count %d is too large", count)
	}
	xs := make([]float32, 0, min(count, 1<<16))
	buf := make([]byte, 4*min(count, 1<<16))
	for left := int(count); left > 0; {
		b := buf[:4*min(left, len(buf)/4)]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, unexpectedEOF(err)
		}
		for i := 0; i < len(b); i += 4 {
			xs = append(xs, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		}
		left -= len(b) / 4
	}
	return xs, nil
}

// unexpectedEOF turns a clean EOF in the middle of the file into
// io.ErrUnexpectedEOF: the file was cut short.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
