/*
 * workflow.h
 *		The workflow catalog as the C triggers see it, and the per-backend
 *		cache that holds it.
 *
 * The catalog (billing.workflow, billing.workflow_state,
 * billing.workflow_transition) is read once per backend into a
 * WorkflowDef per workflow; each trigger attached to a table gets a binding,
 * keyed by the trigger's OID, that ties the table's columns to a WorkflowDef.
 * Both live in one memory context that is dropped as a whole when the
 * catalog, a bound table, or a table the bindings read changes
 * (workflow_cache.c).  workflow.c enforces transitions, frozen.c refuses
 * changes to frozen records; both find their bindings here.
 */
#ifndef BILLING_WORKFLOW_H
#define BILLING_WORKFLOW_H

#include "postgres.h"

#include "access/attnum.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"

/* One allowed move from one state to another, as the catalog states it. */
typedef struct WorkflowTransition
{
	int			from;			/* index into WorkflowDef.states */
	int			to;				/* index into WorkflowDef.states */
	int			min_level;		/* rank of billing.staff_level, or -1 */
	char	   *min_level_name; /* label of min_level, or NULL */
	char	   *role_name;		/* database role required, or NULL */
	Oid			role;			/* its OID, or InvalidOid if none */
	bool		billing_admin;	/* the actor must be a billing admin */
	bool		reason_required;	/* a reason code must be given */
	Oid			guard;			/* guard function, or InvalidOid */
	char	   *guard_rule;		/* what the guard checks, in words */
	char	   *segregation_column; /* who prepared the record, or NULL */
} WorkflowTransition;

/* A state of a workflow, with its outgoing transitions. */
typedef struct WorkflowState
{
	char	   *name;
	bool		initial;		/* a new record may start here */
	bool		final;			/* no transition leaves it */
	bool		freezes;		/* a record here is frozen */
	int			first;			/* first outgoing transition */
	int			count;			/* number of outgoing transitions */
} WorkflowState;

/* A workflow: its states and transitions, transitions grouped by origin. */
typedef struct WorkflowDef
{
	char		name[NAMEDATALEN];	/* hash key */
	int			nstates;
	WorkflowState *states;
	int			ntransitions;
	WorkflowTransition *transitions;
} WorkflowDef;

/* A slot of the binding cache, keyed by the OID of a trigger. */
typedef struct WorkflowCacheSlot
{
	Oid			tgoid;			/* hash key */
	void	   *binding;		/* built by the trigger's own file */
} WorkflowCacheSlot;

/* Columns of billing.state_history that the workflow trigger fills. */
typedef enum HistoryColumn
{
	HISTORY_FIRM_ID,
	HISTORY_STATE_HISTORY_ID,
	HISTORY_ENTITY,
	HISTORY_ENTITY_ID,
	HISTORY_WORKFLOW,
	HISTORY_FROM_STATE,
	HISTORY_TO_STATE,
	HISTORY_CHANGED_AT,
	HISTORY_STAFF_ID,
	HISTORY_ROLE_NAME,
	HISTORY_REASON_CODE,
	HISTORY_REASON,
	HISTORY_NCOLUMNS
} HistoryColumn;

/* What the extension's own tables look like, found once per cache. */
typedef struct WorkflowGlobals
{
	Oid			namespace;		/* schema billing */
	Oid			catalog_owner;	/* owner of the workflow catalog tables */
	Oid			staff_relid;
	Oid			staff_pkey;		/* index on (firm_id, staff_id) */
	Oid			staff_role_key; /* index on (firm_id, role_name) */
	AttrNumber	staff_firm_id;
	AttrNumber	staff_staff_id;
	AttrNumber	staff_level;
	AttrNumber	staff_billing_admin;
	AttrNumber	staff_role_name;
	AttrNumber	staff_active;
	int			nlevels;
	Oid		   *level_oids;		/* billing.staff_level's OIDs, by rank */
	char	  **level_names;
	Oid			history_relid;
	Oid			history_seq;
	AttrNumber	history_att[HISTORY_NCOLUMNS];
	bool		history_plain;	/* only plain column indexes, all below */
	int			history_nindexes;
	Oid		   *history_indexes;
	struct IndexInfo **history_index_info;
	Oid			workflow_trigger_fn;	/* billing.workflow_trigger() */
	Oid			frozen_row_fn;	/* billing.frozen_row() */
	Oid			frozen_child_fn;	/* billing.frozen_child() */
} WorkflowGlobals;

/* workflow_cache.c */
extern bool workflow_migration;
extern MemoryContext workflow_cache_context(void);
extern WorkflowGlobals *workflow_globals(void);
extern uint64 workflow_cache_generation(void);
extern WorkflowDef *workflow_def(const char *name);
extern WorkflowCacheSlot *workflow_cache_slot(Oid tgoid, bool *found);
extern void workflow_cache_watch(Oid relid);
extern int	workflow_state_index(WorkflowDef *def, const char *state);
extern AttrNumber workflow_column(Relation rel, const char *column,
								  Oid type, const char *what);
extern char *workflow_entity_name(Relation rel);

/* workflow.c */
extern char *workflow_allowed_next(WorkflowDef *def, int from);

#endif							/* BILLING_WORKFLOW_H */
