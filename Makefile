# mswizard — see README.md. `make demo` and `make test` work on a fresh Debian
# machine as root: they install the Debian packages the wizard's tests and demo
# world need (real OpenLDAP, real 389 Directory Server, real daemontools).
GO        ?= go
BIN       := bin/mswizard
BUILD     := build
PKGS      := slapd ldap-utils 389-ds-base daemontools ucspi-tcp procps zstd tmux e2fsprogs mount openssh-server util-linux chromium man-db ansible-core
TESTFLAGS ?= -timeout 40m

.PHONY: cross all build test demo bench lint deps clean man deb deb-test

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

# RACE_PKGS are the packages without end-to-end tests (no simulated host, no
# built binary): make test runs them under the race detector and everything
# else without it, so nothing runs twice. Measured on 2 cores: the race run of
# these takes 3m02s user + 1m17s sys (backup dominates), staticcheck 1m55s user.
RACE_PKGS := ./backup/... ./internal/... ./ldif/... ./steps/configdiff/... ./steps/mailcheck/... ./steps/schema/... ./wizard/...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# E2E_PARALLEL: end-to-end tests mostly wait (for daemons to stop, for the
# probe's delivery, for a killed wizard's children), so more of them run at
# once than there are cores. Each brings up a world of its own (own directory,
# own free ports, own lock beside its server root): nothing they share.
E2E_PARALLEL ?= 4

test: deps lint cross
	$(GO) test -race $(TESTFLAGS) $(RACE_PKGS)
	$(GO) test $(TESTFLAGS) -parallel $(E2E_PARALLEL) $$($(GO) list ./... | grep -vxF "$$($(GO) list $(RACE_PKGS))")
	$(MAKE) deb-test

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
	gofmt -l $$(git ls-files '*.go') | (! grep .) || (echo "gofmt needed" >&2; exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# man writes one page per command (section 8), generated from the commands.
man: build
	rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} ./$(BIN) gen-man $(BUILD)/man

# deb builds build/mswizard_VERSION_ARCH.deb with Debian's own tools only
# (dpkg-deb): the binary in /usr/sbin, the man pages, bash and zsh completions.
DEBVERSION = $$(./$(BIN) version | awk '{print $$2}' | tr - '~')
DEBARCH    = $$(dpkg --print-architecture)
deb: man
	rm -rf $(BUILD)/deb $(BUILD)/mswizard_*.deb && d=$(BUILD)/deb/mswizard && \
	install -D -m 0755 $(BIN) $$d/usr/sbin/mswizard && \
	install -d $$d/usr/share/man/man8 $$d/usr/share/bash-completion/completions $$d/usr/share/zsh/vendor-completions $$d/usr/share/doc/mswizard $$d/DEBIAN && \
	for f in $(BUILD)/man/*.8; do gzip -9n < $$f > $$d/usr/share/man/man8/$$(basename $$f).gz; done && \
	./$(BIN) completion bash > $$d/usr/share/bash-completion/completions/mswizard && \
	./$(BIN) completion zsh > $$d/usr/share/zsh/vendor-completions/_mswizard && \
	gzip -9n < README.md > $$d/usr/share/doc/mswizard/README.md.gz && \
	printf 'Package: mswizard\nVersion: %s\nArchitecture: %s\nMaintainer: mswizard maintainers <root@localhost>\nDepends: libc6\nSuggests: zstd, ldap-utils\nSection: admin\nPriority: optional\nInstalled-Size: %s\nDescription: journaled upgrade and backout of iPlanet / Sun ONE Messaging Server\n mswizard runs the vendor upgrade procedure as one resumable, journaled\n runbook (stop, back up, export, install, merge, restart, check mail flow)\n and backs it out from the journal.\n' \
	  "$(DEBVERSION)" "$(DEBARCH)" "$$(du -sk --exclude=DEBIAN $$d | cut -f1)" > $$d/DEBIAN/control && \
	dpkg-deb --root-owner-group -Zxz --build $$d $(BUILD)/mswizard_$(DEBVERSION)_$(DEBARCH).deb

# deb-test installs the package (root), checks what it put in place and that
# `man mswizard-upgrade` renders, and removes it again.
deb-test: deb
	@[ "$$(id -u)" = 0 ] || { echo "deb-test needs root (dpkg -i)" >&2; exit 1; }
	@command -v man >/dev/null || { echo "man is missing: install the Debian package man-db" >&2; exit 1; }
	@if dpkg -s mswizard >/dev/null 2>&1; then echo "mswizard is already installed; deb-test would remove it" >&2; exit 1; fi
	deb=$$(ls $(BUILD)/mswizard_*.deb) && dpkg -i $$deb >/dev/null && \
	trap 'dpkg -P mswizard >/dev/null' EXIT && \
	/usr/sbin/mswizard version | grep -q '^mswizard ' && \
	test -s /usr/share/bash-completion/completions/mswizard && \
	test -s /usr/share/zsh/vendor-completions/_mswizard && \
	MANPAGER=cat MANWIDTH=80 man mswizard-upgrade 2>/dev/null | grep -q 'mswizard upgrade \[flags\]' && \
	MANPAGER=cat man 8 mswizard | grep -q 'SEE ALSO' && \
	echo "deb-test: $$deb installs, runs, renders its man pages, and is removed"
	@! dpkg -s mswizard >/dev/null 2>&1

clean:
	rm -rf bin $(BUILD)
