/*
 * amount_agg.c
 *		billing.amount: the transition, combine, serialization and final
 *		functions behind the aggregates sum and avg.
 *
 * sum and avg share one transition state: a 128-bit running total of minor
 * units, a count of rows and the currency.  The state is allocated once per
 * group in the aggregate's memory context and updated in place, so a row
 * costs an addition and two comparisons, not an allocation.  128 bits
 * cannot overflow before 2^64 rows; only the final result is checked
 * against the type's range, so a sum whose partial totals leave the range
 * but whose end result fits is still correct.
 *
 * The state can be serialized, so both aggregates run in parallel workers,
 * and has an inverse, so they are cheap as moving-frame window aggregates.
 * min and max need no code of their own: they use amount_smaller and
 * amount_larger (amount_ops.c).
 */
#include "billing.h"

#include "libpq/pqformat.h"

#include "amount.h"

typedef struct AmountAggState
{
	int128		sum;			/* running total of minor units */
	int64		count;			/* rows added and not removed */
	int16		currency;		/* currency of every row so far */
} AmountAggState;

/* A new, empty state in the aggregate's memory context. */
static AmountAggState *
amount_agg_state_new(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "billing.amount aggregate function called in non-aggregate context");
	return (AmountAggState *) MemoryContextAllocZero(aggcontext,
													 sizeof(AmountAggState));
}

PG_FUNCTION_INFO_V1(amount_agg_accum);

/*
 * amount_agg_accum(state internal, value amount) returns internal: adds a
 * row to the state.  NULL rows are skipped; a row of another currency than
 * the rows before raises ZB101 naming both.
 */
Datum
amount_agg_accum(PG_FUNCTION_ARGS)
{
	AmountAggState *state;
	Amount	   *a;

	state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	a = PG_GETARG_AMOUNT_P(1);
	if (state == NULL)
		state = amount_agg_state_new(fcinfo);
	if (state->count == 0)
		state->currency = a->currency;
	else if (state->currency != a->currency)
		amount_currency_mismatch(state->currency, a->currency, "sum");
	state->sum += a->units;
	state->count++;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(amount_agg_inverse);

/*
 * amount_agg_inverse(state internal, value amount) returns internal: takes
 * back a row that amount_agg_accum added, for moving window frames.
 */
Datum
amount_agg_inverse(PG_FUNCTION_ARGS)
{
	AmountAggState *state;
	Amount	   *a;

	state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	if (state == NULL)
		elog(ERROR, "billing.amount aggregate inverse called without a state");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);
	a = PG_GETARG_AMOUNT_P(1);
	if (state->count == 0 || state->currency != a->currency)
		elog(ERROR, "billing.amount aggregate inverse called for a row it never added");
	state->sum -= a->units;
	state->count--;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(amount_agg_combine);

/*
 * amount_agg_combine(state1 internal, state2 internal) returns internal:
 * merges two partial states (parallel aggregation); ZB101 when the two
 * partial states hold different currencies.
 */
Datum
amount_agg_combine(PG_FUNCTION_ARGS)
{
	AmountAggState *state1;
	AmountAggState *state2;

	state1 = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	state2 = PG_ARGISNULL(1) ? NULL : (AmountAggState *) PG_GETARG_POINTER(1);
	if (state2 == NULL || state2->count == 0)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
		state1 = amount_agg_state_new(fcinfo);
	if (state1->count == 0)
	{
		*state1 = *state2;
		PG_RETURN_POINTER(state1);
	}
	if (state1->currency != state2->currency)
		amount_currency_mismatch(state1->currency, state2->currency, "sum");
	state1->sum += state2->sum;
	state1->count += state2->count;
	PG_RETURN_POINTER(state1);
}

PG_FUNCTION_INFO_V1(amount_agg_serialize);

/*
 * amount_agg_serialize(state internal) returns bytea: the state as 26
 * bytes (total as two 64-bit halves, count, currency) for a parallel worker
 * to hand to the leader.
 */
Datum
amount_agg_serialize(PG_FUNCTION_ARGS)
{
	AmountAggState *state = (AmountAggState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, (int64) (state->sum >> 64));
	pq_sendint64(&buf, (int64) (uint64) state->sum);
	pq_sendint64(&buf, state->count);
	pq_sendint16(&buf, state->currency);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(amount_agg_deserialize);

/*
 * amount_agg_deserialize(bytes bytea, internal) returns internal: the
 * inverse of amount_agg_serialize.
 */
Datum
amount_agg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	AmountAggState *state;
	StringInfoData buf;
	int64		high;
	uint64		low;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "billing.amount aggregate function called in non-aggregate context");
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	state = palloc0(sizeof(AmountAggState));
	high = pq_getmsgint64(&buf);
	low = (uint64) pq_getmsgint64(&buf);
	state->sum = (int128) (((uint128) high << 64) | low);
	state->count = pq_getmsgint64(&buf);
	state->currency = (int16) pq_getmsgint(&buf, 2);
	pq_getmsgend(&buf);
	pfree(buf.data);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(amount_sum_final);

/*
 * amount_sum_final(state internal) returns billing.amount: the total, or
 * NULL when no non-NULL row was added; 22003 when it is out of range.
 */
Datum
amount_sum_final(PG_FUNCTION_ARGS)
{
	AmountAggState *state;

	state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();
	if (state->sum > AMOUNT_MAX_UNITS || state->sum < AMOUNT_MIN_UNITS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("billing.amount out of range in sum"),
				 errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign.")));
	PG_RETURN_AMOUNT_P(amount_make((int64) state->sum, state->currency));
}

PG_FUNCTION_INFO_V1(amount_avg_final);

/*
 * amount_avg_final(state internal) returns billing.amount: the mean,
 * rounded half away from zero to a whole minor unit, or NULL when no
 * non-NULL row was added.  The mean of amounts in range is in range.
 */
Datum
amount_avg_final(PG_FUNCTION_ARGS)
{
	AmountAggState *state;
	int128		quotient;
	int128		remainder;

	state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();
	quotient = state->sum / state->count;
	remainder = state->sum % state->count;
	if (remainder < 0)
		remainder = -remainder;
	if (remainder * 2 >= state->count)
		quotient += state->sum < 0 ? -1 : 1;
	PG_RETURN_AMOUNT_P(amount_make((int64) quotient, state->currency));
}
