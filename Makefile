# convgen: generate, test, fuzz and benchmark the kernel packages.
GO      ?= go
PRESETS := alexnet resnext50 mobilenetv1 mobilenetv2 mobilenetv2_nchw shufflenetv1
FUZZTIME ?= 2s

.PHONY: all generate check-generated vet test test-go test-purego fuzz bench demo clean

all: test

# Regenerate every preset package from its spec.json (the //go:generate line
# in doc.go), GENERATE_JOBS packages at a time (default: one per CPU; go
# generate ./... runs them one after the other).
GENERATE_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
generate:
	$(GO) list ./generated/... | xargs -n 1 -P $(GENERATE_JOBS) $(GO) generate

# Fails when the checked-in packages differ from a fresh regeneration (done in memory; nothing is written).
check-generated:
	$(GO) test -count=1 -run 'TestPresetsUpToDate' ./gen

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	GOARCH=arm64 $(GO) vet ./generated/...

# test-go and test-purego leave out the regeneration check (check-generated
# runs it once; it takes half a minute and depends on no build tag).
test-go:
	$(GO) test -count=1 -skip '^TestPresetsUpToDate$$' ./...

test-purego:
	$(GO) test -count=1 -tags purego -skip '^TestPresetsUpToDate$$' ./...

# The README's test command: vet, regeneration check, tests on both kernel paths.
test: vet check-generated test-go test-purego

# Each preset layer's Fuzz target for $(FUZZTIME) (default 2s), built with
# -tags $(FUZZTAGS) when FUZZTAGS is set (FUZZTAGS=purego: the Go kernels).
# Prints each target's last "execs: N" line: the inputs tried after the
# saved corpus (in the Go build cache) was replayed. .ci/fuzz-one runs each
# target and tells Go 1.26's fuzz-deadline flake from a real failure.
FUZZTAGS ?=
FUZZFLAGS = $(if $(FUZZTAGS),-tags $(FUZZTAGS))
fuzz:
	@for p in $(PRESETS); do \
	  for f in $$($(GO) test $(FUZZFLAGS) -list '^Fuzz' ./generated/$$p | grep '^Fuzz'); do \
	    bash .ci/fuzz-one generated/$$p $$f $(FUZZTIME) $(FUZZFLAGS) || exit 1; \
	  done; \
	done

# CI's fuzz set (.ci/run): the targets listed in .ci/fuzz-targets, one
# layer per kernel class of the presets (that file says how they were
# chosen; internal/cifuzz's test keeps it covering every class), each for
# $(FUZZTIME) with $(FUZZFLAGS). make fuzz runs all of them.
.PHONY: fuzz-ci
fuzz-ci:
	@grep -v '^#' .ci/fuzz-targets | while read -r p f _; do \
	  [ -n "$$p" ] || continue; \
	  bash .ci/fuzz-one generated/$$p $$f $(FUZZTIME) $(FUZZFLAGS) || exit 1; \
	done

.PHONY: fuzz-spec sweep race

# The spec parser's fuzz targets (JSON and -layer forms; gen's and
# internal/specsweep's, which also generate what they accept) for
# $(SPECFUZZTIME) each.
SPECFUZZTIME ?= 10s
fuzz-spec:
	@for t in "FuzzParseSpec ./gen" "FuzzParseInlineLayer ./gen" "FuzzSpecGenerates ./internal/specsweep" "FuzzInlineGenerates ./internal/specsweep"; do \
	  set -- $$t; \
	  bash .ci/fuzz-one $${2#./} $$1 $(SPECFUZZTIME) || exit 1; \
	done

# The randomized shape sweep: ~50 random valid layers generated, vetted and
# verified on both kernel paths. SEED=N repeats a run (its seed is printed).
sweep:
	CONVGEN_SWEEP_SEED=$(SEED) $(GO) test -count=1 -run '^TestRandomSpecs$$' -v ./internal/specsweep

# The race detector over concurrent use of one layer from many goroutines
# (RACE_RUN selects the tests; the race detector makes them slow). The
# generated /frames subtests check framed rows at the spec's width against
# the naive loop, slow under -race; the driver's TestForwardFramed runs
# framed rows on several workers instead.
RACE_RUN ?= Concurrent|Parallel|TestForwardMatchesNaive|TestForwardFramed|TestWalkStrategies|TestSplitRows|TestB2_dw$$|TestConv2$$
race:
	$(GO) test -race -count=1 -run '$(RACE_RUN)' -skip '//frames$$' ./generated/... ./templates/driver ./verify

# The benchmark set bench/spec.json: convgen's kernels (generated into
# bench/kernels) beside oneDNN (also limited to AVX2) and XNNPACK (cgo, in
# the bench/ module only), all on one thread, as one markdown table on stdout
# and in bench/results/latest.md. BENCH_COUNT=3 takes the median of 3 runs per cell.
# The last column is the best convgen result over the FMA peak of its ISA,
# measured each pass by bench/peak (BenchmarkFMAPeak/avx2, /avx512, one
# thread); PEAK=N (GFLOP/s) divides every row by N instead. See bench/README.md.
BENCH_COUNT ?= 1
PEAK        ?=
PEAK_FLAG    = $(if $(PEAK),-peak $(PEAK))
BENCH_ENV   := GOMAXPROCS=1 OMP_NUM_THREADS=1
# oneDNN reads its ISA limit once per process: the main run has none (the
# "oneDNN" column), BenchmarkOneDNNAVX2 runs in processes of its own with
# ONEDNN_MAX_CPU_ISA=AVX2 (the "oneDNN AVX2" column).
BENCH_ISA_ALL  := env -u ONEDNN_MAX_CPU_ISA -u DNNL_MAX_CPU_ISA
BENCH_ISA_AVX2 := ONEDNN_MAX_CPU_ISA=AVX2

.PHONY: bench-deps bench-smoke

# The peers' headers (libxnnpack-dev lacks a dependency on libpthreadpool-dev,
# whose header xnnpack.h includes), then the kernels package.
bench-deps:
	@test -f /usr/include/oneapi/dnnl/dnnl.h -a -f /usr/include/xnnpack.h -a -f /usr/include/pthreadpool.h || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev libxnnpack-dev libpthreadpool-dev; }
	cd bench && $(GO) generate .

# BENCH_COUNT whole passes rather than go test -count: a burst of load from
# elsewhere then hits one run of many cells, not every run of one cell. Each
# pass is the FMA peak, convgen's kernels and the peers on one thread, the
# AVX2-limited oneDNN, then ForwardParallel (the *_parallel columns) on 2
# threads; one go test at a time. The AVX2-limited oneDNN runs one row per
# process (bench/peers/onednn-avx2-rows), a failed row once more in a new
# process, so that a crash of the library costs at most its row (2.6 crashed
# in its global scratchpad before the wrapper gave each primitive its own).
# The table is made even when a benchmark failed (a peer off the reference
# shows as "wrong"); the target fails afterwards.
bench: bench-deps
	mkdir -p bench/results
	cd bench && : >results/raw.txt && : >results/failed && : >results/onednn-avx2-retries.txt && for i in $$(seq $(BENCH_COUNT)); do \
	  { $(BENCH_ENV) $(GO) test -run '^$$' -bench '^BenchmarkFMAPeak$$' -benchtime 1s ./peak || echo "pass $$i (FMA peak)" >>results/failed; } 2>&1 | tee -a results/raw.txt; \
	  { $(BENCH_ISA_ALL) $(BENCH_ENV) $(GO) test -run '^$$' -bench '/^[a-z0-9]+$$' -benchtime 1s ./kernels || echo "pass $$i" >>results/failed; } 2>&1 | tee -a results/raw.txt; \
	  { $(BENCH_ISA_ALL) $(BENCH_ENV) $(GO) test -run '^$$' -bench . -benchtime 1s ./peers || echo "pass $$i (peers)" >>results/failed; } 2>&1 | tee -a results/raw.txt; \
	  { $(BENCH_ENV) GO=$(GO) bash peers/onednn-avx2-rows 1s || echo "pass $$i (oneDNN AVX2)" >>results/failed; } 2>&1 | tee -a results/raw.txt; \
	  { GOMAXPROCS=2 $(GO) test -run '^$$' -bench '/_parallel$$' -benchtime 1s ./kernels || echo "pass $$i (2 threads)" >>results/failed; } 2>&1 | tee -a results/raw.txt; \
	done
	cd bench && $(GO) run ./cmd/table -spec spec.json $(PEAK_FLAG) -parallel results/raw.txt >results/latest.md && cat results/latest.md
	@test ! -s bench/results/onednn-avx2-retries.txt || echo "bench: oneDNN AVX2 rows run twice after a failed first attempt: $$(grep -c '^== ' bench/results/onednn-avx2-retries.txt) (bench/results/onednn-avx2-retries.txt)"
	@test ! -s bench/results/failed || { echo "bench: go test failed (see bench/results/raw.txt)"; exit 1; }

# The capabilities set bench/capabilities.json (generated into
# bench/capabilities, no cgo): MobileNet v2's fused blocks against their two
# layers, NCHW against NHWC, a shuffled layer against the same unshuffled, the
# depthwise channel multiplier against plain depthwise, and 2 threads against
# one, as ratio tables on stdout and in bench/results/capabilities.md. Per
# pass: the kernels and blocks on one thread, the NCHW and multiplier rows'
# Go paths and naive loop, then ForwardParallel on 2 threads.
.PHONY: bench-capabilities
bench-capabilities:
	cd bench && $(GO) generate .
	mkdir -p bench/results
	cd bench && : >results/capabilities.txt && : >results/failed && for i in $$(seq $(BENCH_COUNT)); do \
	  { $(BENCH_ENV) $(GO) test -run '^$$' -bench '/^(avx2|avx512|fused|unfused)$$' -benchtime 1s ./capabilities || echo "pass $$i" >>results/failed; } 2>&1 | tee -a results/capabilities.txt; \
	  { $(BENCH_ENV) $(GO) test -run '^$$' -bench '(_nchw|Dwm.*)$$/^(purego|naive)$$' -benchtime 1s ./capabilities || echo "pass $$i (Go paths)" >>results/failed; } 2>&1 | tee -a results/capabilities.txt; \
	  { GOMAXPROCS=2 $(GO) test -run '^$$' -bench '/_parallel$$' -benchtime 1s ./capabilities || echo "pass $$i (2 threads)" >>results/failed; } 2>&1 | tee -a results/capabilities.txt; \
	done
	cd bench && $(GO) run ./cmd/captable -spec capabilities.json results/capabilities.txt >results/capabilities.md && cat results/capabilities.md
	@test ! -s bench/results/failed || { echo "bench-capabilities: go test failed (see bench/results/capabilities.txt)"; exit 1; }

# CI: vet, the peers' reference checks, the FMA peak kernels and the table
# tools' tests, then every benchmark once (the FMA peak for 100 ms), the
# AVX2-limited oneDNN's reference checks (also with runners run on another
# OS thread than the one that built them) and benchmarks once in their own
# process, and the table.
bench-smoke: bench-deps
	mkdir -p bench/results
	cd bench && $(GO) vet ./...
	cd bench && $(BENCH_ISA_ALL) $(BENCH_ENV) $(GO) test -count=1 ./peers ./peak ./internal/... ./cmd/...
	cd bench && $(BENCH_ISA_ALL) $(BENCH_ENV) $(GO) test -p 1 -run '^$$' -bench . -benchtime 1x ./kernels ./peers >results/smoke.txt 2>&1 || { cat results/smoke.txt; exit 1; }
	cd bench && $(BENCH_ENV) $(GO) test -run '^$$' -bench '^BenchmarkFMAPeak$$' -benchtime 100ms ./peak >>results/smoke.txt 2>&1 || { cat results/smoke.txt; exit 1; }
	cd bench && $(BENCH_ENV) $(BENCH_ISA_AVX2) $(GO) test -count=1 -run '^(TestOneDNNAVX2|TestOneDNNAcrossThreads)$$' -bench '^BenchmarkOneDNNAVX2$$' -benchtime 1x ./peers >>results/smoke.txt 2>&1 || { cat results/smoke.txt; exit 1; }
	cd bench && $(GO) run ./cmd/table -spec spec.json $(PEAK_FLAG) results/smoke.txt

# The README's first command: generate a package from a preset and run it.
demo:
	$(GO) run ./cmd/convgen -spec generated/mobilenetv2/spec.json -pkg demo -out demo
	$(GO) test ./demo
	$(GO) test -run '^$$' -bench 'B2_dw' ./demo

clean:
	rm -rf demo
