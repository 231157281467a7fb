# vmoments — see README.md. Two commands for a newcomer: `make demo` and `make test`.
# Only `deps`, `deps-demo` and the targets that call them (`demo`, `test`) install anything;
# the others use what is there and say what is missing.
GO        ?= go
GOPATHBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(GOPATHBIN)/staticcheck)
# Packages that never touch libvirt's C library.
PURE_PKGS := ./conf/... ./momentlist/...
# The version `vmoments --version` prints and exports record ("" outside a git work tree).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS   := -X main.buildVersion=$(VERSION)

.PHONY: all deps deps-demo build check unit test integration bench bench-live fuzz demo clean

all: build

# What `make test` needs (Debian packages as root, the Go modules, staticcheck).
deps:
	@scripts/install-deps test

# What `make demo` needs: a C compiler, libvirt's client library and headers, xmllint.
deps-demo:
	@scripts/install-deps demo

build:
	$(GO) build ./...
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/vmoments ./cmd/vmoments

# Static checks: go.mod and go.sum tidy, formatting, vet and staticcheck, each over every
# package with and without the integration tests.
check:
	@if [ ! -x "$(STATICCHECK)" ]; then echo "check: $(STATICCHECK) is missing: run make deps (or go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)" >&2; exit 1; fi
	$(GO) mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; find . -name '*.go' -not -path './.git/*') | sort -u); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags integration ./...

# Every test: the packages it needs, the static checks, the pure-Go packages with -race, the
# drivers and the integration tests against a live libvirtd (started if none answers; the run
# fails without one, it never skips), then every benchmark once.
test: deps
	@$(MAKE) --no-print-directory check
	$(GO) test -race -count=1 $(PURE_PKGS)
	scripts/libvirtd-up
	$(GO) test -race -count=1 -timeout 40m -tags integration $$($(GO) list -tags integration ./... | grep -v -e /conf -e /momentlist)
	$(GO) test -count=1 -run=NONE -bench=. -benchtime=1x ./...
	$(GO) test -count=1 -tags integration -run=NONE -bench=. -benchtime=1x ./driver/qemu/

unit:
	$(GO) test -race -count=1 $(PURE_PKGS)

# The end-to-end tests alone (integration/README.md): real QEMU guests on the live libvirtd.
integration:
	scripts/libvirtd-up
	$(GO) test -race -count=1 -timeout 40m -tags integration ./integration/

bench:
	$(GO) test -run=NONE -bench=. -benchmem ./...

# vmoments side by side with virsh on the live libvirtd (bench/README.md): ~10 min, needs root.
bench-live: build
	scripts/libvirtd-up
	bench/run

# Run every fuzz target of every package for FUZZTIME (default 30s) each; the targets are
# found with `go test -list`, so a new one is fuzzed without a change here.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "$$list"; exit 1; }; \
	  for t in $$(echo "$$list" | grep '^Fuzz'); do \
	    echo "fuzzing $$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run=NONE -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: deps-demo
	@$(MAKE) --no-print-directory build
	@scripts/demo

clean:
	rm -rf bin
