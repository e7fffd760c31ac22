package specsweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAVX512ProblemsFlagsEVEX: one line per pattern, as the Go assembler
// spells it, must be flagged; the AVX2 instructions the kernels use must not.
func TestAVX512ProblemsFlagsEVEX(t *testing.T) {
	evex := []string{
		"VMOVUPS (SI), Y16",
		"VADDPS X17, X1, X2",
		"VFMADD231PS Y31, Y1, Y2",
		"VMOVUPS (SI), Z0",
		"VADDPS Z1, Z2, Z3",
		"KMOVW R10, K1",
		"VMOVUPS.Z (SI), K1, Y0",
		"VADDPS Y1, Y2, K3, Y4",
		"VFMADD231PS.BCST (AX), Y1, Y2",
		"VADDPS.RN_SAE Z1, Z2, Z3",
		"KORTESTW K1, K2",
		"VPTERNLOGD $0x96, Y1, Y2, Y3",
		"VPERMT2PS Y1, Y2, Y3",
		"VPERMI2D Y1, Y2, Y3",
		"VMOVDQU32 (SI), Y1",
		"VMOVDQA64 Y1, (DI)",
		"VCOMPRESSPS Y1, K1, (DI)",
		"VPEXPANDD (SI), K1, Y1",
		"VEXTRACTF32X4 $1, Y1, X2",
		"VINSERTI64X2 $1, X1, Y2, Y3",
		"VBROADCASTF32X4 (SI), Y1",
		"VSHUFF32X4 $0, Y1, Y2, Y3",
		"VALIGND $1, Y1, Y2, Y3",
		"VRCP14PS Y1, Y2",
		"VRNDSCALEPS $0, Y1, Y2",
		"VSCALEFPS Y1, Y2, Y3",
		"VPROLD $1, Y1, Y2",
		"VPSRAQ $1, Y1, Y2",
		"VPMULLQ Y1, Y2, Y3",
		"VPCMPD $1, Y1, Y2, K1",
		"VPCMPUB $1, Y1, Y2, K1",
		"VPTESTMD Y1, Y2, K1",
		"VPMOVM2D K1, Y1",
		"VPMOVDB Y1, X2",
		"VCVTPS2UDQ Y1, Y2",
		"VCVTQQ2PS Y1, X2",
		"VPCONFLICTD Y1, Y2",
		"VPERMW Y1, Y2, Y3",
		"VPSLLVW Y1, Y2, Y3",
		"VDPBF16PS Y1, Y2, Y3",
		"VPSCATTERDD Y1, K1, (AX)(Y2*4)",
	}
	for _, line := range evex {
		if p := AVX512Problems("x.s", []byte("\t"+line+" // a comment\n")); len(p) != 1 {
			t.Errorf("%q: got %d problems, want 1: %v", line, len(p), p)
		}
	}
	avx2 := []string{
		"TEXT ·k_avx2(SB), NOSPLIT, $0-88",
		"DATA mask_3<>+0(SB)/4, $0xffffffff",
		"GLOBL f32_40c00000<>(SB), RODATA|NOPTR, $4",
		"tile1:",
		"// Y16 and K1 in a comment",
		"VFMADD231PS (SI), Y0, Y15",
		"VBROADCASTSS 4(SI), Y14",
		"VMAXPS Y1, Y2, Y1",
		"VMINPS Y1, Y2, Y1",
		"VMASKMOVPS Y1, Y2, (DI)",
		"VEXTRACTF128 $1, Y1, X2",
		"VEXTRACTPS $1, X1, (DI)",
		"VPERMILPS $0xb1, (SI), Y1",
		"VPERM2F128 $1, Y1, Y2, Y3",
		"VPCMPEQD Y1, Y2, Y3",
		"VPCMPGTD Y1, Y2, Y3",
		"VPMOVZXBD (SI), Y1",
		"VPMOVSXWD X1, Y1",
		"VPSRAD $1, Y1, Y2",
		"VCVTPS2DQ Y1, Y2",
		"VMOVDQU (SI), Y1",
		"VZEROUPPER",
		"MOVQ dst_base+0(FP), AX",
		"SHLQ $0x02, DX",
		"JNZ loop2",
		"RET",
	}
	for _, line := range avx2 {
		if p := AVX512Problems("x.s", []byte("\t"+line+"\n")); len(p) != 0 {
			t.Errorf("%q: flagged although it is AVX/AVX2/FMA: %v", line, p)
		}
	}
}

// TestPresetsAVX2Only scans the checked-in assembly of every preset (and
// the benchmark package): the AVX2 files must hold nothing EVEX-only.
// Files with "avx512" in their name are the AVX-512 variant, dispatched
// only on CPUs that have AVX-512, and are skipped; each must still have
// an AVX2 sibling for the same family.
func TestPresetsAVX2Only(t *testing.T) {
	files, err := filepath.Glob("../../generated/*/*.s")
	if err != nil {
		t.Fatal(err)
	}
	bench, _ := filepath.Glob("../../bench/kernels/*.s")
	files = append(files, bench...)
	if len(files) == 0 {
		t.Fatal("no preset assembly found")
	}
	scanned := 0
	for _, f := range files {
		if IsAVX512File(filepath.Base(f)) {
			sibling := strings.Replace(f, "_avx512_amd64.s", "_amd64.s", 1)
			if _, err := os.Stat(sibling); err != nil {
				t.Errorf("%s has no AVX2 sibling %s", f, sibling)
			}
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range AVX512Problems(f, src) {
			t.Error(p)
		}
		scanned++
	}
	if scanned == 0 {
		t.Fatal("no AVX2 assembly scanned")
	}
	t.Logf("%d AVX2 assembly files scanned", scanned)
}
