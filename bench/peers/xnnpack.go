package peers

/*
#cgo LDFLAGS: -lXNNPACK
#include "wrap_xnnpack.h"
*/
import "C"

import "unsafe"

type xnnpack struct {
	c        *C.struct_xnnpack_conv
	err      errBuf
	src, dst []float32
}

func newXNNPACK(row Row, weights []float32) (Runner, error) {
	if err := checkWeights("XNNPACK", row, weights); err != nil {
		return nil, err
	}
	s := cShape(row)
	e := newErrBuf()
	var c *C.struct_xnnpack_conv
	rc := C.xnnpack_conv_create(&s, (*C.float)(unsafe.Pointer(&weights[0])), &c, e.p, e.size())
	if err := e.status("XNNPACK", rc); err != nil {
		e.free()
		return nil, err
	}
	in, out := row.Lens()
	return &xnnpack{
		c: c, err: e,
		src: floats(C.xnnpack_conv_src(c), in),
		dst: floats(C.xnnpack_conv_dst(c), out),
	}, nil
}

func (r *xnnpack) Src() []float32 { return r.src }
func (r *xnnpack) Dst() []float32 { return r.dst }

// Impl: the 2022 operator API does not name the microkernel it picked.
func (r *xnnpack) Impl() string { return "xnn_convolution2d_nhwc_f32" }

func (r *xnnpack) Run() error {
	return r.err.status("XNNPACK", C.xnnpack_conv_run(r.c, r.err.p, r.err.size()))
}

func (r *xnnpack) Close() {
	if r.c == nil {
		return
	}
	C.xnnpack_conv_destroy(r.c)
	r.err.free()
	r.c, r.src, r.dst = nil, nil, nil
}
