-- Property test of billing.allocate over 100,000 random cases (fixed seed,
-- so a failure can be replayed): the parts always add up to the total
-- exactly, there is one part per weight, and no part is a whole minor unit
-- or more away from its exact share total * weight / sum(weights).  The
-- check is exact: |part * W - total * w| < W in numeric, with no division.
-- Then 20,000 random even splits: exact total, parts differ by at most one
-- minor unit, larger parts first.
SET search_path = public, billing;
SELECT setseed(0.3141592653);

-- Totals of every magnitude from 0 to the type's limit, both signs, in
-- currencies of 0, 2, 3 and 4 decimal places; 1 to 12 weights of up to four
-- decimal places and magnitudes from 0.0001 to 10^12, a tenth of them zero.
CREATE TEMP TABLE alloc_case AS
WITH raw AS (
    SELECT i AS case_id,
           1 + floor(random() * 12)::int AS n,
           CASE WHEN i % 1000 = 0 THEN 9223372036854775807 * sign(random() - 0.5)::bigint
                ELSE (sign(random() - 0.5) * floor(random() * 10 ^ (random() * 18)))::bigint
           END AS units,
           (ARRAY['USD', 'JPY', 'BHD', 'CLF'])[1 + floor(random() * 4)::int] AS currency
      FROM generate_series(1, 100000) AS i
), weighted AS (
    SELECT r.case_id, r.units, r.currency,
           ARRAY(SELECT CASE WHEN random() < 0.1 THEN 0
                             ELSE round((random() * 10 ^ (random() * 16 - 4))::numeric,
                                        floor(random() * 5)::int)
                        END
                   FROM generate_series(1, r.n) AS g
                  WHERE g > 0 * r.case_id) AS weights
      FROM raw AS r
)
SELECT case_id, amount_of_minor_units(units, currency) AS total,
       CASE WHEN (SELECT sum(w) FROM unnest(weights) AS w) > 0 THEN weights
            ELSE array_prepend(1::numeric, weights[2:]) END AS weights
  FROM weighted;

SELECT count(*) AS cases,
       count(DISTINCT currency_code(total)) AS currencies,
       min(cardinality(weights)) AS fewest_weights,
       max(cardinality(weights)) AS most_weights,
       count(*) FILTER (WHERE 0 = ANY (weights)) AS cases_with_a_zero_weight,
       count(*) FILTER (WHERE minor_units(total) < 0) AS negative_totals
  FROM alloc_case;

CREATE TEMP TABLE alloc_result AS
SELECT case_id, total, weights, allocate(total, weights) AS parts
  FROM alloc_case;

-- Every case: one part per weight, parts summing to the total exactly.
SELECT count(*) FILTER (WHERE cardinality(parts) <> cardinality(weights)) AS wrong_count,
       count(*) FILTER (WHERE (SELECT sum(p) FROM unnest(parts) AS p) <> total) AS wrong_total,
       count(*) FILTER (WHERE EXISTS (SELECT FROM unnest(parts) AS p
                                       WHERE currency_code(p) <> currency_code(total)))
           AS wrong_currency
  FROM alloc_result;

-- Every part: strictly within one minor unit of its exact share, zero for a
-- zero weight, and of the total's sign.
SELECT count(*) AS parts,
       count(*) FILTER (WHERE abs(minor_units(x.p)::numeric * s.w_sum
                                 - minor_units(r.total)::numeric * x.w) >= s.w_sum)
           AS a_unit_or_more_off,
       count(*) FILTER (WHERE x.w = 0 AND minor_units(x.p) <> 0) AS zero_weight_paid,
       count(*) FILTER (WHERE sign(minor_units(x.p)) * sign(minor_units(r.total)) < 0)
           AS wrong_sign
  FROM alloc_result AS r
 CROSS JOIN LATERAL (SELECT sum(w) AS w_sum FROM unnest(r.weights) AS w) AS s
 CROSS JOIN LATERAL unnest(r.parts, r.weights) AS x(p, w);

-- Even splits.
CREATE TEMP TABLE even_case AS
SELECT i AS case_id,
       amount_of_minor_units((sign(random() - 0.5) * floor(random() * 10 ^ (random() * 18)))::bigint,
                             (ARRAY['USD', 'JPY', 'BHD'])[1 + floor(random() * 3)::int]) AS total,
       1 + floor(random() * 50)::int AS n
  FROM generate_series(1, 20000) AS i;
SELECT count(*) AS even_cases,
       count(*) FILTER (WHERE cardinality(parts) <> n) AS wrong_count,
       count(*) FILTER (WHERE (SELECT sum(p) FROM unnest(parts) AS p) <> total) AS wrong_total,
       count(*) FILTER (WHERE (SELECT max(abs(minor_units(p))) - min(abs(minor_units(p)))
                                 FROM unnest(parts) AS p) > 1) AS uneven,
       count(*) FILTER (WHERE EXISTS (SELECT FROM unnest(parts) WITH ORDINALITY AS a(p, k)
                                        JOIN unnest(parts) WITH ORDINALITY AS b(p, k)
                                          ON b.k = a.k + 1
                                       WHERE abs(minor_units(b.p)) > abs(minor_units(a.p))))
           AS larger_part_later
  FROM (SELECT total, n, allocate(total, n) AS parts FROM even_case) AS e;
