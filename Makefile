# bcachefs-tools: a C implementation of the bcachefs userspace tools.

PREFIX		?= /usr/local
ROOT_SBINDIR	?= /sbin
MANDIR		?= $(PREFIX)/share/man
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions
DESTDIR		?=

CC		?= gcc
PKGS		:= blkid uuid liblz4 libzstd zlib libxxhash libsodium libudev
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lkeyutils -laio

WARN		:= -Wall -Wextra -Werror -Wno-unused-parameter \
		   -Wno-missing-field-initializers
BASE_CFLAGS	:= -std=gnu11 -g $(WARN) -Iinclude -Ilibbcachefs \
		   -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE $(PKG_CFLAGS)
OPT		?= -O2
CFLAGS		?=
LDFLAGS		?=

VERSION		:= $(shell cat VERSION 2>/dev/null || echo 0.0)
# parallel compiles for make check (the tests themselves set their own pace)
JOBS		?= $(shell nproc 2>/dev/null || echo 2)

LIB_SRCS	:= $(sort $(wildcard libbcachefs/*/*.c))
CMD_SRCS	:= $(sort $(wildcard cmd/*.c))
UNIT_SRCS	:= $(sort $(wildcard tests/unit/test_*.c))
# helpers the shell tests run (built against the library, never installed)
TOOL_SRCS	:= $(sort $(wildcard tests/tools/*.c))

# Two builds share the sources: build/rel (the tool) and build/san
# (AddressSanitizer + UndefinedBehaviorSanitizer, for the unit tests).
rel_CFLAGS	:= $(BASE_CFLAGS) $(OPT) -DBCH_TOOLS_VERSION='"$(VERSION)"' $(CFLAGS)
san_CFLAGS	:= $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer \
		   -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -DBCH_TOOLS_VERSION='"$(VERSION)"' $(CFLAGS)
san_LDFLAGS	:= -fsanitize=address,undefined

objs = $(patsubst %.c,build/$(1)/%.o,$(2))


.PHONY: all clean install man check unit unit-san deps test-deps test-tools diff-tests bench
all: bcachefs mkfs.bcachefs fsck.bcachefs

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(rel_CFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(san_CFLAGS) -MMD -MP -c $< -o $@

build/rel/libbcachefs.a: $(call objs,rel,$(LIB_SRCS))
	$(AR) rcs $@ $^

build/san/libbcachefs.a: $(call objs,san,$(LIB_SRCS))
	$(AR) rcs $@ $^

bcachefs: $(call objs,rel,$(CMD_SRCS)) build/rel/libbcachefs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

mkfs.bcachefs fsck.bcachefs: bcachefs
	ln -sf bcachefs $@

# The man page comes from the command tables, like --help; tests check the
# committed copy is current.
man: bcachefs
	./bcachefs --man-page > bcachefs.8

build/rel/tests/unit/%: build/rel/tests/unit/%.o build/rel/libbcachefs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs check) $(PKG_LIBS) -lm

build/san/tests/unit/%: build/san/tests/unit/%.o build/san/libbcachefs.a
	$(CC) $(san_LDFLAGS) -o $@ $^ $(shell pkg-config --libs check) $(PKG_LIBS) -lm

UNIT_REL	:= $(patsubst %.c,build/rel/%,$(UNIT_SRCS))
UNIT_SAN	:= $(patsubst %.c,build/san/%,$(UNIT_SRCS))
TOOLS		:= $(patsubst %.c,build/rel/%,$(TOOL_SRCS))

build/rel/tests/tools/%: build/rel/tests/tools/%.o build/rel/libbcachefs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# programs the tests also run inside the kernel VM: static, no library
GUEST		:= build/guest/treestat

build/guest/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $< -l:libsodium.a

test-tools: $(TOOLS) $(GUEST)

deps:
	@packaging/install-deps.sh

test-deps:
	@packaging/install-deps.sh --test

unit: $(UNIT_REL)
	@for t in $(UNIT_REL); do echo "== $$t"; CK_FORK=yes $$t || exit 1; done

unit-san: $(UNIT_SAN)
	@for t in $(UNIT_SAN); do echo "== $$t (asan+ubsan)"; CK_FORK=no $$t || exit 1; done

diff-tests: all test-tools
	@tests/run-tests.sh

check: test-deps
	$(MAKE) -j$(JOBS) all test-tools $(UNIT_REL) $(UNIT_SAN)
	$(MAKE) unit unit-san
	$(MAKE) diff-tests

# bench/overlay.c: the overlay index alone (bench/overlay.sh runs it)
build/rel/bench/overlay: build/rel/bench/overlay.o build/rel/libbcachefs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

bench: all build/rel/bench/overlay
	@for b in bench/*.sh; do sh $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(ROOT_SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 bcachefs $(DESTDIR)$(ROOT_SBINDIR)/bcachefs
	ln -sf bcachefs $(DESTDIR)$(ROOT_SBINDIR)/mkfs.bcachefs
	ln -sf bcachefs $(DESTDIR)$(ROOT_SBINDIR)/fsck.bcachefs
	install -m 0644 bcachefs.8 $(DESTDIR)$(MANDIR)/man8/bcachefs.8
	install -m 0644 completions/bcachefs.bash $(DESTDIR)$(BASHCOMPDIR)/bcachefs

clean:
	rm -rf build bcachefs mkfs.bcachefs fsck.bcachefs

-include $(shell find build -name '*.d' 2>/dev/null)
