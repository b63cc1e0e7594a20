# Makefile for the billing extension (PGXS).
#
# The install script is generated: every file in src/sql/ is concatenated in
# name order into billing--$(EXTVERSION).sql, so the model is kept one part per
# file and the numeric prefix states the dependency order.
#
#   make                      build billing.so and the install script
#   make install              install into the PostgreSQL that pg_config names
#   test/run                  every test suite on a throwaway cluster
#   demo/run                  the demo firm on a throwaway cluster

EXTENSION = billing
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = billing
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

MODEL = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard src/upgrade/*.sql)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS += -std=gnu99
# The audit trail calls OpenSSL's SHA-256 directly (src/audit.h).
SHLIB_LINK += $(filter -lcrypto, $(LIBS))

EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(MODEL) $(EXTENSION).control
	@echo "-- generated from src/sql/*.sql by make; edit those files instead" > $@
	@printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit' >> $@
	@for f in $(MODEL); do printf '\n-- source: %s\n' "$$f" >> $@; cat "$$f" >> $@; done
