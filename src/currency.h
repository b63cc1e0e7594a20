/*
 * currency.h
 *		The ISO 4217 currencies that billing.amount knows.
 *
 * The table in currency.c is the single source of truth: the amount type
 * reads its exponents from it, and the install script fills the reference
 * table billing.currency from it through billing.iso_currencies().
 */
#ifndef BILLING_CURRENCY_H
#define BILLING_CURRENCY_H

#include "postgres.h"

/* One ISO 4217 currency. */
typedef struct BillingCurrency
{
	const char *code;			/* alphabetic code: three capital letters */
	int16		numeric_code;	/* ISO 4217 numeric code, 1 to 999 */
	int16		minor_unit;		/* decimal places of the minor unit, 0 to 4 */
	const char *name;			/* the name ISO 4217 gives it */
} BillingCurrency;

/*
 * currency_by_code: the currency whose alphabetic code is the len bytes at
 * code, or NULL when there is none.  The code need not be NUL-terminated.
 */
extern const BillingCurrency *currency_by_code(const char *code, int len);

/*
 * currency_by_numeric: the currency with the given ISO 4217 numeric code,
 * or NULL when there is none.
 */
extern const BillingCurrency *currency_by_numeric(int32 numeric_code);

#endif							/* BILLING_CURRENCY_H */
