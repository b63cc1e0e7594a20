/*
 * errcodes.h
 *		The SQLSTATEs that billing raises, in one place.
 *
 * Class ZB is ours: SQLSTATE classes that start with a letter from I to Z
 * are left to implementations, so no PostgreSQL release will reuse them.
 * The subclass digit groups them by the part of the product that raises
 * them; doc/errors.md is the reference a user reads, and must list every
 * code defined here.
 *
 * Where PostgreSQL already has a fitting code (22003 for an overflow,
 * 22P02 for a malformed literal, 23503 for a missing parent) we use it and
 * do not define our own.
 */
#ifndef BILLING_ERRCODES_H
#define BILLING_ERRCODES_H

#include "utils/elog.h"

/* ZB1xx: money */
#define ERRCODE_BILLING_CURRENCY_MISMATCH MAKE_SQLSTATE('Z','B','1','0','1')
#define ERRCODE_BILLING_UNKNOWN_CURRENCY MAKE_SQLSTATE('Z','B','1','0','2')
#define ERRCODE_BILLING_INVALID_ALLOCATION MAKE_SQLSTATE('Z','B','1','0','3')

/* ZB2xx: workflow and frozen records */
#define ERRCODE_BILLING_TRANSITION_NOT_ALLOWED \
	MAKE_SQLSTATE('Z','B','2','0','1')
#define ERRCODE_BILLING_REASON_REQUIRED MAKE_SQLSTATE('Z','B','2','0','2')
#define ERRCODE_BILLING_ACTOR_NOT_PERMITTED MAKE_SQLSTATE('Z','B','2','0','3')
#define ERRCODE_BILLING_GUARD_FAILED MAKE_SQLSTATE('Z','B','2','0','4')
#define ERRCODE_BILLING_RECORD_FROZEN MAKE_SQLSTATE('Z','B','2','0','5')
#define ERRCODE_BILLING_SEGREGATION_OF_DUTIES MAKE_SQLSTATE('Z','B','2','0','6')
#define ERRCODE_BILLING_UNKNOWN_STATE MAKE_SQLSTATE('Z','B','2','0','7')

/* ZB3xx: audit trail */
#define ERRCODE_BILLING_AUDIT_APPEND_ONLY MAKE_SQLSTATE('Z','B','3','0','1')
#define ERRCODE_BILLING_AUDIT_NO_FIRM MAKE_SQLSTATE('Z','B','3','0','2')
/* DDL that would switch the trail off, by a role that is not a superuser;
 * raised in SQL by billing.audit_ddl_guard, and here by audit_new_table.c */
#define ERRCODE_BILLING_AUDIT_LOG_FIXED MAKE_SQLSTATE('Z','B','3','0','3')
/* TRUNCATE of a table under audit, by a role that is not a superuser */
#define ERRCODE_BILLING_AUDIT_TRUNCATE MAKE_SQLSTATE('Z','B','3','0','4')

/* ZB4xx: terms, rates and billing models */
#define ERRCODE_BILLING_NO_GOVERNING_VERSION MAKE_SQLSTATE('Z','B','4','0','1')
#define ERRCODE_BILLING_NO_RATE MAKE_SQLSTATE('Z','B','4','0','2')
#define ERRCODE_BILLING_RETAINER_OVERDRAWN MAKE_SQLSTATE('Z','B','4','0','3')
#define ERRCODE_BILLING_BUDGET_EXCEEDED MAKE_SQLSTATE('Z','B','4','0','4')
#define ERRCODE_BILLING_PRICING_MISMATCH MAKE_SQLSTATE('Z','B','4','0','5')
#define ERRCODE_BILLING_CHANGE_ORDER_CONFLICT MAKE_SQLSTATE('Z','B','4','0','6')

/* ZB5xx: invoices, payments and allocation */
#define ERRCODE_BILLING_ALREADY_BILLED MAKE_SQLSTATE('Z','B','5','0','1')
#define ERRCODE_BILLING_OVERPAYMENT MAKE_SQLSTATE('Z','B','5','0','2')

/* ZB9xx: tenancy and configuration */
#define ERRCODE_BILLING_FIRM_MISMATCH MAKE_SQLSTATE('Z','B','9','0','1')
#define ERRCODE_BILLING_UNKNOWN_ACTOR MAKE_SQLSTATE('Z','B','9','0','2')

#endif							/* BILLING_ERRCODES_H */
