/*
 * allocate.c
 *		Splitting an amount into parts that add up to it exactly.
 *
 * billing.allocate(total, weights numeric[]) gives each weight the part of
 * the total proportional to it, by the largest remainder method, in whole
 * minor units:
 *
 *	1. Work on the magnitude of the total; give the parts the total's sign
 *	   at the end, so that splitting -T gives exactly the negated parts of T.
 *	2. Each part first gets the exact share |T| * w / W (W the sum of the
 *	   weights) rounded down to a whole minor unit.  Numeric arithmetic is
 *	   exact here: the remainder of each share is kept as a fraction, never
 *	   rounded to some number of digits.
 *	3. What is left, fewer minor units than there are parts, goes one minor
 *	   unit each to the parts with the largest remainders.  Ties go to the
 *	   part that comes first in the weights array.
 *
 * So the parts always add up to the total, each part is within one minor
 * unit of its exact share (strictly less than one away), a weight of zero
 * always gets zero, and the same input always gives the same parts.
 *
 * billing.allocate(total, parts integer) is the even split: every part gets
 * the total divided by the count, rounded toward zero, and the first
 * (|T| mod count) parts get one minor unit more (in the total's sign).
 */
#include "billing.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "amount.h"

/* The most parts one call may produce. */
#define ALLOCATE_MAX_PARTS	10000000

/* numeric arithmetic through PostgreSQL's own functions: exact */
static inline Numeric
num_op(PGFunction fn, Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(fn, NumericGetDatum(a),
											   NumericGetDatum(b)));
}

static inline int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b)));
}

typedef struct AllocationShare
{
	int			position;		/* index in the weights array */
	Numeric		remainder;		/* what rounding the share down left over */
} AllocationShare;

/* Largest remainder first; among equal remainders, earliest position. */
static int
share_cmp(const void *a, const void *b)
{
	const AllocationShare *sa = (const AllocationShare *) a;
	const AllocationShare *sb = (const AllocationShare *) b;
	int			c = num_cmp(sb->remainder, sa->remainder);

	if (c != 0)
		return c;
	return sa->position - sb->position;
}

static void
allocation_error(const char *message, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_BILLING_INVALID_ALLOCATION),
			 errmsg("%s", message),
			 errdetail("%s", detail),
			 errhint("Pass at least one positive weight and no negative or null ones.")));
}

/* The parts, as an array of billing.amount, the declared result type. */
static ArrayType *
parts_array(FunctionCallInfo fcinfo, Amount *parts, int count)
{
	Oid			element_type;
	Datum	   *elements = palloc(sizeof(Datum) * count);
	int			i;

	element_type = get_element_type(get_func_rettype(fcinfo->flinfo->fn_oid));
	if (!OidIsValid(element_type))
		elog(ERROR, "billing.allocate must be declared to return billing.amount[]");
	for (i = 0; i < count; i++)
		elements[i] = AmountPGetDatum(&parts[i]);
	return construct_array(elements, count, element_type, sizeof(Amount),
						   false, TYPALIGN_DOUBLE);
}

PG_FUNCTION_INFO_V1(amount_allocate_weights);

/*
 * billing.allocate(total billing.amount, weights numeric[]) returns
 * billing.amount[]: one part per weight, in the order of the weights,
 * adding up to total exactly (see the top of this file).  Raises ZB103 for
 * an empty or multidimensional array, a NULL, negative, NaN or infinite
 * weight, or weights that are all zero.
 */
Datum
amount_allocate_weights(PG_FUNCTION_ARGS)
{
	Amount	   *total = PG_GETARG_AMOUNT_P(0);
	ArrayType  *weights_array = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *weights;
	bool	   *nulls;
	int			count;
	int			i;
	Numeric		zero = int64_to_numeric(0);
	Numeric		weight_sum = zero;
	Numeric		magnitude;
	int64		magnitude_units;
	int64		left_over;
	Amount	   *parts;
	AllocationShare *shares;

	if (ARR_NDIM(weights_array) > 1)
		allocation_error("allocation weights must be a one-dimensional array",
						 "A multidimensional array was given.");
	deconstruct_array(weights_array, NUMERICOID, -1, false, TYPALIGN_INT,
					  &weights, &nulls, &count);
	if (count == 0)
		allocation_error("allocation weights must not be empty",
						 "An empty array was given.");
	for (i = 0; i < count; i++)
	{
		Numeric		w;

		if (nulls[i])
			allocation_error("allocation weights must not be null",
							 psprintf("Weight %d is null.", i + 1));
		w = DatumGetNumeric(weights[i]);
		if (numeric_is_nan(w) || numeric_is_inf(w))
			allocation_error("allocation weights must be finite numbers",
							 psprintf("Weight %d is not a finite number.", i + 1));
		if (num_cmp(w, zero) < 0)
			allocation_error("allocation weights must not be negative",
							 psprintf("Weight %d is negative.", i + 1));
		weight_sum = num_op(numeric_add, weight_sum, w);
	}
	if (num_cmp(weight_sum, zero) == 0)
		allocation_error("allocation weights must not all be zero",
						 "Every weight is zero, so no part can be proportional to them.");

	magnitude_units = total->units < 0 ? -total->units : total->units;
	magnitude = int64_to_numeric(magnitude_units);
	parts = palloc0(sizeof(Amount) * count);
	shares = palloc(sizeof(AllocationShare) * count);
	left_over = magnitude_units;
	for (i = 0; i < count; i++)
	{
		Numeric		product;
		Numeric		floor_share;
		Datum		units;

		/* |T| * w = floor_share * W + remainder, all exact. */
		product = num_op(numeric_mul, magnitude, DatumGetNumeric(weights[i]));
		floor_share = num_op(numeric_div_trunc, product, weight_sum);
		shares[i].position = i;
		shares[i].remainder = num_op(numeric_mod, product, weight_sum);
		units = DirectFunctionCall1(numeric_int8, NumericGetDatum(floor_share));
		parts[i].units = DatumGetInt64(units);
		parts[i].currency = total->currency;
		left_over -= parts[i].units;
	}

	/*
	 * Fewer minor units are left over than there are non-zero remainders,
	 * since each remainder is less than one minor unit's worth.
	 */
	if (left_over < 0 || left_over >= count)
		elog(ERROR, "billing.allocate left %lld minor units over for %d parts",
			 (long long) left_over, count);
	qsort(shares, count, sizeof(AllocationShare), share_cmp);
	for (i = 0; i < left_over; i++)
		parts[shares[i].position].units++;
	if (total->units < 0)
		for (i = 0; i < count; i++)
			parts[i].units = -parts[i].units;

	PG_RETURN_ARRAYTYPE_P(parts_array(fcinfo, parts, count));
}

PG_FUNCTION_INFO_V1(amount_allocate_even);

/*
 * billing.allocate(total billing.amount, parts integer) returns
 * billing.amount[]: total split into that many parts as evenly as whole
 * minor units allow, the larger parts first.  Raises ZB103 when parts is
 * not between 1 and 10,000,000.
 */
Datum
amount_allocate_even(PG_FUNCTION_ARGS)
{
	Amount	   *total = PG_GETARG_AMOUNT_P(0);
	int32		count = PG_GETARG_INT32(1);
	int64		magnitude;
	int64		base;
	int64		extra;
	int			sign = total->units < 0 ? -1 : 1;
	Amount	   *parts;
	int			i;

	if (count < 1 || count > ALLOCATE_MAX_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_INVALID_ALLOCATION),
				 errmsg("number of parts to split an amount into must be between 1 and %d",
						ALLOCATE_MAX_PARTS),
				 errdetail("%d parts were asked for.", count)));
	magnitude = total->units < 0 ? -total->units : total->units;
	base = magnitude / count;
	extra = magnitude % count;
	parts = palloc0(sizeof(Amount) * count);
	for (i = 0; i < count; i++)
	{
		parts[i].units = sign * (base + (i < extra ? 1 : 0));
		parts[i].currency = total->currency;
	}
	PG_RETURN_ARRAYTYPE_P(parts_array(fcinfo, parts, count));
}
