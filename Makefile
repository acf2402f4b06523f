# abtest: PGXS build (model: pgvector's Makefile)
EXTENSION = abtest
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = abtest
OBJS = src/abtest.o src/growthbook.o src/spi_plans.o src/experiment_lock.o src/relations.o src/owner.o src/citus.o src/local_shards.o src/statement.o src/deltas.o src/packed_rollup.o src/checks.o src/lookup.o src/config_cache.o src/answer.o src/analytics.o src/assign.o src/convert.o src/track.o src/special_math.o src/stats_math.o src/metric_math.o src/stats.o src/metric_sums.o src/metric_stats.o src/timeline.o src/settle.o src/settler.o src/restore.o
HEADERS =

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

PG_CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers

# An object depends on the headers it includes: the compiler lists them in
# .deps/ as it builds, PostgreSQL's own tracking (PGXS has it for servers
# configured with --enable-depend only; override turns it on for any).
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
