# convgen: generate, test, fuzz and benchmark the kernel packages.
GO      ?= go
PRESETS := alexnet resnext50 mobilenetv1 mobilenetv2 shufflenetv1
FUZZTIME ?= 2s

.PHONY: all generate check-generated vet test test-go test-purego fuzz bench demo clean

all: test

# Regenerate every preset package from its spec.json (the //go:generate line in doc.go).
generate:
	$(GO) generate ./generated/...

# Fails when the checked-in packages differ from a fresh regeneration (done in memory; nothing is written).
check-generated:
	$(GO) test -count=1 -run 'TestPresetsUpToDate' ./gen

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	GOARCH=arm64 $(GO) vet ./generated/...

test-go:
	$(GO) test -count=1 ./...

test-purego:
	$(GO) test -count=1 -tags purego ./...

# The README's test command: vet, regeneration check, tests on both kernel paths.
test: vet check-generated test-go test-purego

# Each preset layer's Fuzz target for $(FUZZTIME) (default 2s).
fuzz:
	@for p in $(PRESETS); do \
	  for f in $$($(GO) test -list '^Fuzz' ./generated/$$p | grep '^Fuzz'); do \
	    echo "fuzz $$p $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./generated/$$p >fuzz.log 2>&1 || { cat fuzz.log; exit 1; }; \
	  done; \
	done; rm -f fuzz.log

# GFLOP/s per preset layer: AVX2, pure Go and the naive loop side by side.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./generated/mobilenetv2 ./generated/resnext50

# The README's first command: generate a package from a preset and run it.
demo:
	$(GO) run ./cmd/convgen -spec generated/mobilenetv2/spec.json -pkg demo -out demo
	$(GO) test ./demo
	$(GO) test -run '^$$' -bench 'B2_dw' ./demo

clean:
	rm -rf demo
