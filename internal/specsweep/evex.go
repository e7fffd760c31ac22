package specsweep

import (
	"fmt"
	"regexp"
	"strings"
)

// evexPatterns match, in Go assembler syntax, what only the EVEX encoding
// (AVX-512) has. An AVX2 kernel using any of them would raise #UD on an
// AVX2-only CPU, however well it tests on an AVX-512 machine (like the CI
// machine). Matched against each instruction line with its comment removed.
var evexPatterns = []struct {
	re  *regexp.Regexp
	why string
}{
	// Registers.
	{regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`), "X16–X31/Y16–Y31 are only encodable with EVEX"},
	{regexp.MustCompile(`\bZ([0-9]|[12][0-9]|3[01])\b`), "ZMM registers are AVX-512"},
	{regexp.MustCompile(`\bK[0-7]\b`), "opmask registers K0–K7 (masking {k}, compares into a mask) are AVX-512"},
	// Operand suffixes of the Go assembler for EVEX-only features.
	{regexp.MustCompile(`^\S+\.(Z|BCST|SAE|RN_SAE|RD_SAE|RU_SAE|RZ_SAE)(\.\S+)?\b`), "zeroing-masking (.Z), embedded broadcast (.BCST) and rounding/SAE suffixes are EVEX"},
	// Mask-register instructions.
	{regexp.MustCompile(`^K(MOV|AND|ANDN|OR|XOR|XNOR|NOT|SHIFTL|SHIFTR|TEST|ORTEST|ADD|UNPCK)[BWDQ]`), "opmask instructions are AVX-512"},
	// Instructions with no VEX form.
	{regexp.MustCompile(`^VPTERNLOG[DQ]\b`), "VPTERNLOGD/Q: AVX-512F only"},
	{regexp.MustCompile(`^VPERM[TI]2(B|W|D|Q|PS|PD)\b`), "VPERMT2*/VPERMI2* (two-table permutes): AVX-512 only"},
	{regexp.MustCompile(`^VMOVDQ[AU](8|16|32|64)\b`), "VMOVDQA32/64, VMOVDQU8/16/32/64: the element-size forms are EVEX (AVX2 has VMOVDQA/VMOVDQU)"},
	{regexp.MustCompile(`^V(P?COMPRESS|P?EXPAND)`), "compress/expand: AVX-512 only"},
	{regexp.MustCompile(`^V(EXTRACT|INSERT)[FI](32X4|32X8|64X2|64X4)\b`), "the 32X4/64X2/... lane forms are EVEX (AVX2 has VEXTRACTF128/VINSERTF128)"},
	{regexp.MustCompile(`^VBROADCAST[FI](32X2|32X4|32X8|64X2|64X4)\b`), "the 32X4/64X2/... broadcasts are EVEX (AVX2 has VBROADCASTF128)"},
	{regexp.MustCompile(`^VSHUF[FI](32X4|64X2)\b`), "VSHUFF32X4 and relatives: AVX-512 only"},
	{regexp.MustCompile(`^VALIGN[DQ]\b`), "VALIGND/Q: AVX-512 only"},
	{regexp.MustCompile(`^V(RCP14|RSQRT14|RCP28|RSQRT28|EXP2|GETEXP|GETMANT|RNDSCALE|REDUCE|RANGE|SCALEF|FIXUPIMM|FPCLASS)`), "AVX-512 arithmetic helpers (VRCP14PS, VRNDSCALEPS, VSCALEFPS, ...)"},
	{regexp.MustCompile(`^VP(ROL|ROR)V?[DQ]\b`), "rotates VPROLD/VPRORQ...: AVX-512 only"},
	{regexp.MustCompile(`^VP(ABSQ|SRAQ|SRAVQ|MAXSQ|MAXUQ|MINSQ|MINUQ|MULLQ)\b`), "quadword forms with no VEX encoding"},
	{regexp.MustCompile(`^VPCMPU?[BWDQ]\b`), "VPCMPD/VPCMPUB...: compares into a mask, AVX-512 (AVX2 has VPCMPEQ*/VPCMPGT*)"},
	{regexp.MustCompile(`^VPTESTN?M[BWDQ]\b`), "VPTESTMD and relatives: compare into a mask, AVX-512"},
	{regexp.MustCompile(`^VPMOV(M2[BWDQ]|[BWDQ]2M)\b`), "mask <-> vector moves: AVX-512"},
	{regexp.MustCompile(`^VPMOV(US|S)?(DB|DW|QB|QD|QW|WB)\b`), "down-converting moves VPMOVDB...: AVX-512 (AVX2's VPMOVZX/VPMOVSX widen)"},
	{regexp.MustCompile(`^VCVT(T?PS2UDQ|T?PD2UDQ|T?PS2U?QQ|T?PD2U?QQ|U?QQ2P[SD]|UDQ2P[SD]|T?SS2USI|T?SD2USI|USI2S[SD])\b`), "unsigned and quadword conversions: AVX-512"},
	{regexp.MustCompile(`^VP(CONFLICT|LZCNT|POPCNT|SHLD|SHRD|MULTISHIFTQB|2INTERSECT|SHUFBITQMB|MADD52)`), "AVX-512 CD/VBMI/BITALG/IFMA/VP2INTERSECT instructions"},
	{regexp.MustCompile(`^VPERM(B|W)\b`), "VPERMB/VPERMW: AVX-512 only (AVX2 has VPERMD/VPERMPS)"},
	{regexp.MustCompile(`^VPS(LL|RL|RA)VW\b`), "word variable shifts: AVX-512BW only"},
	{regexp.MustCompile(`^V(DBPSADBW|CVTNE2PS2BF16|CVTNEPS2BF16|DPBF16PS)\b`), "AVX-512 BW/BF16 instructions"},
	{regexp.MustCompile(`^VPBROADCASTM`), "broadcast from a mask: AVX-512CD"},
	{regexp.MustCompile(`^V(GATHER|SCATTER)PF`), "gather/scatter prefetch: AVX-512PF"},
	{regexp.MustCompile(`^VP?SCATTER`), "scatters: AVX-512 only"},
}

// AVX512Problems scans Go assembly (as avo prints it) for anything only
// AVX-512 has, one message per offending line: "file:line: INSTR ...: why".
// Comments, directives (TEXT, DATA, GLOBL, #include), labels and blank
// lines are skipped. An AVX-512 variant lives in files whose name contains
// "avx512"; callers skip those (see IsAVX512File).
func AVX512Problems(file string, asm []byte) []string {
	var out []string
	for i, line := range strings.Split(string(asm), "\n") {
		if c := strings.Index(line, "//"); c >= 0 {
			line = line[:c]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasSuffix(line, ":") || strings.HasPrefix(line, "#") {
			continue
		}
		if op, _, _ := strings.Cut(line, " "); op == "TEXT" || op == "DATA" || op == "GLOBL" || op == "PCDATA" || op == "FUNCDATA" {
			continue
		}
		for _, p := range evexPatterns {
			if p.re.MatchString(line) {
				out = append(out, fmt.Sprintf("%s:%d: %s: %s", file, i+1, line, p.why))
				break
			}
		}
	}
	return out
}

// IsAVX512File reports whether a file of a generated package holds the
// AVX-512 variant (named like gconv_avx512_amd64.s), which the AVX2 check
// does not apply to: it runs only when the CPU has AVX-512.
func IsAVX512File(name string) bool { return strings.Contains(strings.ToLower(name), "avx512") }
