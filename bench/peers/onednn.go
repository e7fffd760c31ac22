package peers

/*
#cgo LDFLAGS: -ldnnl -lgomp
#include <oneapi/dnnl/dnnl.h>
#include "wrap_onednn.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

type oneDNN struct {
	c        *C.struct_onednn_conv
	err      errBuf
	src, dst []float32
}

func newOneDNN(row Row, weights []float32) (Runner, error) {
	if err := checkWeights("oneDNN", row, weights); err != nil {
		return nil, err
	}
	s := cShape(row)
	e := newErrBuf()
	var c *C.struct_onednn_conv
	rc := C.onednn_conv_create(&s, (*C.float)(unsafe.Pointer(&weights[0])), &c, e.p, e.size())
	if err := e.status("oneDNN", rc); err != nil {
		e.free()
		return nil, err
	}
	in, out := row.Lens()
	return &oneDNN{
		c: c, err: e,
		src: floats(C.onednn_conv_src(c), in),
		dst: floats(C.onednn_conv_dst(c), out),
	}, nil
}

func (r *oneDNN) Src() []float32 { return r.src }
func (r *oneDNN) Dst() []float32 { return r.dst }
func (r *oneDNN) Impl() string   { return C.GoString(C.onednn_conv_impl(r.c)) }

func (r *oneDNN) Run() error {
	return r.err.status("oneDNN", C.onednn_conv_run(r.c, r.err.p, r.err.size()))
}

func (r *oneDNN) Close() {
	if r.c == nil {
		return
	}
	C.onednn_conv_destroy(r.c)
	r.err.free()
	r.c, r.src, r.dst = nil, nil, nil
}

// OneDNNInfo describes the linked oneDNN: version, CPU runtime, the ISA its
// JIT targets here, and the OpenMP threads a wrapper call runs with.
func OneDNNInfo() string {
	v := C.dnnl_version()
	runtime := "other"
	switch v.cpu_runtime {
	case C.DNNL_RUNTIME_OMP:
		runtime = "OpenMP"
	case C.DNNL_RUNTIME_TBB:
		runtime = "TBB"
	case C.DNNL_RUNTIME_SEQ:
		runtime = "sequential"
	case C.DNNL_RUNTIME_THREADPOOL:
		runtime = "threadpool"
	}
	return fmt.Sprintf("oneDNN %d.%d.%d, CPU runtime %s, ISA %s, %d thread(s) per call",
		v.major, v.minor, v.patch, runtime, C.GoString(C.onednn_isa()), int(C.onednn_threads()))
}
