# gw -- a real-time WebSocket gateway.  See README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
SHAREDIR ?= $(PREFIX)/share/gw
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system

CFLAGS ?= -O2 -g
# libev and wslay ship no .pc file on Debian: fall back to plain -l flags.
PKGS := hiredis jansson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) \
	$(shell pkg-config --libs libev 2>/dev/null || echo -lev) \
	$(shell pkg-config --libs libwslay 2>/dev/null || echo -lwslay)

# B is the build directory; SAN=1 builds with ASan+UBSan, SAN=fuzz with
# libFuzzer instrumentation (clang only).
B ?= build
SAN ?=
ifeq ($(SAN),1)
SANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
endif
ifeq ($(SAN),fuzz)
SANFLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
endif
override CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wstrict-prototypes -Wmissing-prototypes -Wshadow -Ilib \
	$(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS)
override LDFLAGS := $(LDFLAGS) $(filter-out -fsanitize=fuzzer-no-link%,$(SANFLAGS))

BINS := gw-listen gw-bridge gw-presence gwctl gw-supervise gw-bench
LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard lib/*.c))
LISTEN_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gw-listen/*.c))
BRIDGE_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gw-bridge/*.c))
PRESENCE_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gw-presence/*.c))
GWCTL_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gwctl/*.c))
SUPERVISE_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gw-supervise/*.c))
BENCH_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/gw-bench/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/*_test.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))
FUZZ_SECONDS ?= 15

all: $(BINS:%=$(B)/%)

# "make gw-presence" (with B= and SAN= as wanted) builds one binary.
$(BINS): %: $(B)/%

$(B)/%.o: %.c $(wildcard lib/*.h cmd/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libgw.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(B)/gw-listen: $(LISTEN_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(LISTEN_OBJS) $(B)/libgw.a $(PKG_LIBS)

$(B)/gw-bridge: $(BRIDGE_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(BRIDGE_OBJS) $(B)/libgw.a $(PKG_LIBS)

$(B)/gw-presence: $(PRESENCE_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(PRESENCE_OBJS) $(B)/libgw.a $(PKG_LIBS) -lm

$(B)/gwctl: $(GWCTL_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(GWCTL_OBJS) $(B)/libgw.a $(PKG_LIBS)

$(B)/gw-supervise: $(SUPERVISE_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(SUPERVISE_OBJS) $(B)/libgw.a $(PKG_LIBS)

$(B)/gw-bench: $(BENCH_OBJS) $(B)/libgw.a
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(B)/libgw.a $(PKG_LIBS) -lm

# Unit tests: one per module; those of a binary's module link its object.
UNIT_EXTRA_proto_test := $(B)/cmd/gw-listen/proto.o
UNIT_EXTRA_presence_test := $(B)/cmd/gw-presence/pjson.o
UNIT_EXTRA_static_test := $(B)/cmd/gw-listen/static.o
UNIT_EXTRA_oq_test := $(B)/cmd/gw-listen/oq.o
UNIT_EXTRA_expiry_test := $(B)/cmd/gw-listen/expiry.o
UNIT_EXTRA_jscan_test := $(B)/cmd/gw-listen/jscan.o
UNIT_EXTRA_rqueue_test := $(B)/cmd/gw-presence/rqueue.o
.SECONDEXPANSION:
$(B)/unit/%: tests/unit/%.c tests/unit/tap.h tests/unit/ipc_layout.h $$(UNIT_EXTRA_$$*) $(B)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -Icmd/gw-listen $(LDFLAGS) -o $@ $< \
	    $(UNIT_EXTRA_$*) $(B)/libgw.a $(PKG_LIBS)

unit-bins: $(UNIT_TESTS)

unit: unit-bins
	@for t in $(UNIT_TESTS); do echo "# $$t"; $$t || exit 1; done

# libFuzzer targets (clang).  "make fuzz" runs each for FUZZ_SECONDS=300.
UNIT_EXTRA_proto_fuzz := $(B)/cmd/gw-listen/proto.o
UNIT_EXTRA_jscan_fuzz := $(B)/cmd/gw-listen/jscan.o
UNIT_EXTRA_client_fuzz := $(filter-out %/main.o %/link.o,$(LISTEN_OBJS))
$(B)/fuzz/%: tests/fuzz/%.c $$(UNIT_EXTRA_$$*) $(B)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icmd/gw-listen -fsanitize=fuzzer -o $@ $< \
	    $(UNIT_EXTRA_$*) $(B)/libgw.a $(PKG_LIBS)

fuzz-bins: $(FUZZ_TARGETS)

fuzz:
	$(MAKE) B=build-fuzz SAN=fuzz CC=clang fuzz-bins
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} sh tests/fuzz/run.sh build-fuzz

deps:
	@sh share/deps.sh

test: deps
	@sh tests/run.sh

# make test, with every bats suite (not only the daemons') against the
# ASan+UBSan builds, gwctl and gw-supervise included, and the unit tests
# under valgrind.
check: deps
	@GW_CHECK_ALL=1 sh tests/run.sh

run: deps all
	@sh share/run.sh

bench: deps all
	@bash share/bench/idle-rss.sh
	@bash share/bench/presence.sh
	@bash share/bench/gw-bench.sh
	@bash share/bench/heartbeats.sh
	@bash share/bench/closes.sh

# make bench-peers: the same gw-bench scenarios against gw, Nchan and
# Socket.IO in one sitting (installs nginx, libnginx-mod-nchan and
# socket.io if missing); not part of make test.
bench-peers: deps all
	@bash share/bench/peers.sh

# cppcheck does not read jansson.h: its two iteration macros are given.
CPPCHECK_FLAGS = --quiet --error-exitcode=1 --enable=warning,portability \
	--std=c11 --inline-suppr --suppress=missingIncludeSystem -Ilib \
	-D_GNU_SOURCE '-Djson_array_foreach(a,i,v)=for(i=0;i<1;i++)' \
	'-Djson_object_foreach(o,k,v)=for(k=0;k;)'
# The static analyzer, without its advice to use Annex K functions.
TIDY_CHECKS = -*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*

# make soak: SOAK_MINUTES (default 30) of mixed traffic against two nodes
# (share/soak.sh); not part of make test.
soak: deps all
	@bash share/soak.sh

lint:
	mandoc -Tlint -Wwarning man/*.[0-9]
	shellcheck share/*.sh share/bench/*.sh tests/*.sh tests/fuzz/*.sh
	shellcheck -s bash completions/bash/*
	cppcheck $(CPPCHECK_FLAGS) lib cmd
	@mkdir -p $(B)
	@# One file per run: clang-tidy 14 given several reports false
	@# uninitialized va_lists.
	ls lib/*.c cmd/*/*.c | xargs -P 2 -n 1 sh -c 'clang-tidy -quiet \
	    --warnings-as-errors="*" -checks="$(TIDY_CHECKS)" "$$0" -- \
	    -std=c11 -D_GNU_SOURCE -Ilib $(PKG_CFLAGS)' >$(B)/tidy.out 2>&1; \
	    st=$$?; \
	    grep -v 'warnings generated\|^Suppressed\|-header-filter' \
	    $(B)/tidy.out; exit $$st

install: all
	mkdir -p $(DESTDIR)$(BINDIR)
	install -m 0755 $(BINS:%=$(B)/%) $(DESTDIR)$(BINDIR)
	for s in 1 5 7 8; do for f in man/*.$$s; do [ -e "$$f" ] || continue; \
	    mkdir -p $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s; done; done
	mkdir -p $(DESTDIR)$(SHAREDIR)
	cp -R share/. $(DESTDIR)$(SHAREDIR)
	rm -rf $(DESTDIR)$(SHAREDIR)/systemd
	mkdir -p $(DESTDIR)$(SYSTEMDDIR)
	sed 's,@BINDIR@,$(BINDIR),g; s,@SHAREDIR@,$(SHAREDIR),g' \
	    share/systemd/gw-supervise.service \
	    >$(DESTDIR)$(SYSTEMDDIR)/gw-supervise.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/gw-supervise.service
	mkdir -p $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completions/bash/* $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completions/zsh/_gw $(DESTDIR)$(ZSHCOMPDIR)

uninstall:
	for b in $(BINS); do rm -f $(DESTDIR)$(BINDIR)/$$b; done
	for f in man/*.[0-9]; do s=$${f##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}; done
	for f in completions/bash/*; do \
	    rm -f $(DESTDIR)$(BASHCOMPDIR)/$${f##*/}; done
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_gw
	rm -rf $(DESTDIR)$(SHAREDIR)
	rm -f $(DESTDIR)$(SYSTEMDDIR)/gw-supervise.service

clean:
	rm -rf build build-san build-fuzz

.PHONY: all $(BINS) unit unit-bins fuzz fuzz-bins deps test check run bench \
	bench-peers soak lint install uninstall clean
