-- billing.amount aggregates: sum, avg, min, max; NULLs, empty input, mixed
-- currencies, overflow, GROUP BY currency, window frames, and parallel plans.
SET search_path = public, billing;
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

CREATE TABLE agg_t (grp int, a amount);
INSERT INTO agg_t VALUES
    (1, '1.00 USD'), (1, '2.00 USD'), (1, NULL), (1, '0.01 USD'),
    (2, '-5 JPY'), (2, '-6 JPY'),
    (3, NULL),
    (4, '0.10 USD'), (4, '0.20 USD'), (4, '-0.30 USD');
SELECT grp, sum(a), avg(a), min(a), max(a), count(a)
  FROM agg_t GROUP BY grp ORDER BY grp;
-- No rows, and only NULL rows, give NULL.
SELECT sum(a) IS NULL AS sum_null, avg(a) IS NULL AS avg_null,
       min(a) IS NULL AS min_null, max(a) IS NULL AS max_null
  FROM agg_t WHERE false;
SELECT sum(a) IS NULL AS sum_null, avg(a) IS NULL AS avg_null FROM agg_t WHERE grp = 3;
-- avg rounds half away from zero: 1.5 cents -> 2, -5.5 yen -> -6.
SELECT avg(a) FROM (VALUES ('0.01 USD'::amount), ('0.02 USD')) AS v(a);
SELECT avg(a) FROM (VALUES ('-0.01 USD'::amount), ('-0.02 USD')) AS v(a);
SELECT avg(a) FROM (VALUES ('0.01 USD'::amount), ('0.01 USD'), ('0.02 USD')) AS v(a);
-- Mixed currencies: ZB101 naming both, for every aggregate.
SELECT pg_temp.err('SELECT billing.sum(a) FROM agg_t');
SELECT pg_temp.err('SELECT billing.avg(a) FROM agg_t');
SELECT pg_temp.err('SELECT billing.min(a) FROM agg_t');
SELECT pg_temp.err('SELECT billing.max(a) FROM agg_t');
-- Grouping by currency is the way to total mixed currencies.
SELECT currency_code(a) AS currency, sum(a), count(*)
  FROM agg_t WHERE a IS NOT NULL GROUP BY 1 ORDER BY 1;
-- Partial totals may leave the range as long as the total fits; a total
-- that does not fit is 22003.
SELECT sum(a) FROM (VALUES ('92233720368547758.07 USD'::amount),
                           ('92233720368547758.07 USD'),
                           ('-92233720368547758.07 USD')) AS v(a);
SELECT pg_temp.err($$SELECT billing.sum(a) FROM (VALUES ('92233720368547758.07 USD'::billing.amount), ('0.01 USD')) AS v(a)$$);
SELECT pg_temp.err($$SELECT billing.sum(a) FROM (VALUES ('-92233720368547758.07 USD'::billing.amount), ('-0.01 USD')) AS v(a)$$);
SELECT avg(a) FROM (VALUES ('92233720368547758.07 USD'::amount),
                           ('92233720368547758.07 USD')) AS v(a);
-- Moving window frames use the inverse transition, with the same results.
SELECT grp, a, sum(a) OVER w AS moving_sum, avg(a) OVER w AS moving_avg
  FROM agg_t WHERE grp IN (1, 4)
WINDOW w AS (PARTITION BY grp ORDER BY a ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
 ORDER BY grp, a;
-- sum of cents equals the sum of the values as numeric.
SELECT sum(a) = amount(sum(value(a)), 'USD') AS same
  FROM (SELECT amount_of_minor_units((i * 7919) % 100003 - 50000, 'USD') AS a
          FROM generate_series(1, 10000) AS i) AS s;

-- Parallel aggregation: combine, serialize and deserialize give the same
-- totals as a plain plan.
CREATE TABLE agg_big AS
SELECT i % 3 AS grp,
       amount_of_minor_units((i::bigint * 104729) % 2000003 - 1000000,
                             (ARRAY['USD', 'JPY', 'BHD'])[i % 3 + 1]) AS a
  FROM generate_series(1, 200000) AS i;
ANALYZE agg_big;
CREATE TEMP TABLE agg_serial AS
SELECT grp, sum(a) AS s, avg(a) AS m, min(a) AS lo, max(a) AS hi
  FROM agg_big GROUP BY grp;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT grp, sum(a), avg(a), min(a), max(a) FROM agg_big GROUP BY grp;
SELECT p.grp, p.s = q.s AS sum_same, p.m = q.m AS avg_same,
       p.lo = q.lo AS min_same, p.hi = q.hi AS max_same, q.s
  FROM (SELECT grp, sum(a) AS s, avg(a) AS m, min(a) AS lo, max(a) AS hi
          FROM agg_big GROUP BY grp) AS p
  JOIN agg_serial AS q USING (grp)
 ORDER BY p.grp;
-- Mixed currencies meeting in the combine step raise ZB101 too (which two
-- are named depends on which worker saw which rows).
SELECT pg_temp.err('SELECT billing.sum(a) FROM agg_big') LIKE
       'ZB101: cannot sum amounts in different currencies %' AS mixed_fails;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
-- min and max never take the index shortcut, which would return the least
-- amount of the first currency in the index instead of raising ZB101.
CREATE INDEX agg_t_a ON agg_t (a);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT min(a) FROM agg_t;
SELECT pg_temp.err('SELECT billing.min(a) FROM agg_t');
RESET enable_seqscan;
DROP TABLE agg_t, agg_big;
