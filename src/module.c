/*
 * module.c
 *		The loadable module's entry point.
 *
 * _PG_init runs once per backend when billing.so is loaded.  Mechanisms that
 * keep per-backend state (caches, transaction callbacks) register it here,
 * once, so nothing is registered twice however often a function is called.
 */
#include "billing.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	billing_settings_init();
	workflow_init();
	billing_rating_init();
	billing_audit_init();
}
