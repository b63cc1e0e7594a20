#!/usr/bin/env bash
# bench/amount.sh: what summing billing.amount costs, against the floor
# (sum of bigint minor units) and what a user would otherwise pick
# (sum of numeric(14,2)).  Run by bench/run, which provides the cluster.
#
# Method: one table of 10 million rows holds the same money three ways
# (bigint cents, billing.amount, numeric(14,2)), so the three sums read
# the same pages and differ only in the aggregate.  After loading, VACUUM
# sets hint bits and a first pass warms the cache.  Then the three queries
# run in turn, ROUNDS times, in one session without parallel workers; each
# comparison is the ratio of medians of the execution times measured by the
# server (clock_timestamp around the query).  Three more rounds repeat
# the billing.amount and bigint sums with 2 parallel workers, which
# exercises the combine and serialize functions.
set -eu
rows=${AMOUNT_BENCH_ROWS:-10000000}
rounds=${AMOUNT_BENCH_ROUNDS:-7}
db=${BENCH_DB:-bench_amount}

psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q -c "CREATE EXTENSION billing CASCADE" 2>/dev/null

q <<SQL
CREATE TABLE money_row (cents bigint, amount billing.amount, value numeric(14,2));
INSERT INTO money_row
SELECT c, billing.amount_of_minor_units(c, 'USD'), c / 100.0
  FROM (SELECT (i::bigint * 7919) % 10000000 - 2000000 AS c
          FROM generate_series(1, $rows) AS i) AS s;
VACUUM (ANALYZE) money_row;
SQL

# One session: the timing function, the rounds, the medians and the lines.
q <<SQL
CREATE FUNCTION pg_temp.time_ms(query text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
    result text;
BEGIN
    t0 := clock_timestamp();
    EXECUTE query INTO result;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
\$\$;
CREATE TEMP TABLE timing (what text, ms numeric);
SET max_parallel_workers_per_gather = 0;
-- Warm the cache and check that the three sums agree.
SELECT CASE WHEN billing.value(billing.sum(amount)) * 100 = sum(cents)
             AND sum(value) * 100 = sum(cents)
            THEN 'the three sums agree: ' || billing.sum(amount)::text
            ELSE 'THE SUMS DIFFER' END
  FROM money_row;
DO \$\$
BEGIN
    FOR r IN 1..$rounds LOOP
        INSERT INTO timing SELECT 'bigint', pg_temp.time_ms('SELECT sum(cents) FROM money_row');
        INSERT INTO timing SELECT 'amount', pg_temp.time_ms('SELECT billing.sum(amount) FROM money_row');
        INSERT INTO timing SELECT 'numeric', pg_temp.time_ms('SELECT sum(value) FROM money_row');
    END LOOP;
END
\$\$;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
DO \$\$
BEGIN
    FOR r IN 1..3 LOOP
        INSERT INTO timing SELECT 'bigint parallel', pg_temp.time_ms('SELECT sum(cents) FROM money_row');
        INSERT INTO timing SELECT 'amount parallel', pg_temp.time_ms('SELECT billing.sum(amount) FROM money_row');
    END LOOP;
END
\$\$;
CREATE TEMP VIEW median AS
SELECT what, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
  FROM timing GROUP BY what;
SELECT format('sum of %s rows, median of %s runs, no parallel workers:', $rows, $rounds);
SELECT format('sum(billing.amount) / sum(bigint): %sx (target: at most 1.5x) [amount %s ms, bigint %s ms]',
              round((a.ms / b.ms)::numeric, 2), round(a.ms::numeric), round(b.ms::numeric))
  FROM median a, median b WHERE a.what = 'amount' AND b.what = 'bigint';
SELECT format('sum(numeric(14,2)) / sum(billing.amount): %sx (target: at least 2x) [numeric %s ms, amount %s ms]',
              round((n.ms / a.ms)::numeric, 2), round(n.ms::numeric), round(a.ms::numeric))
  FROM median a, median n WHERE a.what = 'amount' AND n.what = 'numeric';
SELECT format('with 2 parallel workers, sum(billing.amount) / sum(bigint): %sx (no target) [amount %s ms, bigint %s ms]',
              round((a.ms / b.ms)::numeric, 2), round(a.ms::numeric), round(b.ms::numeric))
  FROM median a, median b WHERE a.what = 'amount parallel' AND b.what = 'bigint parallel';
SELECT format('storage: pg_column_size of an amount %s bytes, of a bigint %s, of numeric(14,2) 12345678.90 %s',
              pg_column_size('12345678.90 USD'::billing.amount),
              pg_column_size(1234567890::bigint),
              pg_column_size(12345678.90::numeric(14,2)));
SQL
psql -X -q -d postgres -c "DROP DATABASE $db"
