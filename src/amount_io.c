/*
 * amount_io.c
 *		billing.amount: text and binary input and output, and the helpers
 *		that take an amount apart or build one from its parts.
 *
 * The text form is "1234.56 USD": an optional minus, digits, a decimal point
 * followed by at most as many digits as the currency has decimal places (or
 * none, with no point), one space, and the ISO 4217 alphabetic code in
 * capitals.  Output always writes every decimal place.  Nothing else is
 * accepted: no plus sign, no thousands separators, no surrounding spaces,
 * no lower-case codes, no digits the currency cannot hold (an input that
 * would need rounding is an error, not a guess).
 *
 * The binary form is 10 bytes in network order: the count of minor units
 * (int64) and the ISO 4217 numeric code (int16).  Binary input comes from
 * clients and is checked as strictly as text.
 */
#include "billing.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "amount.h"

/* 10 to the power of a currency's minor unit, which is at most 4. */
static const int64 amount_scale[] = {1, 10, 100, 1000, 10000};

/*
 * Input errors are soft where PostgreSQL supports it (16 and later), so
 * that pg_input_is_valid() and friends can test a literal without an error.
 */
#if PG_VERSION_NUM >= 160000
#define amount_input_error(escontext, ...) \
	ereturn(escontext, false, __VA_ARGS__)
#else
#define amount_input_error(escontext, ...) \
	do { \
		(void) (escontext); \
		ereport(ERROR, __VA_ARGS__); \
	} while (0)
#endif

#define AMOUNT_SYNTAX_DETAIL \
	"An amount is written as digits with an optional leading minus and decimal point, one space, and an ISO 4217 currency code in capitals, as in \"1234.56 USD\"."

/*
 * amount_parse: read the text form str into *result.  Returns false after a
 * soft error (PostgreSQL 16 and later); otherwise raises the error.
 */
static bool
amount_parse(const char *str, Amount *result, Node *escontext)
{
	const char *s = str;
	const char *int_start;
	const char *frac_start = NULL;
	int			int_len;
	int			frac_len = 0;
	bool		negative = false;
	const BillingCurrency *currency;
	int128		value = 0;
	int			i;

	if (*s == '-')
	{
		negative = true;
		s++;
	}
	int_start = s;
	while (*s >= '0' && *s <= '9')
		s++;
	int_len = s - int_start;
	if (int_len == 0)
		goto syntax_error;
	if (*s == '.')
	{
		s++;
		frac_start = s;
		while (*s >= '0' && *s <= '9')
			s++;
		frac_len = s - frac_start;
		if (frac_len == 0)
			goto syntax_error;
	}
	if (*s != ' ')
		goto syntax_error;
	s++;
	for (i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			goto syntax_error;
	if (s[3] != '\0')
		goto syntax_error;

	currency = currency_by_code(s, 3);
	if (currency == NULL)
		amount_input_error(escontext,
						   errcode(ERRCODE_BILLING_UNKNOWN_CURRENCY),
						   errmsg("unknown currency \"%s\" in input for type billing.amount: \"%s\"",
								  s, str),
						   errhint("Use an ISO 4217 alphabetic code listed in billing.currency."));
	if (frac_len > currency->minor_unit)
		amount_input_error(escontext,
						   errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						   errmsg("invalid input syntax for type billing.amount: \"%s\"",
								  str),
						   errdetail("%s has %d decimal places, so an amount in it cannot be written with %d.",
									 currency->code, currency->minor_unit,
									 frac_len),
						   errhint("Round the value first, for example with billing.amount(numeric, text)."));

	/* Accumulate in 128 bits, stopping as soon as the range is passed. */
	for (i = 0; i < int_len; i++)
	{
		value = value * 10 + (int_start[i] - '0');
		if (value > AMOUNT_MAX_UNITS)
			goto range_error;
	}
	value *= amount_scale[currency->minor_unit];
	for (i = 0; i < frac_len; i++)
		value += (int128) (frac_start[i] - '0') *
			amount_scale[currency->minor_unit - i - 1];
	if (value > AMOUNT_MAX_UNITS)
		goto range_error;

	memset(result, 0, sizeof(Amount));
	result->units = negative ? -(int64) value : (int64) value;
	result->currency = currency->numeric_code;
	return true;

syntax_error:
	amount_input_error(escontext,
					   errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					   errmsg("invalid input syntax for type billing.amount: \"%s\"",
							  str),
					   errdetail(AMOUNT_SYNTAX_DETAIL));
	return false;

range_error:
	amount_input_error(escontext,
					   errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					   errmsg("value \"%s\" is out of range for type billing.amount",
							  str),
					   errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign."));
	return false;
}

PG_FUNCTION_INFO_V1(amount_in);

/*
 * amount_in(cstring) returns billing.amount: the type's text input.
 */
Datum
amount_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Amount	   *result = palloc(sizeof(Amount));

#if PG_VERSION_NUM >= 160000
	if (!amount_parse(str, result, fcinfo->context))
		PG_RETURN_NULL();
#else
	amount_parse(str, result, NULL);
#endif
	PG_RETURN_AMOUNT_P(result);
}

char *
amount_number_cstring(const Amount *a)
{
	const BillingCurrency *currency = amount_currency(a);
	uint64		magnitude;
	int64		scale = amount_scale[currency->minor_unit];
	const char *sign = a->units < 0 ? "-" : "";

	magnitude = a->units < 0 ? (uint64) (-a->units) : (uint64) a->units;
	if (currency->minor_unit == 0)
		return psprintf("%s%llu", sign, (unsigned long long) magnitude);
	return psprintf("%s%llu.%0*llu", sign,
					(unsigned long long) (magnitude / scale),
					(int) currency->minor_unit,
					(unsigned long long) (magnitude % scale));
}

PG_FUNCTION_INFO_V1(amount_out);

/*
 * amount_out(billing.amount) returns cstring: the canonical text form.
 */
Datum
amount_out(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_CSTRING(psprintf("%s %s", amount_number_cstring(a),
							   amount_currency(a)->code));
}

PG_FUNCTION_INFO_V1(amount_recv);

/*
 * amount_recv(internal) returns billing.amount: the binary input.  The
 * message must hold exactly 10 bytes, a count other than INT64_MIN and a
 * known currency.
 */
Datum
amount_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		units;
	int32		code;

	if (buf->len - buf->cursor != 10)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type billing.amount"),
				 errdetail("A binary billing.amount is 10 bytes, an 8-byte count of minor units and a 2-byte ISO 4217 numeric code, but %d bytes were given.",
						   buf->len - buf->cursor)));
	units = pq_getmsgint64(buf);
	code = (int16) pq_getmsgint(buf, 2);
	if (units < AMOUNT_MIN_UNITS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("binary value is out of range for type billing.amount"),
				 errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign.")));
	if (currency_by_numeric(code) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_UNKNOWN_CURRENCY),
				 errmsg("unknown currency numeric code %d in binary input for type billing.amount",
						code),
				 errhint("Send an ISO 4217 numeric code listed in billing.currency.")));
	PG_RETURN_AMOUNT_P(amount_make(units, (int16) code));
}

PG_FUNCTION_INFO_V1(amount_send);

/*
 * amount_send(billing.amount) returns bytea: the binary output.
 */
Datum
amount_send(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, a->units);
	pq_sendint16(&buf, a->currency);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Amount *
amount_make(int64 units, int16 currency)
{
	Amount	   *result;

	if (units < AMOUNT_MIN_UNITS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("billing.amount out of range"),
				 errdetail("An amount holds at most 9223372036854775807 minor units of its currency, either sign.")));
	result = palloc0(sizeof(Amount));
	result->units = units;
	result->currency = currency;
	return result;
}

const BillingCurrency *
amount_currency(const Amount *a)
{
	const BillingCurrency *currency = currency_by_numeric(a->currency);

	if (currency == NULL)
		elog(ERROR, "billing.amount holds unknown currency numeric code %d",
			 (int) a->currency);
	return currency;
}

const BillingCurrency *
amount_lookup_currency(text *code)
{
	const BillingCurrency *currency;

	currency = currency_by_code(VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code));
	if (currency == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_UNKNOWN_CURRENCY),
				 errmsg("unknown currency \"%s\" for type billing.amount",
						text_to_cstring(code)),
				 errhint("Use an ISO 4217 alphabetic code listed in billing.currency.")));
	return currency;
}

void
amount_currency_mismatch(int16 a, int16 b, const char *verb)
{
	const BillingCurrency *ca = currency_by_numeric(a);
	const BillingCurrency *cb = currency_by_numeric(b);

	ereport(ERROR,
			(errcode(ERRCODE_BILLING_CURRENCY_MISMATCH),
			 errmsg("cannot %s amounts in different currencies %s and %s",
					verb, ca ? ca->code : "???", cb ? cb->code : "???"),
			 errhint("Convert one of them explicitly, or group by currency first.")));
}

void
amount_check_currency(const Amount *a, const Amount *b, const char *verb)
{
	if (a->currency != b->currency)
		amount_currency_mismatch(a->currency, b->currency, verb);
}

PG_FUNCTION_INFO_V1(amount_currency_code);

/*
 * billing.currency_code(billing.amount) returns char(3): the ISO 4217
 * alphabetic code of the amount's currency.
 */
Datum
amount_currency_code(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	/* A text datum of exactly three characters is a valid char(3). */
	PG_RETURN_TEXT_P(cstring_to_text(amount_currency(a)->code));
}

PG_FUNCTION_INFO_V1(amount_minor_units);

/*
 * billing.minor_units(billing.amount) returns bigint: the count of minor
 * units (cents for USD).
 */
Datum
amount_minor_units(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_AMOUNT_P(0)->units);
}

PG_FUNCTION_INFO_V1(amount_of_minor_units);

/*
 * billing.amount_of_minor_units(bigint, text) returns billing.amount: the
 * amount of that many minor units of the named currency.  Raises ZB102 for
 * an unknown currency and 22003 for -9223372036854775808.
 */
Datum
amount_of_minor_units(PG_FUNCTION_ARGS)
{
	int64		units = PG_GETARG_INT64(0);
	const BillingCurrency *currency;

	currency = amount_lookup_currency(PG_GETARG_TEXT_PP(1));
	PG_RETURN_AMOUNT_P(amount_make(units, currency->numeric_code));
}
