/*
 * billing.h
 *		Declarations shared by the C files of the billing extension.
 *
 * Each mechanism keeps its own file in src/; this header only carries what
 * one file must see of another, so a reader can find a rule in one guess.
 */
#ifndef BILLING_H
#define BILLING_H

#include "postgres.h"

#include "errcodes.h"

/* Called once from _PG_init (module.c) by each mechanism that needs it. */
extern void workflow_init(void);	/* workflow_cache.c */
extern void billing_rating_init(void);	/* rating.c */
extern void billing_audit_init(void);	/* audit_chain.c */
extern void billing_settings_init(void);	/* settings.c */
extern const char *setting_staff_id(void);
extern const char *setting_reason_code(void);
extern const char *setting_reason(void);

#endif							/* BILLING_H */
