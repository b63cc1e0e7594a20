-- 10-amount.sql: money.  The billing.amount type, its operators, operator
-- classes, aggregates and rounding rules; allocation that never loses a
-- minor unit; and the ISO 4217 reference table billing.currency.
--
-- An amount is an exact count of a currency's minor units plus the currency
-- (doc/amount.md).  The C code in src/amount*.c, src/allocate.c and
-- src/currency.c implements everything declared here; the currency list in
-- src/currency.c is the single source of truth, copied into billing.currency
-- below so that SQL can point foreign keys at it.

-- The type ---------------------------------------------------------------

CREATE TYPE billing.amount;

CREATE FUNCTION billing.amount_in(cstring) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_in(cstring) IS
    'Text input of billing.amount: "1234.56 USD", optional leading minus, no separators.';

CREATE FUNCTION billing.amount_out(billing.amount) RETURNS cstring
    AS 'MODULE_PATHNAME', 'amount_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_out(billing.amount) IS
    'Text output of billing.amount: every decimal place of the currency, a space, the ISO 4217 code.';

CREATE FUNCTION billing.amount_recv(internal) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_recv(internal) IS
    'Binary input of billing.amount: int64 minor units and int16 ISO 4217 numeric code, checked.';

CREATE FUNCTION billing.amount_send(billing.amount) RETURNS bytea
    AS 'MODULE_PATHNAME', 'amount_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_send(billing.amount) IS
    'Binary output of billing.amount: int64 minor units and int16 ISO 4217 numeric code.';

CREATE TYPE billing.amount (
    INPUT = billing.amount_in,
    OUTPUT = billing.amount_out,
    RECEIVE = billing.amount_recv,
    SEND = billing.amount_send,
    INTERNALLENGTH = 16,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE billing.amount IS
    'Money: an exact signed count of minor units of one ISO 4217 currency, written "1234.56 USD"; 16 bytes.';

-- Taking an amount apart and building one --------------------------------

CREATE FUNCTION billing.currency_code(billing.amount) RETURNS char(3)
    AS 'MODULE_PATHNAME', 'amount_currency_code'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.currency_code(billing.amount) IS
    'The ISO 4217 alphabetic code of the amount''s currency.';

CREATE FUNCTION billing.minor_units(billing.amount) RETURNS bigint
    AS 'MODULE_PATHNAME', 'amount_minor_units'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.minor_units(billing.amount) IS
    'The amount as a count of its currency''s minor units (cents for USD, yen for JPY).';

CREATE FUNCTION billing.amount_of_minor_units(units bigint, currency text)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_of_minor_units'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_of_minor_units(bigint, text) IS
    'The amount of that many minor units of the currency with this ISO 4217 alphabetic code.';

-- Arithmetic --------------------------------------------------------------

CREATE FUNCTION billing.amount_add(billing.amount, billing.amount)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_add'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_add(billing.amount, billing.amount) IS
    'Sum of two amounts of one currency (operator +); different currencies raise ZB101.';

CREATE FUNCTION billing.amount_sub(billing.amount, billing.amount)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_sub'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_sub(billing.amount, billing.amount) IS
    'Difference of two amounts of one currency (operator -); different currencies raise ZB101.';

CREATE FUNCTION billing.amount_uminus(billing.amount) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_uminus'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_uminus(billing.amount) IS
    'The amount with its sign reversed (prefix operator -).';

CREATE FUNCTION billing.amount_uplus(billing.amount) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_uplus'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_uplus(billing.amount) IS
    'The amount unchanged (prefix operator +).';

CREATE FUNCTION billing.abs(billing.amount) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_abs'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.abs(billing.amount) IS
    'The amount without its sign.';

CREATE OPERATOR billing.+ (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_add, COMMUTATOR = OPERATOR(billing.+)
);
COMMENT ON OPERATOR billing.+ (billing.amount, billing.amount) IS
    'Sum of two amounts of one currency.';

CREATE OPERATOR billing.- (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_sub
);
COMMENT ON OPERATOR billing.- (billing.amount, billing.amount) IS
    'Difference of two amounts of one currency.';

CREATE OPERATOR billing.- (
    RIGHTARG = billing.amount, FUNCTION = billing.amount_uminus
);
COMMENT ON OPERATOR billing.- (NONE, billing.amount) IS
    'The amount with its sign reversed.';

CREATE OPERATOR billing.+ (
    RIGHTARG = billing.amount, FUNCTION = billing.amount_uplus
);
COMMENT ON OPERATOR billing.+ (NONE, billing.amount) IS
    'The amount unchanged.';

-- Comparison --------------------------------------------------------------

CREATE FUNCTION billing.amount_eq(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_eq'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_eq(billing.amount, billing.amount) IS
    'True when both amounts have the same currency and value (operator =); never an error.';

CREATE FUNCTION billing.amount_ne(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_ne'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_ne(billing.amount, billing.amount) IS
    'True when the amounts differ in currency or value (operator <>); never an error.';

CREATE FUNCTION billing.amount_lt(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_lt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_lt(billing.amount, billing.amount) IS
    'Operator <; different currencies raise ZB101.';

CREATE FUNCTION billing.amount_le(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_le'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_le(billing.amount, billing.amount) IS
    'Operator <=; different currencies raise ZB101.';

CREATE FUNCTION billing.amount_gt(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_gt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_gt(billing.amount, billing.amount) IS
    'Operator >; different currencies raise ZB101.';

CREATE FUNCTION billing.amount_ge(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_ge'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_ge(billing.amount, billing.amount) IS
    'Operator >=; different currencies raise ZB101.';

CREATE FUNCTION billing.amount_cmp(billing.amount, billing.amount) RETURNS integer
    AS 'MODULE_PATHNAME', 'amount_cmp'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_cmp(billing.amount, billing.amount) IS
    'Btree support: -1, 0 or 1, ordering by currency (ISO 4217 numeric code) first, then value; never an error.';

CREATE FUNCTION billing.amount_order_lt(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_order_lt'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_order_lt(billing.amount, billing.amount) IS
    'Operator ~<~: before, in the sort order by currency then value; never an error.';

CREATE FUNCTION billing.amount_order_le(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_order_le'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_order_le(billing.amount, billing.amount) IS
    'Operator ~<=~: before or equal, in the sort order by currency then value; never an error.';

CREATE FUNCTION billing.amount_order_gt(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_order_gt'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_order_gt(billing.amount, billing.amount) IS
    'Operator ~>~: after, in the sort order by currency then value; never an error.';

CREATE FUNCTION billing.amount_order_ge(billing.amount, billing.amount) RETURNS boolean
    AS 'MODULE_PATHNAME', 'amount_order_ge'
    LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_order_ge(billing.amount, billing.amount) IS
    'Operator ~>=~: after or equal, in the sort order by currency then value; never an error.';

CREATE FUNCTION billing.amount_hash(billing.amount) RETURNS integer
    AS 'MODULE_PATHNAME', 'amount_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_hash(billing.amount) IS
    'Hash support: a 32-bit hash of the value and currency.';

CREATE FUNCTION billing.amount_hash_extended(billing.amount, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'amount_hash_extended'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_hash_extended(billing.amount, bigint) IS
    'Hash support: a seeded 64-bit hash of the value and currency, for hash partitioning.';

CREATE OPERATOR billing.= (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_eq,
    COMMUTATOR = OPERATOR(billing.=), NEGATOR = OPERATOR(billing.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR billing.= (billing.amount, billing.amount) IS
    'Same currency and same value.';

CREATE OPERATOR billing.<> (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_ne,
    COMMUTATOR = OPERATOR(billing.<>), NEGATOR = OPERATOR(billing.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR billing.<> (billing.amount, billing.amount) IS
    'Different currency or different value.';

-- The comparison operators raise ZB101 across currencies, so they carry no
-- selectivity estimator (scalarltsel would call them on the column's
-- histogram, which may hold several currencies, and planning would fail)
-- and are not members of the btree operator class (see below).  Range
-- conditions on amounts get the planner's default estimate.
CREATE OPERATOR billing.< (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_lt,
    COMMUTATOR = OPERATOR(billing.>), NEGATOR = OPERATOR(billing.>=)
);
COMMENT ON OPERATOR billing.< (billing.amount, billing.amount) IS
    'Less than, within one currency.';

CREATE OPERATOR billing.<= (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_le,
    COMMUTATOR = OPERATOR(billing.>=), NEGATOR = OPERATOR(billing.>)
);
COMMENT ON OPERATOR billing.<= (billing.amount, billing.amount) IS
    'Less than or equal, within one currency.';

CREATE OPERATOR billing.> (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_gt,
    COMMUTATOR = OPERATOR(billing.<), NEGATOR = OPERATOR(billing.<=)
);
COMMENT ON OPERATOR billing.> (billing.amount, billing.amount) IS
    'Greater than, within one currency.';

CREATE OPERATOR billing.>= (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_ge,
    COMMUTATOR = OPERATOR(billing.<=), NEGATOR = OPERATOR(billing.<)
);
COMMENT ON OPERATOR billing.>= (billing.amount, billing.amount) IS
    'Greater than or equal, within one currency.';

-- The sort order: by currency (ISO 4217 numeric code), then value.  These
-- operators, not <, <=, >, >=, make up the default btree operator class,
-- because PostgreSQL sorts and compares with that class where no error may
-- be raised: ANALYZE and autovacuum of a column holding several currencies,
-- the planner's estimates from its statistics, btree indexes, GROUP BY,
-- DISTINCT, merge joins.  ORDER BY an amount column sorts by currency, then
-- value; a condition "a < b" is checked by the strict operator and cannot
-- use a btree index (doc/amount.md).
CREATE OPERATOR billing.~<~ (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_order_lt,
    COMMUTATOR = OPERATOR(billing.~>~), NEGATOR = OPERATOR(billing.~>=~),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR billing.~<~ (billing.amount, billing.amount) IS
    'Before, in the sort order by currency then value.';

CREATE OPERATOR billing.~<=~ (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_order_le,
    COMMUTATOR = OPERATOR(billing.~>=~), NEGATOR = OPERATOR(billing.~>~),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR billing.~<=~ (billing.amount, billing.amount) IS
    'Before or equal, in the sort order by currency then value.';

CREATE OPERATOR billing.~>~ (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_order_gt,
    COMMUTATOR = OPERATOR(billing.~<~), NEGATOR = OPERATOR(billing.~<=~),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR billing.~>~ (billing.amount, billing.amount) IS
    'After, in the sort order by currency then value.';

CREATE OPERATOR billing.~>=~ (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_order_ge,
    COMMUTATOR = OPERATOR(billing.~<=~), NEGATOR = OPERATOR(billing.~<~),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR billing.~>=~ (billing.amount, billing.amount) IS
    'After or equal, in the sort order by currency then value.';

CREATE OPERATOR CLASS billing.amount_ops
    DEFAULT FOR TYPE billing.amount USING btree AS
        OPERATOR 1 billing.~<~,
        OPERATOR 2 billing.~<=~,
        OPERATOR 3 billing.=,
        OPERATOR 4 billing.~>=~,
        OPERATOR 5 billing.~>~,
        FUNCTION 1 billing.amount_cmp(billing.amount, billing.amount);
COMMENT ON OPERATOR CLASS billing.amount_ops USING btree IS
    'Sorts and indexes amounts by currency (ISO 4217 numeric code), then value, so mixed currencies can be indexed, grouped and analyzed.';

CREATE OPERATOR CLASS billing.amount_hash_ops
    DEFAULT FOR TYPE billing.amount USING hash AS
        OPERATOR 1 billing.=,
        FUNCTION 1 billing.amount_hash(billing.amount),
        FUNCTION 2 billing.amount_hash_extended(billing.amount, bigint);
COMMENT ON OPERATOR CLASS billing.amount_hash_ops USING hash IS
    'Hashes amounts for hash joins, hash aggregation, hash indexes and hash partitioning (Citus).';

-- Currencies --------------------------------------------------------------

CREATE FUNCTION billing.iso_currencies(
    OUT currency_code char(3), OUT numeric_code smallint,
    OUT minor_unit smallint, OUT name text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'billing_iso_currencies'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.iso_currencies() IS
    'The ISO 4217 currencies built into billing.amount: the source that fills billing.currency.';

CREATE TABLE billing.currency (
    currency_code   char(3) PRIMARY KEY
                    CHECK (currency_code OPERATOR(pg_catalog.~) '^[A-Z]{3}$'),
    numeric_code    smallint NOT NULL UNIQUE
                    CHECK (numeric_code OPERATOR(pg_catalog.>=) 1
                           AND numeric_code OPERATOR(pg_catalog.<=) 999),
    minor_unit      smallint NOT NULL
                    CHECK (minor_unit OPERATOR(pg_catalog.>=) 0
                           AND minor_unit OPERATOR(pg_catalog.<=) 4),
    name            text NOT NULL
);
COMMENT ON TABLE billing.currency IS
    'ISO 4217 currencies that amounts may be in; reference data shipped with billing (not user data).';
COMMENT ON COLUMN billing.currency.currency_code IS 'ISO 4217 alphabetic code, as in "USD"; what money columns and firms refer to.';
COMMENT ON COLUMN billing.currency.numeric_code IS 'ISO 4217 numeric code; what an amount stores on disk.';
COMMENT ON COLUMN billing.currency.minor_unit IS 'Decimal places of the minor unit: 2 for USD, 0 for JPY, 3 for BHD.';
COMMENT ON COLUMN billing.currency.name IS 'The currency''s name in ISO 4217.';

INSERT INTO billing.currency (currency_code, numeric_code, minor_unit, name)
SELECT c.currency_code, c.numeric_code, c.minor_unit, c.name
  FROM billing.iso_currencies() AS c;

GRANT SELECT ON billing.currency TO PUBLIC;

-- Numeric factors, rounding, and conversion to and from numeric ------------

CREATE TYPE billing.rounding AS ENUM ('half_away_from_zero', 'half_even');
COMMENT ON TYPE billing.rounding IS
    'How a value half-way between two minor units is rounded: half_away_from_zero (2.5 -> 3, the default) or half_even (2.5 -> 2, 3.5 -> 4).';

CREATE FUNCTION billing.multiply(
    amount billing.amount, factor numeric,
    rounding billing.rounding DEFAULT 'half_away_from_zero')
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_mul_numeric'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.multiply(billing.amount, numeric, billing.rounding) IS
    'The amount times the factor, computed exactly and rounded once to a whole minor unit by the rule.';

CREATE FUNCTION billing.divide(
    amount billing.amount, divisor numeric,
    rounding billing.rounding DEFAULT 'half_away_from_zero')
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_div_numeric'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.divide(billing.amount, numeric, billing.rounding) IS
    'The amount divided by the divisor, computed exactly and rounded once to a whole minor unit by the rule.';

CREATE FUNCTION billing.amount_mul_numeric(billing.amount, numeric)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_mul_numeric'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_mul_numeric(billing.amount, numeric) IS
    'Operator *: the amount times a numeric, rounded half away from zero.';

CREATE FUNCTION billing.numeric_mul_amount(numeric, billing.amount)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'numeric_mul_amount'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.numeric_mul_amount(numeric, billing.amount) IS
    'Operator *: a numeric times the amount, rounded half away from zero.';

CREATE FUNCTION billing.amount_div_numeric(billing.amount, numeric)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_div_numeric'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_div_numeric(billing.amount, numeric) IS
    'Operator /: the amount divided by a numeric, rounded half away from zero.';

CREATE OPERATOR billing.* (
    LEFTARG = billing.amount, RIGHTARG = numeric,
    FUNCTION = billing.amount_mul_numeric,
    COMMUTATOR = OPERATOR(billing.*)
);
COMMENT ON OPERATOR billing.* (billing.amount, numeric) IS
    'The amount times a numeric, rounded half away from zero to a whole minor unit.';

CREATE OPERATOR billing.* (
    LEFTARG = numeric, RIGHTARG = billing.amount,
    FUNCTION = billing.numeric_mul_amount,
    COMMUTATOR = OPERATOR(billing.*)
);
COMMENT ON OPERATOR billing.* (numeric, billing.amount) IS
    'A numeric times the amount, rounded half away from zero to a whole minor unit.';

CREATE OPERATOR billing./ (
    LEFTARG = billing.amount, RIGHTARG = numeric,
    FUNCTION = billing.amount_div_numeric
);
COMMENT ON OPERATOR billing./ (billing.amount, numeric) IS
    'The amount divided by a numeric, rounded half away from zero to a whole minor unit.';

CREATE FUNCTION billing.amount(
    value numeric, currency text,
    rounding billing.rounding DEFAULT 'half_away_from_zero')
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_from_numeric'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount(numeric, text, billing.rounding) IS
    'The amount of value major units (dollars for USD) of the currency, rounded to a whole minor unit by the rule.';

CREATE FUNCTION billing.value(billing.amount) RETURNS numeric
    AS 'MODULE_PATHNAME', 'amount_value'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.value(billing.amount) IS
    'The amount in major units as numeric, with every decimal place of its currency: 1234.50 for "1234.50 USD".';

CREATE CAST (billing.amount AS numeric)
    WITH FUNCTION billing.value(billing.amount);
COMMENT ON CAST (billing.amount AS numeric) IS
    'Explicit only: the value without its currency, as billing.value does.';

-- Aggregates ----------------------------------------------------------------

CREATE FUNCTION billing.amount_agg_accum(internal, billing.amount)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'amount_agg_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_agg_accum(internal, billing.amount) IS
    'Transition function of billing.sum and billing.avg: adds a row, skipping NULL.';

CREATE FUNCTION billing.amount_agg_inverse(internal, billing.amount)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'amount_agg_inverse'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_agg_inverse(internal, billing.amount) IS
    'Inverse transition of billing.sum and billing.avg for moving window frames: removes a row.';

CREATE FUNCTION billing.amount_agg_combine(internal, internal)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'amount_agg_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_agg_combine(internal, internal) IS
    'Combine function of billing.sum and billing.avg: merges partial states of parallel workers.';

CREATE FUNCTION billing.amount_agg_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'amount_agg_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_agg_serialize(internal) IS
    'Serializes the state of billing.sum and billing.avg for parallel aggregation.';

CREATE FUNCTION billing.amount_agg_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'amount_agg_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_agg_deserialize(bytea, internal) IS
    'Deserializes the state of billing.sum and billing.avg for parallel aggregation.';

CREATE FUNCTION billing.amount_sum_final(internal) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_sum_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_sum_final(internal) IS
    'Final function of billing.sum: the total, or NULL for no rows.';

CREATE FUNCTION billing.amount_avg_final(internal) RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_avg_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_avg_final(internal) IS
    'Final function of billing.avg: the mean rounded half away from zero, or NULL for no rows.';

CREATE FUNCTION billing.amount_smaller(billing.amount, billing.amount)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_smaller'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_smaller(billing.amount, billing.amount) IS
    'The lesser of two amounts of one currency (billing.min); ZB101 across currencies.';

CREATE FUNCTION billing.amount_larger(billing.amount, billing.amount)
    RETURNS billing.amount
    AS 'MODULE_PATHNAME', 'amount_larger'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_larger(billing.amount, billing.amount) IS
    'The greater of two amounts of one currency (billing.max); ZB101 across currencies.';

CREATE AGGREGATE billing.sum(billing.amount) (
    SFUNC = billing.amount_agg_accum,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = billing.amount_sum_final,
    COMBINEFUNC = billing.amount_agg_combine,
    SERIALFUNC = billing.amount_agg_serialize,
    DESERIALFUNC = billing.amount_agg_deserialize,
    MSFUNC = billing.amount_agg_accum,
    MINVFUNC = billing.amount_agg_inverse,
    MSTYPE = internal,
    MSSPACE = 32,
    MFINALFUNC = billing.amount_sum_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE billing.sum(billing.amount) IS
    'Exact total of amounts of one currency; mixed currencies raise ZB101, a total out of range 22003.';

CREATE AGGREGATE billing.avg(billing.amount) (
    SFUNC = billing.amount_agg_accum,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = billing.amount_avg_final,
    COMBINEFUNC = billing.amount_agg_combine,
    SERIALFUNC = billing.amount_agg_serialize,
    DESERIALFUNC = billing.amount_agg_deserialize,
    MSFUNC = billing.amount_agg_accum,
    MINVFUNC = billing.amount_agg_inverse,
    MSTYPE = internal,
    MSSPACE = 32,
    MFINALFUNC = billing.amount_avg_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE billing.avg(billing.amount) IS
    'Mean of amounts of one currency, rounded half away from zero to a whole minor unit; mixed currencies raise ZB101.';

-- min and max have no SORTOP on purpose: the index shortcut would return
-- the least amount of the first currency in index order instead of raising
-- ZB101 over mixed currencies.
CREATE AGGREGATE billing.min(billing.amount) (
    SFUNC = billing.amount_smaller,
    STYPE = billing.amount,
    COMBINEFUNC = billing.amount_smaller,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE billing.min(billing.amount) IS
    'Smallest of amounts of one currency; mixed currencies raise ZB101.';

CREATE AGGREGATE billing.max(billing.amount) (
    SFUNC = billing.amount_larger,
    STYPE = billing.amount,
    COMBINEFUNC = billing.amount_larger,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE billing.max(billing.amount) IS
    'Largest of amounts of one currency; mixed currencies raise ZB101.';

-- Allocation ----------------------------------------------------------------

CREATE FUNCTION billing.allocate(total billing.amount, weights numeric[])
    RETURNS billing.amount[]
    AS 'MODULE_PATHNAME', 'amount_allocate_weights'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.allocate(billing.amount, numeric[]) IS
    'Splits total into parts proportional to the weights that add up to it exactly (largest remainder; ties to the earlier weight).';

CREATE FUNCTION billing.allocate(total billing.amount, parts integer)
    RETURNS billing.amount[]
    AS 'MODULE_PATHNAME', 'amount_allocate_even'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.allocate(billing.amount, integer) IS
    'Splits total into that many parts as evenly as whole minor units allow, the larger parts first.';
