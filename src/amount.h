/*
 * amount.h
 *		The billing.amount type: an exact count of a currency's minor units.
 *
 * On disk and in memory an amount is 16 bytes, aligned like a double and
 * passed by reference: a signed 64-bit count of minor units (cents for USD,
 * yen for JPY, fils for BHD), the currency's ISO 4217 numeric code, and
 * six bytes that are always zero.  The numeric code, not a position in a
 * list, is what identifies the currency, so stored values keep their
 * meaning when the currency list grows.
 *
 * The count never takes the value INT64_MIN: the range is symmetric, so
 * negating or taking the absolute value of an amount cannot overflow.
 */
#ifndef BILLING_AMOUNT_H
#define BILLING_AMOUNT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/numeric.h"

#include "currency.h"

/* Sums and input parsing are done in 128-bit integers. */
#ifndef HAVE_INT128
#error "billing.amount needs a compiler with 128-bit integers"
#endif

typedef struct Amount
{
	int64		units;			/* count of minor units, never INT64_MIN */
	int16		currency;		/* ISO 4217 numeric code */
	int16		reserved16;		/* always zero */
	int32		reserved32;		/* always zero */
} Amount;

#define AMOUNT_MAX_UNITS	PG_INT64_MAX
#define AMOUNT_MIN_UNITS	(-PG_INT64_MAX)

#define DatumGetAmountP(X)		((Amount *) DatumGetPointer(X))
#define AmountPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_AMOUNT_P(n)	DatumGetAmountP(PG_GETARG_DATUM(n))
#define PG_RETURN_AMOUNT_P(x)	return AmountPGetDatum(x)

/* How a value that falls between two minor units is rounded. */
typedef enum AmountRounding
{
	AMOUNT_ROUND_HALF_AWAY_FROM_ZERO,
	AMOUNT_ROUND_HALF_EVEN
} AmountRounding;

/* amount_io.c */

/*
 * amount_make: a new amount (palloc'd in the current memory context) of
 * units minor units of the currency with the given numeric code.  Raises
 * 22003 when units is out of range.
 */
extern Amount *amount_make(int64 units, int16 currency);

/*
 * amount_currency: the currency of an amount.  Raises an internal error if
 * the stored code is unknown, which no input path lets happen.
 */
extern const BillingCurrency *amount_currency(const Amount *a);

/*
 * amount_lookup_currency: the currency whose alphabetic code is the text
 * value code; raises ZB102 when there is none.
 */
extern const BillingCurrency *amount_lookup_currency(text *code);

/*
 * amount_number_cstring: the amount's value with every decimal place of its
 * currency and no currency code, as in "-1234.50".
 */
extern char *amount_number_cstring(const Amount *a);

/*
 * amount_currency_mismatch: raises ZB101 for currencies with numeric codes
 * a and b, naming both and the verb of what was attempted ("add", "sum").
 */
extern void amount_currency_mismatch(int16 a, int16 b, const char *verb);

/*
 * amount_check_currency: raises ZB101, naming both currencies and the verb
 * of what was attempted ("add", "compare"), when a and b differ in currency.
 */
extern void amount_check_currency(const Amount *a, const Amount *b,
								  const char *verb);

/* amount_numeric.c */

/*
 * amount_rounding_from_datum: the rounding rule that a billing.rounding
 * enum value names.
 */
extern AmountRounding amount_rounding_from_datum(Datum rounding);

/*
 * amount_numeric_round_quotient: num / den rounded to an integer by the
 * given rule, computed exactly (den must not be zero).
 */
extern Numeric amount_numeric_round_quotient(Numeric num, Numeric den,
											 AmountRounding rounding);

/*
 * amount_numeric_to_units: an integer-valued numeric as a count of minor
 * units; raises 22003 (naming what) when it is out of the type's range.
 */
extern int64 amount_numeric_to_units(Numeric value, const char *what);

#endif							/* BILLING_AMOUNT_H */
