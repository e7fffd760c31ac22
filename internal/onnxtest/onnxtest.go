// Package onnxtest writes small ONNX models in code, for tests: the subset
// of onnx.proto that convgen reads (model, graph, node, attribute, tensor,
// value info), encoded field by field with protowire so that tests need no
// model files and no generated protobuf types.
package onnxtest

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Model is a ModelProto with one graph and one opset of the default domain.
type Model struct {
	Opset int64 // default 13
	Graph Graph
	// Packed writes repeated int64 fields (dims, ints) packed, as some
	// exporters do; ONNX's own writer does not. Readers must accept both.
	Packed bool
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
}

// Node is a NodeProto.
type Node struct {
	Name    string
	Op      string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Attr is an AttributeProto. Set exactly one of the value fields; Type is
// derived from it.
type Attr struct {
	Name   string
	F      *float32
	I      *int64
	S      string
	T      *Tensor
	Ints   []int64
	Floats []float32
}

// Tensor is a float TensorProto. Raw selects raw_data (little-endian bytes,
// what most exporters write) over float_data.
type Tensor struct {
	Name     string
	Dims     []int64
	Data     []float32
	Raw      bool
	DataType int32 // default 1 (FLOAT)
}

// ValueInfo is a ValueInfoProto with a float tensor type; a negative
// dimension is written as a symbolic dim_param.
type ValueInfo struct {
	Name string
	Dims []int64
}

// Ints, Int, Float and String make attributes.
func Ints(name string, v ...int64) Attr     { return Attr{Name: name, Ints: v} }
func Int(name string, v int64) Attr         { return Attr{Name: name, I: &v} }
func Float(name string, v float32) Attr     { return Attr{Name: name, F: &v} }
func String(name, v string) Attr            { return Attr{Name: name, S: v} }
func TensorAttr(name string, t Tensor) Attr { return Attr{Name: name, T: &t} }

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrTensor = 4
	attrFloats = 6
	attrInts   = 7
)

// Marshal encodes the model.
func (m Model) Marshal() []byte {
	opset := m.Opset
	if opset == 0 {
		opset = 13
	}
	var b []byte
	b = appendVarintField(b, 1, 8) // ir_version
	var op []byte
	op = appendStringField(op, 1, "")
	op = appendVarintField(op, 2, uint64(opset))
	b = appendBytesField(b, 8, op) // opset_import
	b = appendStringField(b, 2, "onnxtest")
	b = appendBytesField(b, 7, m.graph())
	return b
}

func (m Model) graph() []byte {
	g := m.Graph
	var b []byte
	for _, n := range g.Nodes {
		b = appendBytesField(b, 1, m.node(n))
	}
	b = appendStringField(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendBytesField(b, 5, m.tensor(t))
	}
	for _, v := range g.Inputs {
		b = appendBytesField(b, 11, valueInfo(v))
	}
	for _, v := range g.Outputs {
		b = appendBytesField(b, 12, valueInfo(v))
	}
	for _, v := range g.ValueInfo {
		b = appendBytesField(b, 13, valueInfo(v))
	}
	return b
}

func (m Model) node(n Node) []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendStringField(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = appendStringField(b, 2, out)
	}
	b = appendStringField(b, 3, n.Name)
	b = appendStringField(b, 4, n.Op)
	for _, a := range n.Attrs {
		b = appendBytesField(b, 5, m.attr(a))
	}
	if n.Domain != "" {
		b = appendStringField(b, 7, n.Domain)
	}
	return b
}

func (m Model) attr(a Attr) []byte {
	var b []byte
	b = appendStringField(b, 1, a.Name)
	var typ uint64
	switch {
	case a.F != nil:
		typ = attrFloat
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(*a.F))
	case a.I != nil:
		typ = attrInt
		b = appendVarintField(b, 3, uint64(*a.I))
	case a.T != nil:
		typ = attrTensor
		b = appendBytesField(b, 5, m.tensor(*a.T))
	case a.Floats != nil:
		typ = attrFloats
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case a.Ints != nil:
		typ = attrInts
		b = m.appendInts(b, 8, a.Ints)
	default:
		typ = attrString
		b = appendBytesField(b, 4, []byte(a.S))
	}
	return appendVarintField(b, 20, typ)
}

func (m Model) tensor(t Tensor) []byte {
	var b []byte
	b = m.appendInts(b, 1, t.Dims)
	dt := t.DataType
	if dt == 0 {
		dt = 1
	}
	b = appendVarintField(b, 2, uint64(dt))
	if t.Raw {
		raw := make([]byte, 0, 4*len(t.Data))
		for _, x := range t.Data {
			raw = protowire.AppendFixed32(raw, math.Float32bits(x))
		}
		b = appendStringField(b, 8, t.Name)
		return appendBytesField(b, 9, raw)
	}
	var packed []byte // float_data is [packed = true] in onnx.proto
	for _, x := range t.Data {
		packed = protowire.AppendFixed32(packed, math.Float32bits(x))
	}
	if len(packed) > 0 {
		b = appendBytesField(b, 4, packed)
	}
	return appendStringField(b, 8, t.Name)
}

func valueInfo(v ValueInfo) []byte {
	var shape []byte
	for _, d := range v.Dims {
		var dim []byte
		if d < 0 {
			dim = appendStringField(dim, 2, "N")
		} else {
			dim = appendVarintField(dim, 1, uint64(d))
		}
		shape = appendBytesField(shape, 1, dim)
	}
	var tensorType []byte
	tensorType = appendVarintField(tensorType, 1, 1) // elem_type FLOAT
	tensorType = appendBytesField(tensorType, 2, shape)
	var typ []byte
	typ = appendBytesField(typ, 1, tensorType)
	var b []byte
	b = appendStringField(b, 1, v.Name)
	return appendBytesField(b, 2, typ)
}

func (m Model) appendInts(b []byte, num protowire.Number, xs []int64) []byte {
	if m.Packed {
		var p []byte
		for _, x := range xs {
			p = protowire.AppendVarint(p, uint64(x))
		}
		return appendBytesField(b, num, p)
	}
	for _, x := range xs {
		b = appendVarintField(b, num, uint64(x))
	}
	return b
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	return appendBytesField(b, num, []byte(s))
}
