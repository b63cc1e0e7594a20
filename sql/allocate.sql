-- billing.allocate: proportional split by largest remainder, and the even
-- split; exact totals, the tie-break, signs, zero weights and every error.
SET search_path = public, billing;
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Thirds: the leftover cent goes to the first of the tied parts.
SELECT allocate('100.00 USD', ARRAY[1, 1, 1]);
SELECT allocate('-100.00 USD', ARRAY[1, 1, 1]);
-- A payment schedule in two halves: 20,000.10 is 10,000.05 twice.
SELECT allocate('20000.10 USD', 2), allocate('20000.10 USD', ARRAY[1, 1]);
-- Credit notes against a 334.99 invoice add up to 334.99, not 335.00.
SELECT p, sum(p) OVER () AS total
  FROM unnest(allocate('334.99 USD', ARRAY[1, 1, 1])) AS p;
-- Largest remainder, not first come: shares 1.4286 and 3.5714 cents.
SELECT allocate('0.05 USD', ARRAY[0, 1, 2.5]);
-- Ties among the largest remainders go to the earlier weight.
SELECT allocate('0.02 USD', ARRAY[1, 1, 1, 1]);
SELECT allocate('0.03 USD', ARRAY[2, 1, 1, 2]);
-- Weights of zero always get zero; a single weight gets everything.
SELECT allocate('0.01 USD', ARRAY[0, 1, 0, 1]);
SELECT allocate('123.45 EUR', ARRAY[7]);
-- Fractional and very unequal weights; currencies of other exponents.
SELECT allocate('1000 JPY', ARRAY[0.1, 0.2, 0.3]);
SELECT allocate('1.000 BHD', ARRAY[1, 1000000, 1]);
SELECT allocate('0.00 USD', ARRAY[1, 2, 3]);
SELECT allocate('92233720368547758.07 USD', ARRAY[1, 1, 1]);
SELECT allocate('-92233720368547758.07 USD', 2);
-- Integer weights are accepted as numeric[].
SELECT allocate('10.00 USD', ARRAY[3, 7]::int[]);
-- Negating the total negates every part.
SELECT allocate('-0.05 USD', ARRAY[0, 1, 2.5]) =
       ARRAY(SELECT -p FROM unnest(allocate('0.05 USD', ARRAY[0, 1, 2.5])) AS p) AS symmetric;

-- The even split: larger parts first.
SELECT allocate('100.00 USD', 3);
SELECT allocate('-100.00 USD', 3);
SELECT allocate('0.02 USD', 5);
SELECT allocate('7 JPY', 1);
SELECT array_length(allocate('1000000.00 USD', 100000), 1) AS parts,
       (SELECT sum(p) FROM unnest(allocate('1000000.01 USD', 100000)) AS p) AS total;

-- Errors: ZB103 for bad weights or counts.
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[]::numeric[])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[0, 0])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[1, -1, 3])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[1, NULL])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[1, 'NaN']::numeric[])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[1, 'Infinity']::numeric[])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', ARRAY[[1, 2], [3, 4]]::numeric[])$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', 0)$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', -3)$$);
SELECT pg_temp.err($$SELECT billing.allocate('1.00 USD', 10000001)$$);
-- A NULL total or NULL weights array gives NULL (the functions are strict).
SELECT allocate(NULL, ARRAY[1, 2]) IS NULL AS null_total,
       allocate('1.00 USD', NULL::numeric[]) IS NULL AS null_weights;
-- An untyped literal for the weights is ambiguous: write ARRAY[...] or a cast.
SELECT allocate('1.00 USD', '{1,2}'::numeric[]);
