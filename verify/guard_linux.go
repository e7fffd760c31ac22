//go:build linux

package verify

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Guarded returns n float32s in fresh anonymous pages placed flush against a
// PROT_NONE guard page, so a kernel touching one element past the slice on
// the guarded side faults (see debug.SetPanicOnFault). cap == len, so append
// cannot reach the guard either. n == 0 gives an empty slice still adjacent
// to the guard (AtEnd: it points at the guard page). release unmaps the
// pages (idempotent); the slice must not be used after. The data start is only 4-byte aligned for AtEnd, deliberately: kernels
// must not assume more.
func Guarded(n int, where Placement) (s []float32, release func()) {
	if n < 0 {
		panic(fmt.Sprintf("verify.Guarded: negative length %d", n))
	}
	ps := os.Getpagesize()
	size := n * 4
	// At least one data page, so the n == 0 slice still points into the mapping.
	total := (max(1, (size+ps-1)/ps) + 1) * ps
	mem, err := syscall.Mmap(-1, 0, total, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("verify.Guarded: mmap %d bytes: %v", total, err))
	}
	var guard []byte
	var start int
	switch where {
	case AtEnd:
		guard, start = mem[total-ps:], total-ps-size
	case AtStart:
		guard, start = mem[:ps], ps
	default:
		_ = syscall.Munmap(mem)
		panic(fmt.Sprintf("verify.Guarded: bad placement %d", where))
	}
	if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
		_ = syscall.Munmap(mem)
		panic(fmt.Sprintf("verify.Guarded: mprotect: %v", err))
	}
	// For n == 0 and AtEnd the pointer is the guard page itself: fine, an
	// empty slice is never dereferenced.
	s = unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(&mem[0]), start)), n)
	var once sync.Once
	return s, func() {
		once.Do(func() {
			if err := syscall.Munmap(mem); err != nil {
				panic(fmt.Sprintf("verify.Guarded: munmap: %v", err))
			}
		})
	}
}
