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
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.amount_cmp(billing.amount, billing.amount) IS
    'Btree support: -1, 0 or 1; different currencies raise ZB101.';

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

CREATE OPERATOR billing.< (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_lt,
    COMMUTATOR = OPERATOR(billing.>), NEGATOR = OPERATOR(billing.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR billing.< (billing.amount, billing.amount) IS
    'Less than, within one currency.';

CREATE OPERATOR billing.<= (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_le,
    COMMUTATOR = OPERATOR(billing.>=), NEGATOR = OPERATOR(billing.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR billing.<= (billing.amount, billing.amount) IS
    'Less than or equal, within one currency.';

CREATE OPERATOR billing.> (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_gt,
    COMMUTATOR = OPERATOR(billing.<), NEGATOR = OPERATOR(billing.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR billing.> (billing.amount, billing.amount) IS
    'Greater than, within one currency.';

CREATE OPERATOR billing.>= (
    LEFTARG = billing.amount, RIGHTARG = billing.amount,
    FUNCTION = billing.amount_ge,
    COMMUTATOR = OPERATOR(billing.<=), NEGATOR = OPERATOR(billing.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR billing.>= (billing.amount, billing.amount) IS
    'Greater than or equal, within one currency.';

CREATE OPERATOR CLASS billing.amount_ops
    DEFAULT FOR TYPE billing.amount USING btree AS
        OPERATOR 1 billing.<,
        OPERATOR 2 billing.<=,
        OPERATOR 3 billing.=,
        OPERATOR 4 billing.>=,
        OPERATOR 5 billing.>,
        FUNCTION 1 billing.amount_cmp(billing.amount, billing.amount);
COMMENT ON OPERATOR CLASS billing.amount_ops USING btree IS
    'Orders amounts of one currency; sorting or indexing mixed currencies raises ZB101.';

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
    currency_code   char(3) PRIMARY KEY CHECK (currency_code ~ '^[A-Z]{3}$'),
    numeric_code    smallint NOT NULL UNIQUE CHECK (numeric_code BETWEEN 1 AND 999),
    minor_unit      smallint NOT NULL CHECK (minor_unit BETWEEN 0 AND 4),
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
