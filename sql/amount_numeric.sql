-- billing.amount and numeric: *, /, multiply, divide, rounding rules,
-- billing.amount(numeric, currency), billing.value and the cast to numeric.
SET search_path = public, billing;
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Operators: amount * numeric, numeric * amount, amount / numeric; integer
-- factors are numeric; the result keeps the currency.
SELECT '10.00 USD'::amount * 3 AS times_int,
       3 * '10.00 USD'::amount AS int_times,
       '10.00 USD'::amount * 1.005 AS times_fraction,
       '1.00 USD'::amount / 3 AS third,
       '2.00 USD'::amount / 3 AS two_thirds,
       '100 JPY'::amount * 0.333 AS yen,
       '1.000 BHD'::amount / 7 AS dinar,
       '-10.00 EUR'::amount * -0.5 AS negative_factor;

-- No floating point: a double precision factor is refused.
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing.*) 0.5::float8$$);

-- The rounding rules at every kind of tie, both signs.
SELECT f, multiply('0.01 USD', f) AS half_away_from_zero,
       multiply('0.01 USD', f, 'half_even') AS half_even
  FROM unnest(ARRAY[0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5,
                    0.49, 0.51, 2.4999999999999999999, -2.5000000000000000001]) AS f;
SELECT d, divide('0.05 USD', d) AS half_away_from_zero,
       divide('0.05 USD', d, 'half_even') AS half_even,
       divide('-0.05 USD', d) AS negative_half_away,
       divide('-0.05 USD', d, 'half_even') AS negative_half_even
  FROM unnest(ARRAY[2, -2, 10, 4, 3, 0.4]) AS d;
-- Division is exact before rounding: 1/3 of a cent is never taken for a
-- half, however many digits numeric division would keep.
SELECT divide('0.01 USD', 0.6666666666666666666666666666666666666667) AS just_below_half,
       divide('0.01 USD', 0.6666666666666666666666666666666666666666) AS just_above_half,
       divide('0.03 USD', 2, 'half_even') AS three_halves,
       divide('92233720368547758.07 USD', 92233720368547758.07) AS one_cent,
       divide('92233720368547758.07 USD', 2) AS big_half;
SELECT '1.00 USD'::amount * 0.005 AS half_cent_away,
       multiply('1.00 USD', 0.005, 'half_even') AS half_cent_even,
       multiply('1.00 USD', 0.015, 'half_even') AS one_and_half_even;

-- Errors: division by zero 22012, NaN and infinities 22023, overflow 22003.
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing./) 0$$);
SELECT pg_temp.err($$SELECT billing.divide('1.00 USD', 0.000, 'half_even')$$);
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing.*) 'NaN'::numeric$$);
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing.*) 'Infinity'::numeric$$);
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing./) '-Infinity'::numeric$$);
SELECT pg_temp.err($$SELECT '92233720368547758.07 USD'::billing.amount OPERATOR(billing.*) 2$$);
SELECT pg_temp.err($$SELECT '92233720368547758.07 USD'::billing.amount OPERATOR(billing./) 0.5$$);
SELECT pg_temp.err($$SELECT billing.multiply('1.00 USD', 2, 'half_up')$$);
SELECT '92233720368547758.07 USD'::amount * 1 AS largest_times_one,
       '92233720368547758.07 USD'::amount * -1 AS largest_negated;

-- billing.amount(numeric, currency [, rounding]).
SELECT amount(12.345, 'USD') AS half_away,
       amount(12.345, 'USD', 'half_even') AS half_even,
       amount(-12.345, 'USD') AS negative_half_away,
       amount(-12.345, 'USD', 'half_even') AS negative_half_even,
       amount(12.5, 'JPY', 'half_even') AS yen_even,
       amount(13.5, 'JPY', 'half_even') AS yen_even_up,
       amount(0.0005, 'BHD') AS dinar,
       amount(12, 'EUR') AS whole,
       amount(0.004999, 'USD') AS below_half;
SELECT amount(92233720368547758.07, 'USD') AS largest,
       amount(92233720368547758.074, 'USD') AS rounds_into_range;
SELECT pg_temp.err($$SELECT billing.amount(92233720368547758.075, 'USD')$$);
SELECT pg_temp.err($$SELECT billing.amount(1e30, 'JPY')$$);
SELECT pg_temp.err($$SELECT billing.amount(1, 'XXX')$$);
SELECT pg_temp.err($$SELECT billing.amount(1, 'usd')$$);
SELECT pg_temp.err($$SELECT billing.amount('NaN', 'USD')$$);
SELECT pg_temp.err($$SELECT billing.amount('Infinity', 'USD')$$);

-- billing.value and the explicit cast to numeric keep the decimal places.
SELECT value('1234.50 USD') AS usd, value('7 JPY') AS jpy,
       value('-0.005 BHD') AS bhd, value('0.00 EUR') AS zero,
       '-92233720368547758.07 USD'::amount::numeric AS cast_smallest,
       pg_typeof('1.00 USD'::amount::numeric);
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount + 1$$);
SELECT pg_temp.err($$SELECT round('1.00 USD'::billing.amount, 2)$$);
-- A round trip through numeric is exact for every currency's last place.
SELECT count(*) AS round_trips_failed
  FROM billing.currency c,
       LATERAL (SELECT amount_of_minor_units(u, c.currency_code) AS a
                  FROM unnest(ARRAY[-9223372036854775807, -1, 0, 1, 12345,
                                    9223372036854775807]) AS u) s
 WHERE amount(value(s.a), c.currency_code) <> s.a;
-- The numeric value and the currency, as reporting views expose them.
SELECT value(a) AS amount, currency_code(a) AS currency
  FROM (VALUES ('1234.56 USD'::amount), ('-3 JPY'), ('0.125 KWD')) AS v(a);
