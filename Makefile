# vmoments — see README.md. Two commands for a newcomer: `make demo` and `make test`.
GO        ?= go
GOPATHBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOPATHBIN)/staticcheck
# Packages that never touch libvirt's C library.
PURE_PKGS := ./conf/... ./momentlist/...

.PHONY: all deps build test check unit integration bench bench-live demo fuzz clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(GO) build ./...
	@if [ -d cmd/vmoments ]; then $(GO) build -o bin/vmoments ./cmd/vmoments; fi

# Static checks: formatting, vet, staticcheck (over every package, integration tests included).
check: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; find . -name '*.go' -not -path './.git/*') | sort -u); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags integration ./...
	$(STATICCHECK) -tags integration ./...

# Every test: static checks, pure-Go packages with -race, the drivers, and the integration tests
# against a live libvirtd (started if none answers; the run fails without one, it never skips).
test: check
	$(GO) test -race -count=1 $(PURE_PKGS)
	scripts/libvirtd-up
	$(GO) test -race -count=1 -timeout 40m -tags integration $$($(GO) list -tags integration ./... | grep -v -e /conf -e /momentlist)
	$(GO) test -count=1 -run=NONE -bench=. -benchtime=1x ./...
	$(GO) test -count=1 -tags integration -run=NONE -bench=. -benchtime=1x ./driver/qemu/

unit: deps
	$(GO) test -race -count=1 $(PURE_PKGS)

bench: deps
	$(GO) test -run=NONE -bench=. -benchmem ./...

# vmoments side by side with virsh on the live libvirtd (bench/README.md): ~5 min, needs root.
bench-live: build
	scripts/libvirtd-up
	bench/run

# Run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz: deps
	@for t in $$($(GO) test -list 'Fuzz.*' ./conf/ | grep ^Fuzz); do \
	  echo "fuzzing $$t for $(FUZZTIME)"; $(GO) test -run=NONE -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) ./conf/ || exit 1; done

demo: build
	@scripts/demo

clean:
	rm -rf bin
