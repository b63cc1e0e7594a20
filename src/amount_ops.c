/*
 * amount_ops.c
 *		billing.amount: addition, subtraction, negation, comparison and
 *		hashing.
 *
 * Adding, subtracting or comparing with <, <=, >, >= amounts of different
 * currencies raises ZB101; there is never a silent conversion.  Equality is
 * defined across currencies (two amounts of different currencies are simply
 * not equal), and so is the order of the btree operator class, which sorts
 * by currency first (see amount_cmp): hash and sort based grouping, joins,
 * indexes and ANALYZE over a column of mixed currencies then work whatever
 * plan is chosen.  Results outside the type's symmetric range raise 22003.
 */
#include "billing.h"

#include "common/hashfn.h"
#include "common/int.h"

#include "amount.h"

static void
amount_range_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("billing.amount out of range in %s", what),
			 errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign.")));
}

PG_FUNCTION_INFO_V1(amount_add);

/*
 * amount_add(a, b), operator +: the sum of two amounts of one currency.
 */
Datum
amount_add(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);
	int64		units;

	amount_check_currency(a, b, "add");
	if (pg_add_s64_overflow(a->units, b->units, &units) ||
		units < AMOUNT_MIN_UNITS)
		amount_range_error("addition");
	PG_RETURN_AMOUNT_P(amount_make(units, a->currency));
}

PG_FUNCTION_INFO_V1(amount_sub);

/*
 * amount_sub(a, b), operator -: a less b, both of one currency.
 */
Datum
amount_sub(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);
	int64		units;

	amount_check_currency(a, b, "subtract");
	if (pg_sub_s64_overflow(a->units, b->units, &units) ||
		units < AMOUNT_MIN_UNITS)
		amount_range_error("subtraction");
	PG_RETURN_AMOUNT_P(amount_make(units, a->currency));
}

PG_FUNCTION_INFO_V1(amount_uminus);

/*
 * amount_uminus(a), prefix operator -: the amount with its sign reversed.
 * Cannot overflow, since the range is symmetric.
 */
Datum
amount_uminus(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_AMOUNT_P(amount_make(-a->units, a->currency));
}

PG_FUNCTION_INFO_V1(amount_uplus);

/*
 * amount_uplus(a), prefix operator +: the amount itself.
 */
Datum
amount_uplus(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_AMOUNT_P(amount_make(a->units, a->currency));
}

PG_FUNCTION_INFO_V1(amount_abs);

/*
 * billing.abs(a): the amount without its sign.
 */
Datum
amount_abs(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_AMOUNT_P(amount_make(a->units < 0 ? -a->units : a->units,
								   a->currency));
}

/*
 * amount_compare: -1, 0 or 1 as a is less than, equal to or greater than b;
 * ZB101 when their currencies differ.
 */
static inline int
amount_compare(const Amount *a, const Amount *b)
{
	amount_check_currency(a, b, "compare");
	if (a->units < b->units)
		return -1;
	return a->units > b->units ? 1 : 0;
}

/*
 * amount_order: the total order of the btree operator class: by currency
 * (ISO 4217 numeric code) first, then by value.  Never an error.
 */
static inline int
amount_order(const Amount *a, const Amount *b)
{
	if (a->currency != b->currency)
		return a->currency < b->currency ? -1 : 1;
	if (a->units < b->units)
		return -1;
	return a->units > b->units ? 1 : 0;
}

PG_FUNCTION_INFO_V1(amount_cmp);

/*
 * amount_cmp(a, b) returns integer: the btree support function, in the
 * total order of amount_order.  PostgreSQL sorts and compares with the
 * default btree operator class behind the scenes, where an error would be
 * wrong: ANALYZE (and so autovacuum) of a column holding several
 * currencies, the planner's estimates from its statistics, btree indexes,
 * GROUP BY, DISTINCT and merge joins, whichever plan is chosen.  So the
 * class is built on this order and on the operators ~<~, ~<=~, ~>=~, ~>~;
 * the operators <, <=, >, >= that users write are not members and raise
 * ZB101 across currencies.
 */
Datum
amount_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(amount_order(PG_GETARG_AMOUNT_P(0),
								 PG_GETARG_AMOUNT_P(1)));
}

PG_FUNCTION_INFO_V1(amount_order_lt);
PG_FUNCTION_INFO_V1(amount_order_le);
PG_FUNCTION_INFO_V1(amount_order_gt);
PG_FUNCTION_INFO_V1(amount_order_ge);

/*
 * amount_order_lt, _le, _gt, _ge: operators ~<~, ~<=~, ~>~, ~>=~ of the
 * btree operator class, in the order of amount_order; never an error.
 */
Datum
amount_order_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_order(PG_GETARG_AMOUNT_P(0),
								PG_GETARG_AMOUNT_P(1)) < 0);
}

Datum
amount_order_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_order(PG_GETARG_AMOUNT_P(0),
								PG_GETARG_AMOUNT_P(1)) <= 0);
}

Datum
amount_order_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_order(PG_GETARG_AMOUNT_P(0),
								PG_GETARG_AMOUNT_P(1)) > 0);
}

Datum
amount_order_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_order(PG_GETARG_AMOUNT_P(0),
								PG_GETARG_AMOUNT_P(1)) >= 0);
}

PG_FUNCTION_INFO_V1(amount_lt);
PG_FUNCTION_INFO_V1(amount_le);
PG_FUNCTION_INFO_V1(amount_gt);
PG_FUNCTION_INFO_V1(amount_ge);

/* amount_lt, _le, _gt, _ge: operators <, <=, >, >=; ZB101 across currencies. */
Datum
amount_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_compare(PG_GETARG_AMOUNT_P(0),
								  PG_GETARG_AMOUNT_P(1)) < 0);
}

Datum
amount_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_compare(PG_GETARG_AMOUNT_P(0),
								  PG_GETARG_AMOUNT_P(1)) <= 0);
}

Datum
amount_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_compare(PG_GETARG_AMOUNT_P(0),
								  PG_GETARG_AMOUNT_P(1)) > 0);
}

Datum
amount_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(amount_compare(PG_GETARG_AMOUNT_P(0),
								  PG_GETARG_AMOUNT_P(1)) >= 0);
}

PG_FUNCTION_INFO_V1(amount_eq);
PG_FUNCTION_INFO_V1(amount_ne);

/*
 * amount_eq, amount_ne: operators = and <>.  Amounts of different
 * currencies are never equal; this never raises an error.
 */
Datum
amount_eq(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_BOOL(a->units == b->units && a->currency == b->currency);
}

Datum
amount_ne(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_BOOL(a->units != b->units || a->currency != b->currency);
}

PG_FUNCTION_INFO_V1(amount_smaller);
PG_FUNCTION_INFO_V1(amount_larger);

/*
 * amount_smaller, amount_larger: the lesser or greater of two amounts of one
 * currency; the transition functions of min and max.
 */
Datum
amount_smaller(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_AMOUNT_P(amount_compare(a, b) <= 0 ? a : b);
}

Datum
amount_larger(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_AMOUNT_P(amount_compare(a, b) >= 0 ? a : b);
}

/*
 * The hashed key is the count followed by the currency code, least
 * significant byte first whatever the machine, so a hash partition or a
 * Citus shard holds the same rows on every platform.  The reserved bytes
 * are left out: the hash depends on exactly what equality compares.
 */
static inline void
amount_hash_key(const Amount *a, unsigned char *key)
{
	uint64		units = (uint64) a->units;
	uint16		currency = (uint16) a->currency;
	int			i;

	for (i = 0; i < 8; i++)
		key[i] = (unsigned char) (units >> (8 * i));
	key[8] = (unsigned char) currency;
	key[9] = (unsigned char) (currency >> 8);
}

PG_FUNCTION_INFO_V1(amount_hash);

/*
 * amount_hash(a) returns integer: the hash support function.
 */
Datum
amount_hash(PG_FUNCTION_ARGS)
{
	unsigned char key[10];

	amount_hash_key(PG_GETARG_AMOUNT_P(0), key);
	return hash_any(key, sizeof(key));
}

PG_FUNCTION_INFO_V1(amount_hash_extended);

/*
 * amount_hash_extended(a, seed) returns bigint: the seeded 64-bit hash used
 * by hash partitioning.
 */
Datum
amount_hash_extended(PG_FUNCTION_ARGS)
{
	unsigned char key[10];

	amount_hash_key(PG_GETARG_AMOUNT_P(0), key);
	return hash_any_extended(key, sizeof(key), PG_GETARG_INT64(1));
}
