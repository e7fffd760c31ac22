package templates

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// CPUIDName is the assembly helper the dispatch reads the CPU's vendor and
// family with: golang.org/x/sys/cpu reports features, not the family, and
// whether 512-bit FMAs run at full width is a property of the core (see
// Kernel.NeedsFullWidth512).
const CPUIDName = "cpuid"

// CPUIDFile emits CPUIDName(leaf, sub uint32) (eax, ebx, ecx, edx uint32),
// the CPUID instruction for leaf and sub-leaf, into an assembly file of
// package pkg built for amd64 without the purego tag.
func CPUIDFile(pkg string) ([]byte, error) {
	c := build.NewContext()
	c.ConstraintExpr("amd64,!purego")
	c.Function(CPUIDName)
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr("func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)")
	c.Doc(CPUIDName + " executes CPUID for leaf and sub-leaf.")
	c.Load(c.Param("leaf"), reg.EAX)
	c.Load(c.Param("sub"), reg.ECX)
	c.CPUID()
	c.Store(reg.EAX, c.Return("eax"))
	c.Store(reg.EBX, c.Return("ebx"))
	c.Store(reg.ECX, c.Return("ecx"))
	c.Store(reg.EDX, c.Return("edx"))
	c.RET()
	f, err := c.Result()
	if err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, fmt.Errorf("avo: %w", err)
	}
	return printer.NewGoAsm(printer.Config{Name: "convgen", Pkg: pkg}).Print(f)
}

// NeedsFullWidth512 tells whether k's AVX-512 variant outruns its AVX2
// twin only where 512-bit FMAs run at full width: the pixel-pair 1×1 tiles
// (see pairTiles), whose blend of two broadcasts per step is free beside
// full-width FMAs but not beside halves. On AMD Zen 4, which runs each
// 512-bit FMA as two 256-bit halves, a 144→24 1×1 layer measured 86
// GFLOP/s with pairs and 101 with AVX2; every other AVX-512 kernel was as
// fast as or faster than AVX2 there. The dispatch puts AVX2 first for such
// kernels on such CPUs.
func (k Kernel) NeedsFullWidth512() bool { return k.HasAVX512() && k.AVX512().pairTiles() }
