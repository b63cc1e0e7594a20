/*
 * amount_numeric.c
 *		billing.amount and numeric: multiplication and division by a
 *		numeric factor, conversion to and from numeric, and the rounding
 *		rules they use.
 *
 * Every result is computed exactly in numeric and rounded once, at the end,
 * to a whole minor unit, by an explicit rule:
 *
 *	half_away_from_zero (the default): a value exactly half-way between two
 *		minor units goes to the one farther from zero (2.5 -> 3, -2.5 -> -3);
 *	half_even: it goes to the even one (2.5 -> 2, 3.5 -> 4, -2.5 -> -2).
 *
 * Values that are not half-way go to the nearest minor unit under both.
 * Division is exact too: the quotient is never rounded to some number of
 * digits before the rule is applied, so 1/3 of a cent is never mistaken for
 * a half.  NaN and infinite factors, divisors and values are refused.
 */
#include "billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "amount.h"

/* Thin wrappers over the numeric functions of PostgreSQL. */
#define NUM(d)		DatumGetNumeric(d)
#define NUMD(n)		NumericGetDatum(n)

static inline Numeric
num_op(PGFunction fn, Numeric a, Numeric b)
{
	return NUM(DirectFunctionCall2(fn, NUMD(a), NUMD(b)));
}

static inline int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NUMD(a), NUMD(b)));
}

static inline int
num_sign(Numeric a)
{
	return num_cmp(a, int64_to_numeric(0));
}

static inline Numeric
num_abs(Numeric a)
{
	return NUM(DirectFunctionCall1(numeric_abs, NUMD(a)));
}

/* 10 to the power exponent (0 to 4), as a numeric. */
static Numeric
num_power_of_ten(int exponent)
{
	static const int64 powers[] = {1, 10, 100, 1000, 10000};

	return int64_to_numeric(powers[exponent]);
}

AmountRounding
amount_rounding_from_datum(Datum rounding)
{
	char	   *label;

	label = DatumGetCString(DirectFunctionCall1(enum_out, rounding));

	if (strcmp(label, "half_away_from_zero") == 0)
		return AMOUNT_ROUND_HALF_AWAY_FROM_ZERO;
	if (strcmp(label, "half_even") == 0)
		return AMOUNT_ROUND_HALF_EVEN;
	elog(ERROR, "unknown billing.rounding value \"%s\"", label);
	return AMOUNT_ROUND_HALF_AWAY_FROM_ZERO;	/* keep the compiler quiet */
}

Numeric
amount_numeric_round_quotient(Numeric num, Numeric den,
							  AmountRounding rounding)
{
	Numeric		quotient;
	Numeric		remainder;
	Numeric		twice_remainder;
	int			half;
	int			sign;

	/* div and mod on numeric are exact: no digits are rounded away. */
	quotient = num_op(numeric_div_trunc, num, den);
	remainder = num_op(numeric_mod, num, den);
	if (num_sign(remainder) == 0)
		return quotient;

	twice_remainder = num_op(numeric_add, num_abs(remainder),
							 num_abs(remainder));
	half = num_cmp(twice_remainder, num_abs(den));
	if (half < 0)
		return quotient;

	/* The exact quotient's sign: not zero, since the remainder is not. */
	sign = num_sign(num) * num_sign(den);
	if (half == 0 && rounding == AMOUNT_ROUND_HALF_EVEN)
	{
		Numeric		parity = num_op(numeric_mod, quotient,
									int64_to_numeric(2));

		if (num_sign(parity) == 0)
			return quotient;
	}
	return num_op(numeric_add, quotient, int64_to_numeric(sign));
}

int64
amount_numeric_to_units(Numeric value, const char *what)
{
	if (num_cmp(num_abs(value), int64_to_numeric(AMOUNT_MAX_UNITS)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("billing.amount out of range in %s", what),
				 errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign.")));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NUMD(value)));
}

/* Refuse NaN and infinities, naming the role the number plays. */
static void
check_finite(Numeric value, const char *role)
{
	if (numeric_is_nan(value) || numeric_is_inf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", role)));
}

static AmountRounding
optional_rounding(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno)
		return amount_rounding_from_datum(PG_GETARG_DATUM(argno));
	return AMOUNT_ROUND_HALF_AWAY_FROM_ZERO;
}

PG_FUNCTION_INFO_V1(amount_mul_numeric);

/*
 * amount_mul_numeric(amount, factor [, rounding]) returns billing.amount:
 * the amount times the factor, rounded to a whole minor unit by the rule
 * (half away from zero when none is given).  Operator * with either order
 * of operands goes through numeric_mul_amount below.
 */
Datum
amount_mul_numeric(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Numeric		factor = PG_GETARG_NUMERIC(1);
	AmountRounding rounding = optional_rounding(fcinfo, 2);
	Numeric		product;

	check_finite(factor, "a factor multiplying a billing.amount");
	product = num_op(numeric_mul, int64_to_numeric(a->units), factor);
	product = amount_numeric_round_quotient(product, int64_to_numeric(1),
											rounding);
	PG_RETURN_AMOUNT_P(amount_make(amount_numeric_to_units(product,
														   "multiplication"),
								   a->currency));
}

PG_FUNCTION_INFO_V1(numeric_mul_amount);

/*
 * numeric_mul_amount(factor, amount) returns billing.amount: operator *
 * with the factor first; rounds half away from zero.
 */
Datum
numeric_mul_amount(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(amount_mul_numeric, PG_GETARG_DATUM(1),
							   PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(amount_div_numeric);

/*
 * amount_div_numeric(amount, divisor [, rounding]) returns billing.amount:
 * the amount divided by the divisor, computed exactly and rounded to a
 * whole minor unit by the rule (half away from zero when none is given).
 * Raises 22012 for a zero divisor.
 */
Datum
amount_div_numeric(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Numeric		divisor = PG_GETARG_NUMERIC(1);
	AmountRounding rounding = optional_rounding(fcinfo, 2);
	Numeric		quotient;

	check_finite(divisor, "a divisor of a billing.amount");
	if (num_sign(divisor) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division of a billing.amount by zero")));
	quotient = amount_numeric_round_quotient(int64_to_numeric(a->units),
											 divisor, rounding);
	PG_RETURN_AMOUNT_P(amount_make(amount_numeric_to_units(quotient,
														   "division"),
								   a->currency));
}

PG_FUNCTION_INFO_V1(amount_from_numeric);

/*
 * billing.amount(value numeric, currency text, rounding) returns
 * billing.amount: the value in the currency's major unit (dollars for USD),
 * rounded to a whole minor unit by the rule.  Raises ZB102 for an unknown
 * currency and 22003 when out of range.
 */
Datum
amount_from_numeric(PG_FUNCTION_ARGS)
{
	Numeric		value = PG_GETARG_NUMERIC(0);
	const BillingCurrency *currency;
	AmountRounding rounding = optional_rounding(fcinfo, 2);
	Numeric		units;

	currency = amount_lookup_currency(PG_GETARG_TEXT_PP(1));
	check_finite(value, "a value converted to billing.amount");
	units = num_op(numeric_mul, value, num_power_of_ten(currency->minor_unit));
	units = amount_numeric_round_quotient(units, int64_to_numeric(1), rounding);
	PG_RETURN_AMOUNT_P(amount_make(amount_numeric_to_units(units,
														   "conversion from numeric"),
								   currency->numeric_code));
}

PG_FUNCTION_INFO_V1(amount_value);

/*
 * billing.value(billing.amount) returns numeric: the amount in its
 * currency's major unit, with as many decimal places as the currency has
 * ("1234.50 USD" gives 1234.50).  Also the explicit cast to numeric.
 */
Datum
amount_value(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	return DirectFunctionCall3(numeric_in,
							   CStringGetDatum(amount_number_cstring(a)),
							   ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}
