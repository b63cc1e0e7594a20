-- billing.amount: text I/O, +/-, comparison, equality, operator classes and
-- the currency table.  Errors are shown as "SQLSTATE: message" by a helper,
-- so each expected error is checked by code as well as by text.
SET search_path = public, billing;
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Storage: 16 bytes, by reference, double aligned, plain.
SELECT typlen, typbyval, typalign, typstorage
  FROM pg_type WHERE oid = 'billing.amount'::regtype;
SELECT pg_column_size('1234.56 USD'::amount) AS bytes;

-- Canonical output: every decimal place of the currency.
SELECT a::text
  FROM (VALUES ('1234.56 USD'::amount), ('-0.5 USD'), ('7 USD'), ('7 JPY'),
               ('-12 JPY'), ('1.234 BHD'), ('1.2 BHD'), ('0.0001 CLF'),
               ('-0.00 EUR'), ('007.10 EUR'), ('0 KWD')) AS v(a);

-- The extremes of the range, either sign, and one past them.
SELECT '92233720368547758.07 USD'::amount, '-92233720368547758.07 USD'::amount;
SELECT '9223372036854775807 JPY'::amount, '-9223372036854775807 JPY'::amount;
SELECT pg_temp.err($$SELECT '92233720368547758.08 USD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '-92233720368547758.08 USD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '9223372036854775808 JPY'::billing.amount$$);
SELECT pg_temp.err($$SELECT '99999999999999999999999999 JPY'::billing.amount$$);
SELECT pg_temp.err($$SELECT '0000000000000000000000000001.00 USD'::billing.amount$$);

-- Malformed literals: 22P02, naming the type and quoting the input.
SELECT s, pg_temp.err(format('SELECT %L::billing.amount', s))
  FROM (VALUES (''), ('USD'), ('1.00'), ('1.00USD'), ('1.00  USD'),
               (' 1.00 USD'), ('1.00 USD '), ('+1.00 USD'), ('--1.00 USD'),
               ('- 1.00 USD'), ('1,000.00 USD'), ('1 000.00 USD'),
               ('.50 USD'), ('1. USD'), ('1.0.0 USD'), ('1.00 usd'),
               ('1.00 US'), ('1.00 USDX'), ('1e3 USD'), ('USD 1.00'),
               ('1.00 US1'), ('１.00 USD'), ('NaN USD'), ('Infinity USD'),
               ('1.00 USD;'), (E'1.00\tUSD')) AS v(s);

-- More decimal places than the currency has: 22P02 with the rule.
SELECT pg_temp.err($$SELECT '12.345 USD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '1.5 JPY'::billing.amount$$);
SELECT pg_temp.err($$SELECT '1.2345 BHD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '12.340 USD'::billing.amount$$);

-- Unknown currency: ZB102.
SELECT pg_temp.err($$SELECT '1.00 XYZ'::billing.amount$$);
SELECT pg_temp.err($$SELECT '1.00 XAU'::billing.amount$$);

-- Binary output: int64 minor units, then int16 ISO 4217 numeric code, in
-- network byte order (binary input is exercised by test/scripts/fuzz_amount.sh).
SELECT amount_send('1.00 USD') AS usd, amount_send('-1 JPY') AS jpy,
       amount_send('92233720368547758.07 USD') AS largest;

-- Taking amounts apart and building them from minor units.
SELECT currency_code('3 JPY'::amount), minor_units('3.21 USD'::amount),
       minor_units('-1.005 BHD'::amount);
SELECT pg_typeof(currency_code('3 JPY'::amount));
SELECT amount_of_minor_units(123456, 'USD'), amount_of_minor_units(-5, 'BHD'),
       amount_of_minor_units(9223372036854775807, 'JPY');
SELECT pg_temp.err($$SELECT billing.amount_of_minor_units(-9223372036854775808, 'USD')$$);
SELECT pg_temp.err($$SELECT billing.amount_of_minor_units(1, 'usd')$$);
SELECT pg_temp.err($$SELECT billing.amount_of_minor_units(1, 'US')$$);

-- Addition and subtraction within a currency; unary minus, plus and abs.
SELECT '1.00 USD'::amount + '2.50 USD' AS sum,
       '1.00 USD'::amount - '2.50 USD' AS difference,
       -'1.00 USD'::amount AS negated,
       +'1.00 USD'::amount AS unchanged,
       -'0.00 USD'::amount AS negated_zero,
       abs('-3 JPY'::amount) AS abs_negative,
       abs('3 JPY'::amount) AS abs_positive;
SELECT -'-92233720368547758.07 USD'::amount AS negated_minimum,
       abs('-92233720368547758.07 USD'::amount) AS abs_minimum;
SELECT '0.10 USD'::amount + '0.20 USD' = '0.30 USD'::amount AS exact;

-- Mixing currencies: ZB101, naming both.
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing.+) '1.00 EUR'::billing.amount$$);
SELECT pg_temp.err($$SELECT '1.00 USD'::billing.amount OPERATOR(billing.-) '1 JPY'::billing.amount$$);

-- Overflow: 22003, never a wrap.
SELECT pg_temp.err($$SELECT '92233720368547758.07 USD'::billing.amount OPERATOR(billing.+) '0.01 USD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '-92233720368547758.07 USD'::billing.amount OPERATOR(billing.-) '0.01 USD'::billing.amount$$);
SELECT pg_temp.err($$SELECT '-92233720368547758.07 USD'::billing.amount OPERATOR(billing.+) '-92233720368547758.07 USD'::billing.amount$$);
SELECT '92233720368547758.07 USD'::amount + '-92233720368547758.07 USD' AS back_to_zero;

-- Comparison within a currency.
SELECT a, b, a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne,
       a >= b AS ge, a > b AS gt, amount_cmp(a, b) AS cmp
  FROM (VALUES ('1.00 USD'::amount, '2.00 USD'::amount),
               ('2.00 USD', '2.00 USD'),
               ('-2.00 USD', '-3.00 USD')) AS v(a, b);

-- Equality across currencies is defined (never equal); the ordering
-- operators raise ZB101.
SELECT '1.00 USD'::amount = '1.00 EUR'::amount AS eq,
       '1.00 USD'::amount <> '1.00 EUR'::amount AS ne,
       '100 JPY'::amount = '1.00 USD'::amount AS eq_same_units;
SELECT pg_temp.err(format('SELECT %L::billing.amount OPERATOR(billing.%s) %L::billing.amount',
                          '1.00 USD', op, '1.00 EUR'))
  FROM unnest(ARRAY['<', '<=', '>', '>=']) AS op;

-- The sort order of the btree class orders every pair: by currency (ISO
-- numeric code: USD 840 before EUR 978), then value; never an error.
SELECT amount_cmp('1.00 USD', '1.00 EUR') AS usd_eur,
       amount_cmp('1.00 EUR', '1.00 USD') AS eur_usd,
       amount_cmp('999.00 USD', '1.00 EUR') AS by_currency_first,
       amount_cmp('1.00 USD', '1.00 USD') AS same;
SELECT a, b, a ~<~ b AS lt, a ~<=~ b AS le, a ~>=~ b AS ge, a ~>~ b AS gt
  FROM (VALUES ('1.00 USD'::amount, '2.00 USD'::amount),
               ('2.00 USD', '2.00 USD'),
               ('999.00 USD', '1.00 EUR')) AS v(a, b);
SELECT opr.oprname
  FROM pg_amop amop JOIN pg_operator opr ON opr.oid = amop.amopopr
 WHERE amop.amopfamily = (SELECT opcfamily FROM pg_opclass
                           WHERE opcname = 'amount_ops'
                             AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree'))
 ORDER BY amop.amopstrategy;

-- The btree operator class: ORDER BY, DISTINCT, an index, a merge join.
CREATE TABLE amount_t (id int, a amount);
INSERT INTO amount_t
VALUES (1, '10.00 USD'), (2, '-5.00 USD'), (3, '0.01 USD'), (4, '10.00 USD'),
       (5, '999.99 USD'), (6, NULL);
SELECT id, a FROM amount_t ORDER BY a, id;
SELECT DISTINCT a FROM amount_t ORDER BY a DESC NULLS LAST;
CREATE INDEX amount_t_a ON amount_t (a);
SET enable_seqscan = off;
SELECT id FROM amount_t WHERE a = '10.00 USD' ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id FROM amount_t WHERE a = '10.00 USD';
EXPLAIN (COSTS OFF) SELECT id FROM amount_t ORDER BY a;
SELECT id FROM amount_t WHERE a >= '10.00 USD' ORDER BY id;
RESET enable_seqscan;
SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT x.id, y.id FROM amount_t x JOIN amount_t y ON x.a = y.a;
SELECT x.id, y.id FROM amount_t x JOIN amount_t y ON x.a = y.a ORDER BY 1, 2;
RESET enable_hashjoin;
RESET enable_nestloop;

-- A column of mixed currencies: it can be indexed, sorted (by currency,
-- then value), grouped and analyzed; comparing across currencies with an
-- ordering operator still raises ZB101.
INSERT INTO amount_t VALUES (7, '10.00 EUR'), (8, '-1 JPY'), (9, '0.001 BHD');
ANALYZE amount_t;
SELECT id, a FROM amount_t ORDER BY a, id;
SELECT pg_temp.err($$SELECT id FROM amount_t WHERE a OPERATOR(billing.<) '1.00 USD'$$);
SELECT id FROM amount_t WHERE a = '10.00 EUR';
-- Within one currency, compare the numeric values (or keep the rows of
-- one currency apart first); the sort-order operators work too.
SELECT id FROM amount_t
 WHERE currency_code(a) = 'USD' AND value(a) > 1.00 ORDER BY id;
SELECT id FROM amount_t
 WHERE a ~>~ '1.00 USD' AND a ~<~ '0.00 EUR' ORDER BY id;
-- Planning a range condition on that column does not touch its statistics.
EXPLAIN (COSTS OFF) SELECT id FROM amount_t WHERE a > '1.00 USD';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM amount_t WHERE a ~>~ '1.00 USD';
RESET enable_seqscan;
-- A merge join on a mixed column, with the same pairs as a hash join.
SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT count(*) AS merge_pairs FROM amount_t x JOIN amount_t y ON x.a = y.a;
RESET enable_hashjoin;
RESET enable_nestloop;
SET enable_hashagg = off;
SELECT a, count(*) FROM amount_t GROUP BY a ORDER BY a;
RESET enable_hashagg;

-- The hash operator class: hash aggregation and hash joins over mixed
-- currencies work, and 10.00 USD and 10.00 EUR stay apart.
SET enable_sort = off;
SELECT a, count(*) FROM amount_t GROUP BY a ORDER BY count(*) DESC, currency_code(a), minor_units(a);
EXPLAIN (COSTS OFF) SELECT a, count(*) FROM amount_t GROUP BY a;
RESET enable_sort;
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT count(*) AS pairs FROM amount_t x JOIN amount_t y ON x.a = y.a;
RESET enable_mergejoin;
RESET enable_nestloop;
SELECT amount_hash('10.00 USD') = amount_hash('10.00 USD') AS same_hash,
       amount_hash('10.00 USD') <> amount_hash('10.00 EUR') AS currency_hashed,
       amount_hash_extended('10.00 USD', 0) = amount_hash_extended('10.00 USD', 0) AS same_extended,
       amount_hash_extended('10.00 USD', 0) <> amount_hash_extended('10.00 USD', 1) AS seeded;
CREATE TABLE amount_part (a amount) PARTITION BY HASH (a);
CREATE TABLE amount_part_0 PARTITION OF amount_part FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE amount_part_1 PARTITION OF amount_part FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO amount_part SELECT amount_of_minor_units(i, 'USD') FROM generate_series(1, 100) i;
SELECT count(*) FILTER (WHERE tableoid = 'amount_part_0'::regclass) > 0 AS some_in_0,
       count(*) FILTER (WHERE tableoid = 'amount_part_1'::regclass) > 0 AS some_in_1,
       count(*) AS total FROM amount_part;
CREATE INDEX amount_t_hash ON amount_t USING hash (a);

-- A primary key of amounts (the default btree class), and a text round trip.
CREATE TABLE amount_key (a amount PRIMARY KEY);
INSERT INTO amount_key VALUES ('1.00 USD'), ('2.00 USD');
SELECT pg_temp.err($$INSERT INTO amount_key VALUES ('1.00 USD')$$);
SELECT a::text::amount = a AS round_trip FROM amount_t WHERE a IS NOT NULL;

-- The currency table is the C list: every row, keys and a few exponents.
SELECT count(*) AS currencies,
       count(*) = (SELECT count(*) FROM iso_currencies()) AS matches_c
  FROM billing.currency;
SELECT currency_code, numeric_code, minor_unit, name FROM billing.currency
 WHERE currency_code IN ('USD', 'EUR', 'JPY', 'BHD', 'KWD', 'CLF', 'ISK')
 ORDER BY currency_code;
SELECT count(*) AS unparseable
  FROM billing.currency c
 WHERE currency_code(amount_of_minor_units(1, c.currency_code)) <> c.currency_code;
SELECT minor_unit, count(*) FROM billing.currency GROUP BY 1 ORDER BY 1;

DROP TABLE amount_t, amount_part, amount_key;
