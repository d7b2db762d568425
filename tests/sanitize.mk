## The library built with clang's sanitizers, outside automake (the
## source tree may be configured in place, which rules out a second
## configured build directory). Every common/*.c goes in, statically, so
## that a new source file or test needs no edit here:
##
##   make -f tests/sanitize.mk srcdir=. out=build-sanitize unit
##	every tests/unit/test_*.c, under ASan+UBSan, in OUT/unit/
##   make -f tests/sanitize.mk srcdir=. out=build-fuzz fuzz
##	every tests/fuzz/fuzz_*.c as a libFuzzer target, in OUT/fuzz/
##
## Every sanitizer report is fatal (-fno-sanitize-recover=all).
##
## SPDX-License-Identifier: GPL-2.0-or-later

srcdir ?= .
out ?= build-sanitize
CLANG ?= clang
PKG_CONFIG ?= pkg-config

PKGS = json-c munge hwloc
SANITIZERS = address,undefined
SAN = -fsanitize=$(SANITIZERS) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
WARN = -Wall -Wextra -Wshadow -Wformat -Wformat-security -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
CFLAGS_ALL = -std=gnu11 -g -O1 $(WARN) -pthread -D_GNU_SOURCE \
	-I$(srcdir)/common $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -pthread -lm

LIB_SRC = $(wildcard $(srcdir)/common/*.c)
UNIT_SRC = $(wildcard $(srcdir)/tests/unit/test_*.c)
FUZZ_SRC = $(wildcard $(srcdir)/tests/fuzz/fuzz_*.c)

UNIT_OBJ = $(patsubst $(srcdir)/common/%.c,$(out)/unit/obj/%.o,$(LIB_SRC))
FUZZ_OBJ = $(patsubst $(srcdir)/common/%.c,$(out)/fuzz/obj/%.o,$(LIB_SRC))
UNIT_BIN = $(patsubst $(srcdir)/tests/unit/%.c,$(out)/unit/%,$(UNIT_SRC))
FUZZ_BIN = $(patsubst $(srcdir)/tests/fuzz/%.c,$(out)/fuzz/%,$(FUZZ_SRC))

unit: $(UNIT_BIN)
fuzz: $(FUZZ_BIN)
.PHONY: unit fuzz

$(out)/unit/obj/%.o: $(srcdir)/common/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_ALL) $(SAN) -MMD -MP -c -o $@ $<

$(out)/unit/%: $(srcdir)/tests/unit/%.c $(UNIT_OBJ)
	$(CLANG) $(CFLAGS_ALL) $(SAN) -MMD -MP -o $@ $< $(UNIT_OBJ) $(LIBS)

## -fsanitize=fuzzer-no-link: the library gets coverage, and only the
## targets link libFuzzer's main.
$(out)/fuzz/obj/%.o: $(srcdir)/common/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_ALL) $(SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(out)/fuzz/%: $(srcdir)/tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_ALL) -I$(srcdir)/tests/fuzz $(SAN) -fsanitize=fuzzer -MMD -MP \
		-o $@ $< $(FUZZ_OBJ) $(LIBS)

-include $(wildcard $(out)/*/obj/*.d $(out)/*/*.d)
