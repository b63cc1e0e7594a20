/*
 * audit_ddl.c
 *		Event triggers, in C, for DDL that touches the audit trail and that
 *		the PL/pgSQL guard (billing.audit_ddl_guard) cannot see or would see
 *		at too high a cost.
 *
 * billing.audit_new_table, at the end of CREATE TABLE, CREATE SCHEMA (whose
 * elements may create tables) and ALTER TABLE:
 *
 * PostgreSQL passes a table's row triggers on to each partition made or
 * attached later, so a new partition of an audited table records its
 * changes at once; statement triggers it does not pass on, so the new
 * partition would lack billing_audit_truncate, and its owner could
 * TRUNCATE it without a record.  This event trigger adds the guard to every
 * such partition.  A table created with INHERITS (billing.audit_log)
 * would show its rows in a plain SELECT of the log, as if they were
 * records; the event trigger refuses it to roles that are not superusers,
 * as audit_ddl_guard refuses ALTER TABLE ... INHERIT.  And it refuses them
 * ALTER TABLE ... DISABLE TRIGGER (or ENABLE REPLICA TRIGGER) when that
 * leaves an audit trigger switched off; it looks only at statements that
 * switch triggers, so a table whose audit trigger a superuser switched off
 * stays its owner's to alter otherwise.  It looks at the parse tree first,
 * so a statement that makes or attaches no partition and inherits from
 * nothing (an application's temporary table, most ALTER TABLEs) costs one
 * function call and nothing more.
 *
 * billing.audit_drop_guard, at the start of DROP TRIGGER:
 *
 * Once a trigger is dropped, sql_drop no longer shows which function it
 * ran, so audit_ddl_guard can only know the audit triggers it drops by
 * their names.  Before the drop, this one looks each trigger up and
 * refuses, for roles that are not superusers, dropping any trigger that
 * runs the audit trail's functions, whatever its name.
 */
#include "audit.h"
#include "billing.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(billing_audit_new_table);
PG_FUNCTION_INFO_V1(billing_audit_drop_guard);

/*
 * A function of schema billing without arguments, by name, without the
 * USAGE check a lookup by qualified name makes: the role running the DDL
 * need not have it.
 */
static Oid
billing_function(Oid nsp, const char *name)
{
	oidvector  *noargs = buildoidvector(NULL, 0);

	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name), PointerGetDatum(noargs),
						   ObjectIdGetDatum(nsp));
}

/* Whether the relation has a trigger that runs the function. */
static bool
has_trigger(Relation rel, Oid fn)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	for (i = 0; td != NULL && i < td->numtriggers; i++)
		if (td->triggers[i].tgfoid == fn)
			return true;
	return false;
}

/*
 * Add billing_audit_truncate to a table that carries the audit trigger and
 * lacks it.  The trigger is made as the role running the DDL, who owns the
 * table (PostgreSQL requires that to make or attach a partition, or to
 * create a trigger).
 */
static void
guard_table(Oid relid, Oid audit_fn, Oid guard_fn)
{
	Relation	rel = table_open(relid, AccessShareLock);
	bool		needed = (rel->rd_rel->relkind == RELKIND_RELATION ||
						  rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE) &&
		has_trigger(rel, audit_fn) && !has_trigger(rel, guard_fn);
	CreateTrigStmt *stmt;

	if (!needed)
	{
		table_close(rel, AccessShareLock);
		return;
	}
	stmt = makeNode(CreateTrigStmt);
	stmt->trigname = "billing_audit_truncate";
	stmt->relation = makeRangeVar(get_namespace_name(RelationGetNamespace(rel)),
								  pstrdup(RelationGetRelationName(rel)), -1);
	stmt->funcname = list_make2(makeString("billing"),
								makeString("audit_truncate_guard"));
	stmt->row = false;
	stmt->timing = TRIGGER_TYPE_BEFORE;
	stmt->events = TRIGGER_TYPE_TRUNCATE;
	table_close(rel, AccessShareLock);
	(void) CreateTrigger(stmt, "", relid, InvalidOid, InvalidOid, InvalidOid,
						 guard_fn, InvalidOid, NULL, false, false);
	CommandCounterIncrement();
}

/*
 * The tables a statement creates: a CREATE TABLE, or the CREATE TABLEs of a
 * CREATE SCHEMA, each named in the schema it was created in.
 */
static List *
created_tables(Node *tree)
{
	CreateSchemaStmt *schema;
	const char *name;
	List	   *tables = NIL;
	ListCell   *lc;

	if (IsA(tree, CreateStmt))
		return list_make1(tree);
	if (!IsA(tree, CreateSchemaStmt))
		return NIL;
	schema = (CreateSchemaStmt *) tree;
	name = schema->schemaname ? schema->schemaname :
		get_rolespec_name(schema->authrole);
	foreach(lc, schema->schemaElts)
	{
		CreateStmt *cs;

		if (!IsA(lfirst(lc), CreateStmt))
			continue;
		cs = copyObject((CreateStmt *) lfirst(lc));
		if (cs->relation->schemaname == NULL)
			cs->relation->schemaname = pstrdup(name);
		tables = lappend(tables, cs);
	}
	return tables;
}

/* Whether any of the created tables is a partition or inherits. */
static bool
inherits_any(List *created)
{
	ListCell   *lc;

	foreach(lc, created)
		if (lfirst_node(CreateStmt, lc)->inhRelations != NIL ||
			lfirst_node(CreateStmt, lc)->partbound != NULL)
			return true;
	return false;
}

/*
 * A table a statement names, resolved as the statement did: inside CREATE
 * SCHEMA, the new schema came first in the search path.
 */
static Oid
named_table(RangeVar *rv, const char *first_schema)
{
	if (rv->schemaname == NULL && first_schema != NULL)
	{
		Oid			nsp = get_namespace_oid(first_schema, true);
		Oid			relid = OidIsValid(nsp) ?
			get_relname_relid(rv->relname, nsp) : InvalidOid;

		if (OidIsValid(relid))
			return relid;
	}
	return RangeVarGetRelid(rv, NoLock, true);
}

/*
 * The tables that may now carry the audit trigger without its truncate
 * guard: the partitions a statement makes or attaches (CREATE TABLE ...
 * PARTITION OF, alone or in a CREATE SCHEMA, or ALTER TABLE ... ATTACH
 * PARTITION).  Not the table of a CREATE TRIGGER that attaches the audit
 * trigger by hand: pg_dump restores a table's billing_audit trigger before
 * its billing_audit_truncate, which would then exist already and fail the
 * restore.
 */
static List *
tables_to_guard(Node *tree, List *created)
{
	List	   *parts = NIL;
	ListCell   *lc;

	foreach(lc, created)
	{
		CreateStmt *cs = lfirst_node(CreateStmt, lc);

		/* where CREATE TABLE placed it, a temporary schema included */
		if (cs->partbound != NULL)
			parts = lappend_oid(parts,
								get_relname_relid(cs->relation->relname,
												  RangeVarGetCreationNamespace(cs->relation)));
	}
	if (IsA(tree, AlterTableStmt))
	{
		foreach(lc, ((AlterTableStmt *) tree)->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			/* resolved as ATTACH PARTITION did, on the same search_path */
			if (cmd->subtype == AT_AttachPartition)
				parts = lappend_oid(parts,
									RangeVarGetRelid(((PartitionCmd *) cmd->def)->name,
													 NoLock, true));
		}
	}
	return parts;
}

/*
 * Refuse, for a role that is not a superuser, a created table that names
 * billing.audit_log among the tables it inherits from.  first_schema is
 * the schema a CREATE SCHEMA made, searched first by its elements.
 */
static void
refuse_log_heir(CreateStmt *cs, Oid nsp, const char *first_schema)
{
	ListCell   *lc;
	Oid			log;

	if (cs->inhRelations == NIL || cs->partbound != NULL || superuser())
		return;
	log = get_relname_relid("audit_log", nsp);
	foreach(lc, cs->inhRelations)
	{
		if (named_table(lfirst_node(RangeVar, lc), first_schema) == log)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_AUDIT_LOG_FIXED),
					 errmsg("CREATE TABLE %s INHERITS (billing.audit_log) is not allowed: what keeps the audit trail whole can be changed only by a superuser",
							quote_identifier(cs->relation->relname)),
					 errdetail("Role %s is not a superuser. A table that inherits from the audit log would show its rows as records of the log.",
							   GetUserNameFromId(GetUserId(), false)),
					 errhint("Create the table without INHERITS (billing.audit_log).")));
	}
}

/* ZB303 for what a role that is not a superuser does to an audit trigger. */
static void
refuse_trigger_change(const char *what, Relation rel, Trigger *t, Oid audit_fn,
					  const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_BILLING_AUDIT_LOG_FIXED),
			 errmsg("%s the audit trigger %s of %s is not allowed: what keeps the audit trail whole can be changed only by a superuser",
					what, quote_identifier(t->tgname),
					quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
											   RelationGetRelationName(rel))),
			 errdetail("Role %s is not a superuser. The trigger runs the audit trail's function %s.",
					   GetUserNameFromId(GetUserId(), false),
					   t->tgfoid == audit_fn ? "billing.audit_trigger" :
					   "billing.audit_truncate_guard"),
			 errhint("%s", hint)));
}

/*
 * Refuse, for a role that is not a superuser, an ALTER TABLE that leaves an
 * audit trigger of the table, or of a partition below it, not firing in a
 * normal session: DISABLE TRIGGER (by name, ALL or USER) or ENABLE REPLICA
 * TRIGGER.  Only those subcommands are looked at, so a table whose audit
 * a superuser switched off stays its owner's to alter otherwise.
 */
static void
refuse_switch_off(Node *tree, Oid audit_fn, Oid guard_fn)
{
	AlterTableStmt *at;
	bool		switches = false;
	ListCell   *lc;
	List	   *rels;
	Oid			relid;

	if (!IsA(tree, AlterTableStmt) || superuser())
		return;
	at = (AlterTableStmt *) tree;
	foreach(lc, at->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_DisableTrig || cmd->subtype == AT_DisableTrigAll ||
			cmd->subtype == AT_DisableTrigUser ||
			cmd->subtype == AT_EnableReplicaTrig)
			switches = true;
	}
	if (!switches)
		return;
	/* resolved as ALTER TABLE did, on the same search_path */
	relid = RangeVarGetRelid(at->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	/* the triggers as this statement left them */
	CommandCounterIncrement();
	rels = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
		TriggerDesc *td = rel->trigdesc;
		int			i;

		for (i = 0; td != NULL && i < td->numtriggers; i++)
		{
			Trigger    *t = &td->triggers[i];

			if ((t->tgfoid != audit_fn && t->tgfoid != guard_fn) ||
				t->tgenabled == TRIGGER_FIRES_ON_ORIGIN ||
				t->tgenabled == TRIGGER_FIRES_ALWAYS)
				continue;
			refuse_trigger_change("switching off", rel, t, audit_fn,
								  "Ask a superuser. Switching other triggers, and the audit trigger back on, stays allowed.");
		}
		table_close(rel, AccessShareLock);
	}
}

/*
 * billing_audit_new_table: event trigger billing.audit_new_table().
 *
 * Contract: fired at ddl_command_end for CREATE TABLE, CREATE SCHEMA and
 * ALTER TABLE (see src/sql/80-audit.sql).  Raises ZB303
 * when a role that is not a superuser created a table inheriting from
 * billing.audit_log, or switched off an audit trigger with ALTER TABLE.
 * When the statement made or attached a partition, adds
 * billing_audit_truncate to that table and to each partition below it
 * that carries the audit trigger and lacks the guard.  Does nothing for
 * every other statement, and when the extension's schema or functions are
 * missing.
 */
Datum
billing_audit_new_table(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Oid			nsp;
	Oid			audit_fn;
	Oid			guard_fn;
	List	   *created;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function billing.audit_new_table was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;
	created = created_tables(trigdata->parsetree);
	if (!IsA(trigdata->parsetree, AlterTableStmt) && !inherits_any(created))
		PG_RETURN_VOID();
	nsp = get_namespace_oid("billing", true);
	if (!OidIsValid(nsp))
		PG_RETURN_VOID();
	foreach(lc, created)
		refuse_log_heir(lfirst_node(CreateStmt, lc), nsp,
						IsA(trigdata->parsetree, CreateSchemaStmt) ?
						lfirst_node(CreateStmt, lc)->relation->schemaname : NULL);
	audit_fn = billing_function(nsp, "audit_trigger");
	guard_fn = billing_function(nsp, "audit_truncate_guard");
	if (!OidIsValid(audit_fn) || !OidIsValid(guard_fn))
		PG_RETURN_VOID();
	refuse_switch_off(trigdata->parsetree, audit_fn, guard_fn);

	/* each such table, and what is below it when it is partitioned */
	foreach(lc, tables_to_guard(trigdata->parsetree, created))
	{
		ListCell   *below;

		if (!OidIsValid(lfirst_oid(lc)))
			continue;
		foreach(below, find_all_inheritors(lfirst_oid(lc), AccessShareLock, NULL))
			guard_table(lfirst_oid(below), audit_fn, guard_fn);
	}
	PG_RETURN_VOID();
}

/*
 * billing_audit_drop_guard: event trigger billing.audit_drop_guard().
 *
 * Contract: fired at ddl_command_start for DROP TRIGGER (see
 * src/sql/80-audit.sql).  Raises ZB303 when a role that is not a superuser
 * drops a trigger that runs billing.audit_trigger or
 * billing.audit_truncate_guard.  Triggers or tables that do not exist are
 * left to DROP TRIGGER to report.
 */
Datum
billing_audit_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *drop;
	Oid			nsp;
	Oid			audit_fn;
	Oid			guard_fn;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function billing.audit_drop_guard was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt) || superuser())
		PG_RETURN_VOID();
	drop = (DropStmt *) trigdata->parsetree;
	if (drop->removeType != OBJECT_TRIGGER)
		PG_RETURN_VOID();
	nsp = get_namespace_oid("billing", true);
	if (!OidIsValid(nsp))
		PG_RETURN_VOID();
	audit_fn = billing_function(nsp, "audit_trigger");
	guard_fn = billing_function(nsp, "audit_truncate_guard");

	foreach(lc, drop->objects)
	{
		List	   *names = (List *) lfirst(lc);
		const char *trigname = strVal(llast(names));
		List	   *table;
		Oid			relid;
		Relation	rel;
		TriggerDesc *td;
		int			i;

		if (list_length(names) < 2)
			continue;
		/* resolved as DROP TRIGGER will, on the same search_path */
		table = list_truncate(list_copy(names), list_length(names) - 1);
		relid = RangeVarGetRelid(makeRangeVarFromNameList(table), NoLock, true);
		if (!OidIsValid(relid))
			continue;
		rel = table_open(relid, AccessShareLock);
		td = rel->trigdesc;
		for (i = 0; td != NULL && i < td->numtriggers; i++)
		{
			Trigger    *t = &td->triggers[i];

			if (strcmp(t->tgname, trigname) != 0 ||
				(t->tgfoid != audit_fn && t->tgfoid != guard_fn))
				continue;
			refuse_trigger_change("dropping", rel, t, audit_fn,
								  "Ask a superuser. Dropping or detaching the table itself stays allowed.");
		}
		table_close(rel, AccessShareLock);
	}
	PG_RETURN_VOID();
}
