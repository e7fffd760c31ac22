package peers

/*
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "shape.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// errLen is the size of the C error buffers.
const errLen = 256

// cShape is row as the C wrappers take it.
func cShape(row Row) C.struct_conv_shape {
	c := row.Conv
	oh, ow := c.OutputSize(row.H, row.W)
	return C.struct_conv_shape{
		n: C.int(row.N), h: C.int(row.H), w: C.int(row.W), oh: C.int(oh), ow: C.int(ow),
		cin: C.int(c.Cin), cout: C.int(c.Cout), groups: C.int(c.Groups),
		kh: C.int(c.KH), kw: C.int(c.KW),
		stride_h: C.int(c.StrideH), stride_w: C.int(c.StrideW),
		dilation_h: C.int(c.DilationH), dilation_w: C.int(c.DilationW),
		pad_top: C.int(c.PadTop), pad_left: C.int(c.PadLeft),
		pad_bottom: C.int(c.PadBottom), pad_right: C.int(c.PadRight),
	}
}

// errBuf is a C buffer the wrappers write their messages into; C memory so
// a runner can keep it across calls without pinning Go memory.
type errBuf struct{ p *C.char }

func newErrBuf() errBuf {
	p := (*C.char)(C.calloc(errLen, 1))
	if p == nil {
		panic("peers: out of C memory")
	}
	return errBuf{p}
}

func (e errBuf) free()          { C.free(unsafe.Pointer(e.p)) }
func (e errBuf) size() C.size_t { return errLen }

// status turns a wrapper's return code into nil, an *UnsupportedError or an error.
func (e errBuf) status(peer string, rc C.int) error {
	switch rc {
	case C.PEER_OK:
		return nil
	case C.PEER_UNSUPPORTED:
		return &UnsupportedError{Peer: peer, Msg: C.GoString(e.p)}
	}
	return fmt.Errorf("%s: %s", peer, C.GoString(e.p))
}

// floats views n floats of C memory at p as a Go slice.
func floats(p *C.float, n int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), n)
}

// checkWeights guards the C side, which trusts the weight count.
func checkWeights(peer string, row Row, weights []float32) error {
	if want := row.Conv.WeightLen(); len(weights) != want {
		return fmt.Errorf("%s %s: %d weights, want %d", peer, row.Name, len(weights), want)
	}
	return nil
}
