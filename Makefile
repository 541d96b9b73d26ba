# mswizard — see README.md. `make demo` and `make test` work on a fresh Debian
# machine as root: they install the Debian packages the wizard's tests and demo
# world need (real OpenLDAP, real 389 Directory Server, real daemontools).
GO        ?= go
BIN       := bin/mswizard
PKGS      := slapd ldap-utils 389-ds-base daemontools ucspi-tcp procps zstd tmux e2fsprogs mount openssh-server util-linux
TESTFLAGS ?= -timeout 15m

.PHONY: cross all build test demo bench lint deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mswizard

# deps installs what is missing (as root), or says what to install.
deps:
	@missing=""; \
	for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing — run as root: apt-get install$$missing" >&2; exit 1; fi; \
	fi
	@# 389-ds: there is no systemd on these machines (COOKBOOK.md).
	@if [ -f /usr/share/dirsrv/inf/defaults.inf ] && [ "$$(id -u)" = 0 ]; then \
	  sed -i 's/^with_systemd = 1/with_systemd = 0/' /usr/share/dirsrv/inf/defaults.inf; fi

test: deps cross
	gofmt -l $$(git ls-files '*.go') | (! grep .) || (echo "gofmt needed" >&2; exit 1)
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

# cross builds the wizard for the platforms the product ran on that Go
# reaches (Linux-only calls sit behind build tags with portable fallbacks).
cross:
	GOOS=solaris GOARCH=amd64 $(GO) build -o /dev/null ./cmd/mswizard
	GOOS=illumos GOARCH=amd64 $(GO) build -o /dev/null ./cmd/mswizard

demo: deps build
	./$(BIN) demo

bench: deps build
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin
