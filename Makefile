# SPDX-License-Identifier: MIT
#
# gpuvm top-level Makefile.
#
#   make                 build everything into build/
#   make V=1             show full commands
#   make O=dir           build into dir (the source tree stays clean)
#   make CC=clang        any compiler; CONFIG_FOO=y|n overrides gpuvm.config
#   make check           build, then run every test (tests/run-tests.sh)
#   make man             the man pages gpuvm.1, gpuvm.7, gpuvmfs.8 into build/man/
#   make run             the main job
#   make bench           the benchmarks
#   make gpucheck        on a machine with an NVIDIA GPU: the real-driver checks
#   make install         PREFIX=/usr/local DESTDIR= libdir=...; make uninstall
#   make deb             the Debian package, left in build/deb
#   make SANITIZE=address,undefined | SANITIZE=thread
#   make clean | distclean
#
# See Documentation/build.rst.

MAKEFLAGS += -rR --no-print-directory
.SUFFIXES:

srctree := $(CURDIR)
O ?= build
objtree := $(abspath $(O))
V ?= 0

PHONY := all
all:

include $(srctree)/scripts/Kbuild.include
include $(srctree)/gpuvm.config

# ---------------------------------------------------------------------------
# Toolchain and flags

# gcc unless CC is given; "undefined" too: a make started from one of ours
# inherits -R (no built-in variables) through MAKEFLAGS.
ifneq ($(filter default undefined,$(origin CC)),)
CC := gcc
endif
ifneq ($(filter default undefined,$(origin AR)),)
AR := ar
endif
PKG_CONFIG ?= pkg-config

# Build dependencies, before pkg-config is asked about them: installed when
# root, else the exact apt-get line and a stop (scripts/deps.sh; the goals
# add their own, such as rst2man for man and install, pytest for check).
ifeq ($(filter clean distclean gpucheck,$(MAKECMDGOALS)),)
ifneq ($(shell $(srctree)/scripts/deps.sh $(MAKECMDGOALS) >&2; echo $$?),0)
$(error missing build dependencies (see above))
endif
endif

# The toolkit's cuda.h when one is installed, else our declaration header.
CUDA_HOME ?= /usr/local/cuda
ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_INCLUDE := -isystem $(CUDA_HOME)/include
CUDA_H := toolkit ($(CUDA_HOME)/include/cuda.h)
else
CUDA_INCLUDE := -I$(srctree)/include/compat
CUDA_H := gpuvm (include/compat/cuda.h)
endif

NVCC ?= $(wildcard $(CUDA_HOME)/bin/nvcc)
# Real code for Ampere and Hopper, PTX for what comes later.
NVCC_ARCHS ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	      -gencode arch=compute_90,code=compute_90

FUSE_CFLAGS := $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null)
URING_CFLAGS := $(shell $(PKG_CONFIG) --cflags liburing 2>/dev/null)
URING_LIBS := $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# STATIC_DEPS=1: libfuse3, liburing and Check linked statically, so the
# build runs on a machine where they are not installed (make gpucheck).
ifeq ($(STATIC_DEPS),1)
FUSE_LIBS := -Wl,-Bstatic -lfuse3 -Wl,-Bdynamic -lpthread -ldl
URING_LIBS := -Wl,-Bstatic -luring -Wl,-Bdynamic
CHECK_LIBS := -Wl,-Bstatic -lcheck_pic -lsubunit -Wl,-Bdynamic -lm -lrt -pthread
endif

OPTFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNFLAGS += -Werror
endif

config-defines := $(foreach c,$(filter CONFIG_%,$(.VARIABLES)),$(if $(filter y,$($(c))),-D$(c)=1))

SANITIZE ?=
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif

GPUVM_CFLAGS := -std=gnu11 $(OPTFLAGS) $(WARNFLAGS) -fPIC -pthread \
	-fvisibility=hidden -D_GNU_SOURCE $(config-defines) \
	-I$(srctree)/include -I$(srctree)/common $(CUDA_INCLUDE) $(SAN_FLAGS) $(EXTRA_CFLAGS)
GPUVM_LDFLAGS := -pthread $(SAN_FLAGS) $(EXTRA_LDFLAGS)

# libgpuvm.so.$(GPUVM_ABI) (the soname; lib/libgpuvm.so links to it): the
# ABI number grows only when vmm/libgpuvm.map loses or changes a symbol.
GPUVM_ABI := 1
GPUVM_VERSION := 1.0
LIBGPUVM_SONAME := libgpuvm.so.$(GPUVM_ABI)
LIBGPUVM_SO := $(objtree)/lib/$(LIBGPUVM_SONAME)
LIBGPUVM_A := $(objtree)/lib/libgpuvm.a
LIBGPUVM_PRELOAD := $(objtree)/lib/libgpuvm_preload.so
LIBCUDASIM := $(objtree)/lib/cudasim/libcuda.so.1

# Libraries every user of libgpuvm needs (the library itself opens libcuda).
LIBGPUVM_DEPLIBS := -ldl -lrt -lm $(URING_LIBS)

# The man pages, rendered from Documentation/ by docutils' rst2man (Debian's
# python3-docutils calls it rst2man, pip and pyenv rst2man.py).  Not part of
# all; make man and make check build them.
ifeq ($(origin RST2MAN),undefined)
RST2MAN := $(shell command -v rst2man 2>/dev/null || command -v rst2man.py 2>/dev/null)
endif
MAN_DIR := $(objtree)/man
MAN_PAGES := $(MAN_DIR)/gpuvm.1 $(MAN_DIR)/gpuvm.7 $(MAN_DIR)/gpuvmfs.8

# ---------------------------------------------------------------------------
# Commands (each product goes through if_changed; see Kbuild.include)

quiet_cmd_cc_o_c = CC      $(short)
      cmd_cc_o_c = $(CC) $(GPUVM_CFLAGS) $(obj-ccflags) -MMD -MP \
		   -MF $(depfile) -c -o $@ $<

quiet_cmd_ar_lib = AR      $(short)
      cmd_ar_lib = rm -f $@ && $(AR) rcs $@ $(all-lib-objs)

# Commands joined with ; not &&: under if_changed's set -e, a failure in
# the first half of an && list would not stop the recipe.
quiet_cmd_link_libgpuvm = LD      $(short)
      cmd_link_libgpuvm = $(CC) -shared -o $@ $(all-lib-objs) \
		   -Wl,-soname,$(LIBGPUVM_SONAME) -Wl,-z,nodelete \
		   -Wl,--version-script=$(srctree)/vmm/libgpuvm.map \
		   $(GPUVM_LDFLAGS) $(LIBGPUVM_DEPLIBS); \
		   ln -sfn $(LIBGPUVM_SONAME) $(dir $@)libgpuvm.so

quiet_cmd_link_preload = LD      $(short)
      cmd_link_preload = $(CC) -shared -o $@ $(all-preload-objs) \
		   -Wl,-soname,libgpuvm_preload.so -Wl,-z,nodelete \
		   $(GPUVM_LDFLAGS) -L$(objtree)/lib -lgpuvm \
		   -Wl,-rpath,'$$ORIGIN' -ldl

quiet_cmd_link_ar = AR      $(short)
      cmd_link_ar = rm -f $@ && $(AR) rcs $@ $(objs)

quiet_cmd_link_shlib = LD      $(short)
      cmd_link_shlib = $(CC) -shared -o $@ $(objs) $(link-files) \
		   $(prod-ldflags) $(GPUVM_LDFLAGS) $(prod-ldlibs)

# A warning stops rst2man.  It records the files a page includes (none: no
# file); they become .<page>.d, with an empty rule for each (as -MP writes)
# so a removed include breaks nothing.  Simple commands only: if_changed's
# set -e stops at the first that fails.
rst2man-missing = $(error rst2man not found: install python3-docutils \
	(scripts/deps.sh does as root) or name it with RST2MAN=)

quiet_cmd_rst2man = RST2MAN $(short)
      cmd_rst2man = $(if $(RST2MAN),,$(rst2man-missing))rm -f $(depfile).tmp; \
		   $(RST2MAN) --halt=warning --input-encoding=utf-8 \
		   --record-dependencies=$(depfile).tmp $< $@.tmp; \
		   touch $(depfile).tmp; \
		   sed -e 's|^[^/]|$(srctree)/&|' -e 's|^|$@: |' \
		   $(depfile).tmp > $(depfile); \
		   sed -e 's|^[^/]|$(srctree)/&|' -e 's|$$|:|' \
		   $(depfile).tmp >> $(depfile); \
		   rm -f $(depfile).tmp; mv -f $@.tmp $@

quiet_cmd_link_prog = LD      $(short)
      cmd_link_prog = $(CC) -o $@ $(objs) $(link-files) $(prod-ldflags) \
		   $(GPUVM_LDFLAGS) \
		   -Wl,-rpath,'$$ORIGIN/../lib' -Wl,-rpath,'$$ORIGIN/../../lib' \
		   $(prod-ldlibs) \
		   $(if $(filter $(LIBGPUVM_A),$(link-files)),$(LIBGPUVM_DEPLIBS))

# ---------------------------------------------------------------------------
# Read every Kbuild file

include $(srctree)/scripts/Makefile.build

all: $(LIBGPUVM_SO) $(LIBGPUVM_A) $(LIBGPUVM_PRELOAD) $(all-products)

$(LIBGPUVM_SO): $(all-lib-objs) $(srctree)/vmm/libgpuvm.map FORCE
	$(call if_changed,link_libgpuvm)

$(LIBGPUVM_A): $(all-lib-objs) FORCE
	$(call if_changed,ar_lib)

$(LIBGPUVM_PRELOAD): $(all-preload-objs) $(LIBGPUVM_SO) FORCE
	$(call if_changed,link_preload)

$(objtree)/%.o: $(srctree)/%.c FORCE
	$(call if_changed,cc_o_c)

# Generated sources, compiled from the output tree.
$(objtree)/%.o: $(objtree)/%.c FORCE
	$(call if_changed,cc_o_c)

# kernels/*.cu as one fatbin embedded in libgpuvm (gpuvm_kernels_fatbin);
# without nvcc the array is empty and only the C references exist.
quiet_cmd_fatbin_c = $(if $(NVCC),NVCC   ,GEN    ) $(short)
      cmd_fatbin_c = $(if $(NVCC),$(NVCC) -fatbin $(NVCC_ARCHS) \
		   -I$(srctree)/kernels -o $@.fatbin $<;) \
		   $(srctree)/scripts/bin2c.sh gpuvm_kernels_fatbin \
		   $(if $(NVCC),$@.fatbin) > $@

$(objtree)/kernels/module_fatbin.c: $(srctree)/kernels/module.cu \
		$(wildcard $(srctree)/kernels/*.cu) $(srctree)/kernels/kernels.h FORCE
	$(call if_changed,fatbin_c)

# gpuvm(1) is the command's documentation itself; gpuvm(7) and gpuvmfs(8)
# gather parts of other documents (Documentation/man/).
$(MAN_DIR)/gpuvm.1: $(srctree)/Documentation/gpuvm-cli.rst FORCE
	$(call if_changed,rst2man)

$(filter-out %.1,$(MAN_PAGES)): $(MAN_DIR)/%: $(srctree)/Documentation/man/%.rst FORCE
	$(call if_changed,rst2man)

# ---------------------------------------------------------------------------
# Verbs

TEST_ENV := GPUVM_BUILD=$(objtree) GPUVM_SRC=$(srctree) \
	LD_LIBRARY_PATH=$(objtree)/lib/cudasim$(if $(LD_LIBRARY_PATH),:$(LD_LIBRARY_PATH)) \
	SANITIZE=$(SANITIZE) RST2MAN=$(RST2MAN) \
	$(if $(filter address,$(subst $(comma), ,$(SANITIZE))),ASAN_OPTIONS=suppressions=$(srctree)/scripts/sanitizers/asan.supp$(if $(ASAN_OPTIONS),:$(ASAN_OPTIONS))) \
	$(if $(filter thread,$(subst $(comma), ,$(SANITIZE))),TSAN_OPTIONS=suppressions=$(srctree)/scripts/sanitizers/tsan.supp$(if $(TSAN_OPTIONS),:$(TSAN_OPTIONS)))

PHONY += check
check: all $(if $(RST2MAN),man)
	$(Q)$(TEST_ENV) $(srctree)/tests/run-tests.sh \
		$(sort $(all-tests)) $(addprefix $(srctree)/,$(all-testscripts))

PHONY += man
man: $(MAN_PAGES)

PHONY += run
run: all
	$(Q)$(TEST_ENV) $(srctree)/scripts/run-main-job.sh

PHONY += bench
bench: all
	$(Q)$(TEST_ENV) $(srctree)/scripts/run-bench.sh $(all-benches)

PHONY += gpucheck
gpucheck:
	$(Q)$(srctree)/scripts/gpucheck.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [libdir=...]: the programs,
# the libraries (the shim and cudasim beside libgpuvm, where gpuvm run
# finds them), the public headers and gpuvm.pc (generated for PREFIX).
# uninstall removes exactly what install put there.
PREFIX ?= /usr/local
bindir ?= $(PREFIX)/bin
libdir ?= $(PREFIX)/lib
includedir ?= $(PREFIX)/include
pkgconfigdir ?= $(libdir)/pkgconfig
datadir ?= $(PREFIX)/share
bashcompdir ?= $(datadir)/bash-completion/completions
mandir ?= $(datadir)/man
INSTALL ?= install

install-bins := gpuvm gpuvmfs gpuvm-replay gpuvm-replay-real gpuvm-measure-costs
install-headers := $(notdir $(wildcard $(srctree)/include/gpuvm/*.h))

quiet_cmd_gen_pc = GEN     $(short)
      cmd_gen_pc = sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(libdir)|' \
		   -e 's|@includedir@|$(includedir)|' -e 's|@version@|$(GPUVM_VERSION)|' \
		   -e 's|@libs_private@|$(LIBGPUVM_DEPLIBS)|' $< > $@

$(objtree)/gpuvm.pc: $(srctree)/scripts/gpuvm.pc.in FORCE
	$(call if_changed,gen_pc)

# make deb: the Debian package (debian/), built by dpkg-buildpackage from a
# copy of the tree under $(objtree)/deb, so the source tree and its parent
# stay clean; the .deb is left in $(objtree)/deb.
deb-src := $(objtree)/deb/gpuvm-$(GPUVM_VERSION)

PHONY += deb
deb:
	$(Q)rm -rf $(objtree)/deb && mkdir -p $(deb-src)
	$(Q)cd $(srctree) && if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
		tar --null -T - -cf -; \
	else \
		tar -cf - --exclude=./.git --exclude='./build*' .; \
	fi | tar -C $(deb-src) -xf -
	@echo "  DEB     $(objtree)/deb"
	$(Q)cd $(deb-src) && dpkg-buildpackage -b -us -uc $(if $(V:0=),,>../build.log 2>&1) || \
		{ tail -n 40 ../build.log; exit 1; }
	$(Q)ls $(objtree)/deb/*.deb

PHONY += install uninstall
install: all man $(objtree)/gpuvm.pc
	@echo "  INSTALL $(DESTDIR)$(PREFIX)"
	$(Q)$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir)/gpuvm/cudasim \
		$(DESTDIR)$(includedir)/gpuvm $(DESTDIR)$(pkgconfigdir)
	$(Q)for f in $(install-bins); do \
		[ ! -e $(objtree)/bin/$$f ] || \
		$(INSTALL) -m 0755 $(objtree)/bin/$$f $(DESTDIR)$(bindir) || exit 1; \
	done
	$(Q)$(INSTALL) -m 0755 $(LIBGPUVM_SO) $(LIBGPUVM_PRELOAD) $(DESTDIR)$(libdir)
	$(Q)ln -sfn $(LIBGPUVM_SONAME) $(DESTDIR)$(libdir)/libgpuvm.so
	$(Q)$(INSTALL) -m 0644 $(LIBGPUVM_A) $(SEG_A) $(DESTDIR)$(libdir)
	$(Q)$(INSTALL) -m 0755 $(LIBCUDASIM) $(DESTDIR)$(libdir)/gpuvm/cudasim
	$(Q)$(INSTALL) -m 0644 $(addprefix $(srctree)/include/gpuvm/,$(install-headers)) \
		$(DESTDIR)$(includedir)/gpuvm
	$(Q)$(INSTALL) -m 0644 $(objtree)/gpuvm.pc $(DESTDIR)$(pkgconfigdir)
	$(Q)$(INSTALL) -D -m 0644 $(srctree)/scripts/gpuvm.bash-completion \
		$(DESTDIR)$(bashcompdir)/gpuvm
	$(Q)for p in $(MAN_PAGES); do \
		$(INSTALL) -D -m 0644 $$p $(DESTDIR)$(mandir)/man$${p##*.}/$${p##*/} || exit 1; \
	done

uninstall:
	@echo "  UNINST  $(DESTDIR)$(PREFIX)"
	$(Q)rm -f $(addprefix $(DESTDIR)$(bindir)/,$(install-bins)) \
		$(addprefix $(DESTDIR)$(libdir)/,$(LIBGPUVM_SONAME) libgpuvm.so libgpuvm.a \
		libgpuvm-seg.a libgpuvm_preload.so gpuvm/cudasim/libcuda.so.1) \
		$(addprefix $(DESTDIR)$(includedir)/gpuvm/,$(install-headers)) \
		$(DESTDIR)$(pkgconfigdir)/gpuvm.pc $(DESTDIR)$(bashcompdir)/gpuvm \
		$(foreach p,$(MAN_PAGES),$(DESTDIR)$(mandir)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	$(Q)rmdir $(DESTDIR)$(libdir)/gpuvm/cudasim $(DESTDIR)$(libdir)/gpuvm \
		$(DESTDIR)$(includedir)/gpuvm 2>/dev/null || true

PHONY += clean distclean
clean:
	$(Q)rm -rf $(objtree)
distclean: clean

PHONY += FORCE
FORCE:

.PHONY: $(PHONY)

# The command line each target was built with, and header dependencies.
-include $(foreach t,$(all-objs) $(all-products) $(LIBGPUVM_SO) $(LIBGPUVM_A) \
	$(LIBGPUVM_PRELOAD) $(objtree)/gpuvm.pc $(MAN_PAGES),$(dir $(t)).$(notdir $(t)).cmd)
-include $(foreach t,$(all-objs) $(MAN_PAGES),$(dir $(t)).$(notdir $(t)).d)
