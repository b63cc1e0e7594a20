/*
 * settings.c
 *		The settings that say who acts and why: billing.staff_id,
 *		billing.reason_code and billing.reason.
 *
 * Applications set them with SET LOCAL for the changes of a transaction,
 * and billing's own functions set them with set_config() for the changes
 * they make.  Defining them here lets the C triggers read them as
 * variables: looking a setting up by name, as GetConfigOption does, cost a
 * tenth of a one-row audit capture.  Their meaning is in doc/design.md.
 */
#include "billing.h"

#include "utils/guc.h"

static char *staff_id_setting = NULL;
static char *reason_code_setting = NULL;
static char *reason_setting = NULL;

/*
 * billing_settings_init: define the three settings.  Called once per
 * backend from _PG_init; a value set before billing.so was loaded is kept.
 */
void
billing_settings_init(void)
{
	DefineCustomStringVariable("billing.staff_id",
							   "The staff member the application acts for.",
							   "A billing.staff id of the firm whose data is changed; empty: the staff member mapped to the current role.",
							   &staff_id_setting, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("billing.reason_code",
							   "The reason code of the changes being made.",
							   "A code of billing.reason_code; recorded with each change and required by some moves.",
							   &reason_code_setting, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("billing.reason",
							   "Why the changes being made are made, in words.",
							   NULL,
							   &reason_setting, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

static const char *
value_or_null(const char *v)
{
	return (v == NULL || v[0] == '\0') ? NULL : v;
}

/* billing.staff_id, or NULL when it is unset or empty. */
const char *
setting_staff_id(void)
{
	return value_or_null(staff_id_setting);
}

/* billing.reason_code, or NULL when it is unset or empty. */
const char *
setting_reason_code(void)
{
	return value_or_null(reason_code_setting);
}

/* billing.reason, or NULL when it is unset or empty. */
const char *
setting_reason(void)
{
	return value_or_null(reason_setting);
}
