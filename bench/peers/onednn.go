package peers

/*
#cgo LDFLAGS: -ldnnl -lgomp
#include <oneapi/dnnl/dnnl.h>
#include "wrap_onednn.h"
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// MaxISAEnv limits the instruction set oneDNN's JIT targets:
// ONEDNN_MAX_CPU_ISA=AVX2 makes it generate AVX2 code on an AVX-512 CPU.
// oneDNN 2.6 reads ONEDNN_MAX_CPU_ISA, else the older DNNL_MAX_CPU_ISA (any
// case), once per process, at its first dispatch: a process runs either the
// unrestricted library (BenchmarkOneDNN) or the AVX2 one (BenchmarkOneDNNAVX2).
const MaxISAEnv = "ONEDNN_MAX_CPU_ISA"

// OneDNNMaxISA is the ISA limit this process's environment sets for oneDNN,
// as oneDNN reads it ("" or "all": none).
func OneDNNMaxISA() string {
	for _, name := range []string{MaxISAEnv, "DNNL_MAX_CPU_ISA"} {
		if v := os.Getenv(name); v != "" {
			return strings.ToLower(v)
		}
	}
	return ""
}

// oneDNNRestricted reports whether the environment limits oneDNN's ISA.
func oneDNNRestricted() bool {
	v := OneDNNMaxISA()
	return v != "" && v != "all"
}

// OneDNNISA names the instruction set oneDNN's JIT kernels target in this
// process (avx2, avx512_core, ...), after any ONEDNN_MAX_CPU_ISA limit.
func OneDNNISA() string { return C.GoString(C.onednn_isa()) }

// newOneDNNAVX2 is newOneDNN in a process whose oneDNN is limited to AVX2:
// it fails when oneDNN targets any other ISA or picked a primitive whose
// name says AVX-512 or AMX, so the AVX2 column never holds other code.
func newOneDNNAVX2(row Row, weights []float32) (Runner, error) {
	if isa := OneDNNISA(); isa != "avx2" {
		return nil, fmt.Errorf("oneDNN AVX2 %s: oneDNN targets %s in this process, not avx2: run it with %s=AVX2 in the environment (now %q)",
			row.Name, isa, MaxISAEnv, OneDNNMaxISA())
	}
	r, err := newOneDNN(row, weights)
	if err != nil {
		return nil, err
	}
	if impl := r.Impl(); strings.Contains(impl, "avx512") || strings.Contains(impl, "amx") {
		r.Close()
		return nil, fmt.Errorf("oneDNN AVX2 %s: implementation %s is not AVX2", row.Name, impl)
	}
	return r, nil
}

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
