/*
 * audit_capture.c
 *		The audit trigger: captures each change to an audited table into a
 *		buffer kept in memory for the transaction.
 *
 * Nothing is written to billing.audit_log here.  Each row change appends a
 * compact record to the buffer: the table, the row's primary key, the
 * operation, a SHA-256 digest of the row as written (INSERT, UPDATE), the
 * changed columns' old and new values (UPDATE) or the whole old row
 * (DELETE), and who and why.  An INSERT keeps no copy of the row: its key
 * and digest identify and seal it, and later UPDATE records keep whatever
 * changes.  audit_chain.c seals and writes the buffer just before commit;
 * a subtransaction that aborts drops the records it made, and a transaction
 * that aborts drops them all.
 */
#include "audit.h"
#include "billing.h"

#include "access/htup_details.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(billing_audit_trigger);
PG_FUNCTION_INFO_V1(billing_audit_row_digest);

/* The buffer: records in capture order, in audit_context. */
AuditRecord *audit_records = NULL;
int64		audit_nrecords = 0;
MemoryContext audit_context = NULL;
static int64 audit_capacity = 0;

/*
 * What the trigger needs to know of an audited table, kept across
 * transactions until a relcache invalidation touches the table.
 */
typedef struct AuditTable
{
	Oid			relid;			/* hash key */
	int			natts;			/* columns when this was made */
	AttrNumber	firm_attnum;
	int			nkeys;
	AttrNumber	key_attnums[INDEX_MAX_KEYS];
	Oid			key_types[INDEX_MAX_KEYS];
	char	   *table_name;
} AuditTable;

static HTAB *audit_tables = NULL;
static MemoryContext tables_context = NULL;
static bool tables_stale = false;
static AuditTable *last_table = NULL;
static AuditWho *last_who = NULL;
static StringInfoData digest_buf;
static bool digest_buf_ready = false;

/*
 * billing.audit_buffer_limit, in kB: past this much buffered, a
 * transaction at its top level writes its records early (see
 * audit_chain_write_early) instead of holding them all until commit.
 */
static int	audit_buffer_limit_kb = 65536;

/*
 * audit_capture_discard: forget the buffer.  Called when the transaction
 * ends either way.  The buffer's memory context is kept for the backend
 * and emptied here: creating and deleting one per transaction was a
 * measurable part of a one-row commit.
 */
void
audit_capture_discard(void)
{
	audit_records = NULL;
	audit_nrecords = 0;
	audit_capacity = 0;
	if (audit_context != NULL)
		MemoryContextReset(audit_context);
	last_table = NULL;
	last_who = NULL;
}

/*
 * audit_capture_abort_subxact: drop the records of a subtransaction that
 * aborts, with those of its children.  Subtransaction ids grow within a
 * transaction, and while subtransaction S is open every subtransaction
 * started after it is its child, so its records are exactly the tail of
 * the buffer whose ids are S or above.
 */
void
audit_capture_abort_subxact(SubTransactionId subid)
{
	while (audit_nrecords > 0 &&
		   audit_records[audit_nrecords - 1].subid >= subid)
		audit_nrecords--;
}

static void
ensure_context(void)
{
	if (audit_context == NULL)
		audit_context = AllocSetContextCreate(TopMemoryContext,
											  "billing audit buffer",
											  ALLOCSET_DEFAULT_SIZES);
}

/*
 * The table descriptions, made afresh after an invalidation.  A stale set
 * still named by buffered records (their table_name) is handed to the
 * transaction, which frees it at its end.
 */
static void
ensure_tables(void)
{
	HASHCTL		ctl;

	if (audit_tables != NULL && !tables_stale)
		return;
	if (tables_context != NULL)
	{
		if (IsTransactionState())
			MemoryContextSetParent(tables_context, TopTransactionContext);
		else
			MemoryContextDelete(tables_context);
	}
	tables_context = AllocSetContextCreate(CacheMemoryContext,
										   "billing audited tables",
										   ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(AuditTable);
	ctl.hcxt = tables_context;
	audit_tables = hash_create("billing audited tables", 16, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	tables_stale = false;
	last_table = NULL;
}

/* A relcache invalidation of an audited table, or of every table. */
static void
tables_relcache_callback(Datum arg, Oid relid)
{
	if (audit_tables == NULL || tables_stale)
		return;
	if (!OidIsValid(relid) ||
		hash_search(audit_tables, &relid, HASH_FIND, NULL) != NULL)
	{
		tables_stale = true;
		last_table = NULL;
	}
}

/* A schema renamed or dropped: the qualified names may have changed. */
static void
tables_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	if (audit_tables != NULL)
	{
		tables_stale = true;
		last_table = NULL;
	}
}

/*
 * audit_capture_init: watch audited tables and schemas for changes.
 * Called once per backend, from billing_audit_init.
 */
void
audit_capture_init(void)
{
	DefineCustomIntVariable("billing.audit_buffer_limit",
							"How much audit trail a transaction keeps in memory before it writes its records early.",
							"Past it, a transaction outside any savepoint writes its records into the audit log and keeps the chains of its firms until it ends.",
							&audit_buffer_limit_kb, 65536, 64, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(tables_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, tables_namespace_callback,
								  (Datum) 0);
}

static void
append_be32(StringInfo buf, uint32 v)
{
	char		b[4];

	b[0] = (char) (v >> 24);
	b[1] = (char) (v >> 16);
	b[2] = (char) (v >> 8);
	b[3] = (char) v;
	appendBinaryStringInfo(buf, b, 4);
}

/*
 * audit_digest_row: SHA-256 of a row in the audit trail's canonical form.
 * Each column that is not dropped contributes, in order, 0xFFFFFFFF when
 * null, else its length as 4 bytes big-endian and its stored image:
 * pass-by-value types as a big-endian integer of their length, varlena
 * types as their detoasted, uncompressed contents, other types as their
 * bytes.  The image is what the value is on disk, so no setting such as
 * DateStyle or TimeZone changes it; it can be recomputed from the table
 * with billing.audit_row_digest on the same PostgreSQL major version.
 */
void
audit_digest_row(TupleDesc desc, Datum *values, bool *isnull, StringInfo buf,
				 uint8 *out)
{
	int			i;

	resetStringInfo(buf);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		v = values[i];

		if (att->attisdropped)
			continue;
		if (isnull[i])
		{
			append_be32(buf, 0xFFFFFFFF);
			continue;
		}
		if (att->attbyval)
		{
			uint64		bits;
			int			len = att->attlen;
			int			k;
			char		image[4 + 8];

			switch (len)
			{
				case 1:
					bits = (uint8) DatumGetChar(v);
					break;
				case 2:
					bits = (uint16) DatumGetInt16(v);
					break;
				case 4:
					bits = (uint32) DatumGetInt32(v);
					break;
				default:
					bits = (uint64) DatumGetInt64(v);
					len = 8;
					break;
			}
			/* length and value in one append: this runs for every column */
			image[0] = image[1] = image[2] = 0;
			image[3] = (char) len;
			for (k = 0; k < len; k++)
				image[4 + k] = (char) (bits >> (8 * (len - 1 - k)));
			appendBinaryStringInfo(buf, image, 4 + len);
		}
		else if (att->attlen == -1)
		{
			struct varlena *p = (struct varlena *) DatumGetPointer(v);
			struct varlena *d = pg_detoast_datum_packed(p);

			append_be32(buf, (uint32) VARSIZE_ANY_EXHDR(d));
			appendBinaryStringInfo(buf, VARDATA_ANY(d), VARSIZE_ANY_EXHDR(d));
			if (d != p)
				pfree(d);
		}
		else if (att->attlen == -2)
		{
			const char *s = DatumGetCString(v);
			int			len = strlen(s);

			append_be32(buf, (uint32) len);
			appendBinaryStringInfo(buf, s, len);
		}
		else
		{
			append_be32(buf, (uint32) att->attlen);
			appendBinaryStringInfo(buf, DatumGetPointer(v), att->attlen);
		}
	}
	audit_sha256(buf->data, buf->len, out);
}

/* The primary key's columns, or none when the table has no primary key. */
static void
find_key_columns(Relation rel, AuditTable *t)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel
#if PG_VERSION_NUM >= 170000
												,false
#endif
		);
	HeapTuple	tup;
	Form_pg_index index;
	int			i;

	t->nkeys = 0;
	if (!OidIsValid(pk))
		return;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", pk);
	index = (Form_pg_index) GETSTRUCT(tup);
	for (i = 0; i < index->indnkeyatts && i < INDEX_MAX_KEYS; i++)
	{
		AttrNumber	a = index->indkey.values[i];

		if (a <= 0)
		{
			/* an expression: no plain key to show */
			t->nkeys = 0;
			break;
		}
		t->key_attnums[t->nkeys] = a;
		t->key_types[t->nkeys] =
			TupleDescAttr(RelationGetDescr(rel), a - 1)->atttypid;
		t->nkeys++;
	}
	ReleaseSysCache(tup);
}

/* The table's schema-qualified name, quoted where needed. */
static char *
qualified_name(Relation rel)
{
	char	   *schema = get_namespace_name(RelationGetNamespace(rel));

	return quote_qualified_identifier(schema, RelationGetRelationName(rel));
}

static AuditTable *
audited_table(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	AuditTable *t;
	bool		found;
	int			i;

	ensure_context();
	if (last_table != NULL && last_table->relid == relid &&
		last_table->natts == desc->natts)
		return last_table;

	ensure_tables();
	t = hash_search(audit_tables, &relid, HASH_ENTER, &found);
	if (!found || t->natts != desc->natts)
	{
		/* not valid until complete: an error below must not leave it so */
		t->natts = -1;
		t->firm_attnum = InvalidAttrNumber;
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && att->atttypid == INT8OID &&
				strcmp(NameStr(att->attname), "firm_id") == 0)
				t->firm_attnum = att->attnum;
		}
		find_key_columns(rel, t);
		t->table_name = MemoryContextStrdup(tables_context,
											qualified_name(rel));
		if (t->firm_attnum != InvalidAttrNumber)
			t->natts = desc->natts;
	}
	if (t->firm_attnum == InvalidAttrNumber)
	{
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_AUDIT_NO_FIRM),
				 errmsg("table %s has no firm_id column and cannot be audited",
						qualified_name(rel)),
				 errdetail("The audit trail keeps one chain per firm and takes the firm from the row's firm_id bigint column."),
				 errhint("Drop the trigger %s, or add a column firm_id bigint NOT NULL to the table.",
						 "billing_audit")));
	}
	last_table = t;
	return t;
}

/* Append a value to a row literal the way record_out quotes it. */
static void
append_key_value(StringInfo buf, const char *s)
{
	bool		quote = (*s == '\0');
	const char *p;

	for (p = s; *p && !quote; p++)
		if (*p == '"' || *p == '\\' || *p == '(' || *p == ')' ||
			*p == ',' || isspace((unsigned char) *p))
			quote = true;
	if (!quote)
	{
		appendStringInfoString(buf, s);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendStringInfoChar(buf, *p);
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/*
 * The row's primary key as a row literal, "(1,42)", in audit_context.  It
 * is made as a text value, so that the commit writes it as it is.
 */
static text *
row_key(AuditTable *t, TupleTableSlot *slot)
{
	StringInfoData buf;
	char		num[MAXINT8LEN + 1];
	int			i;

	if (t->nkeys == 0)
		return NULL;
	buf.data = MemoryContextAlloc(audit_context, 32);
	buf.maxlen = 32;
	buf.len = 0;
	buf.data[0] = '\0';
	buf.cursor = 0;
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendStringInfoChar(&buf, '(');
	for (i = 0; i < t->nkeys; i++)
	{
		int			a = t->key_attnums[i] - 1;
		Datum		v = slot->tts_values[a];

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (slot->tts_isnull[a])
			continue;
		switch (t->key_types[i])
		{
			case INT8OID:
				pg_lltoa(DatumGetInt64(v), num);
				appendStringInfoString(&buf, num);
				break;
			case INT4OID:
				pg_ltoa(DatumGetInt32(v), num);
				appendStringInfoString(&buf, num);
				break;
			default:
				{
					Oid			out;
					bool		varlena;

					getTypeOutputInfo(t->key_types[i], &out, &varlena);
					append_key_value(&buf, OidOutputFunctionCall(out, v));
				}
				break;
		}
	}
	appendStringInfoChar(&buf, ')');
	SET_VARSIZE(buf.data, buf.len);
	return (text *) buf.data;
}

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
keep_string(const char *s)
{
	return s == NULL ? NULL : MemoryContextStrdup(audit_context, s);
}

/*
 * Who and why now; the previous record's when nothing changed.  Settings
 * change only between commands, so within one command (all the rows of a
 * bulk statement) the previous answer is reused without reading them.
 */
static CommandId last_who_command = InvalidCommandId;

static AuditWho *
capture_who(void)
{
	Oid			session_user = GetSessionUserId();
	Oid			current_user = GetUserId();
	TimestampTz ts = GetCurrentStatementStartTimestamp();
	CommandId	command = GetCurrentCommandId(false);
	const char *staff;
	const char *reason_code;
	const char *reason;
	const char *app = application_name;
	AuditWho   *w;

	if (last_who != NULL &&
		last_who_command == command &&
		last_who->session_user == session_user &&
		last_who->current_user == current_user &&
		last_who->statement_time == ts)
		return last_who;

	staff = setting_staff_id();
	reason_code = setting_reason_code();
	reason = setting_reason();
	if (app != NULL && app[0] == '\0')
		app = NULL;
	last_who_command = command;
	if (last_who != NULL &&
		last_who->session_user == session_user &&
		last_who->current_user == current_user &&
		last_who->statement_time == ts &&
		same_string(last_who->staff_setting, staff) &&
		same_string(last_who->reason_code, reason_code) &&
		same_string(last_who->reason, reason) &&
		same_string(last_who->application_name, app))
		return last_who;

	if (staff != NULL)
	{
		char	   *end;
		long long	id;

		errno = 0;
		id = strtoll(staff, &end, 10);
		if (errno != 0 || *end != '\0' || id <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_UNKNOWN_ACTOR),
					 errmsg("billing.staff_id \"%s\" is not a staff id", staff),
					 errdetail("The audit trail records the staff member a change is made for, and billing.staff_id must name one by its number."),
					 errhint("SET LOCAL billing.staff_id to the staff_id of a row of billing.staff, or leave it unset.")));
		(void) id;
	}

	w = MemoryContextAlloc(audit_context, sizeof(AuditWho));
	w->session_user = session_user;
	w->current_user = current_user;
	w->statement_time = ts;
	w->staff_setting = keep_string(staff);
	w->reason_code = keep_string(reason_code);
	w->reason = keep_string(reason);
	w->application_name = keep_string(app);
	last_who = w;
	return w;
}

static AuditRecord *
new_record(void)
{
	if (audit_nrecords >= audit_capacity)
	{
		int64		n = audit_capacity == 0 ? 64 : audit_capacity * 2;

		if (audit_records == NULL)
			audit_records = MemoryContextAllocHuge(audit_context,
												   n * sizeof(AuditRecord));
		else
			audit_records = repalloc_huge(audit_records,
										  n * sizeof(AuditRecord));
		audit_capacity = n;
	}
	return &audit_records[audit_nrecords++];
}

/* Add "name": value (text form, or null) to an object being built. */
static void
push_column(JsonbParseState **state, Form_pg_attribute att, Datum v,
			bool isnull)
{
	JsonbValue	k;
	JsonbValue	val;

	k.type = jbvString;
	k.val.string.val = NameStr(att->attname);
	k.val.string.len = strlen(NameStr(att->attname));
	pushJsonbValue(state, WJB_KEY, &k);
	if (isnull)
		val.type = jbvNull;
	else
	{
		Oid			out;
		bool		varlena;
		char	   *s;

		getTypeOutputInfo(att->atttypid, &out, &varlena);
		s = OidOutputFunctionCall(out, v);
		val.type = jbvString;
		val.val.string.val = s;
		val.val.string.len = strlen(s);
	}
	pushJsonbValue(state, WJB_VALUE, &val);
}

/*
 * The finished object, copied into the buffer at its exact size:
 * JsonbValueToJsonb builds it in a buffer of at least 1 kB, which kept
 * for each record made an update's two values cost 2 kB in the buffer.
 */
static Jsonb *
finish_object(JsonbParseState **state)
{
	JsonbValue *res = pushJsonbValue(state, WJB_END_OBJECT, NULL);
	Jsonb	   *built = JsonbValueToJsonb(res);
	Jsonb	   *j = MemoryContextAlloc(audit_context, VARSIZE(built));

	memcpy(j, built, VARSIZE(built));
	pfree(built);
	return j;
}

/*
 * billing_audit_trigger: records one row change of an audited table.
 *
 * Contract: fired AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on a table
 * with a column firm_id bigint (ZB302 otherwise, and for a null firm_id);
 * appends one record to the transaction's buffer, which audit_chain.c
 * writes to billing.audit_log at commit.  Attach it with
 * billing.audit_table(regclass), which runs:
 *
 *		CREATE TRIGGER billing_audit
 *			AFTER INSERT OR UPDATE OR DELETE ON t
 *			FOR EACH ROW EXECUTE FUNCTION billing.audit_trigger();
 */
Datum
billing_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	TriggerEvent ev;
	Relation	rel;
	TupleDesc	desc;
	AuditTable *t;
	AuditRecord rec;
	AuditRecord *r;
	TupleTableSlot *slot;
	TupleTableSlot *newslot = NULL;
	char		op;
	int64		firm;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function billing.audit_trigger was not called by the trigger manager"),
				 errhint("Attach it to a table with billing.audit_table(regclass).")));
	td = (TriggerData *) fcinfo->context;
	ev = td->tg_event;
	if (!TRIGGER_FIRED_AFTER(ev) || !TRIGGER_FIRED_FOR_ROW(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s must be fired AFTER ... FOR EACH ROW",
						td->tg_trigger->tgname),
				 errhint("Attach billing.audit_trigger with billing.audit_table(regclass).")));
	if (TRIGGER_FIRED_BY_INSERT(ev))
		op = 'I';
	else if (TRIGGER_FIRED_BY_UPDATE(ev))
		op = 'U';
	else if (TRIGGER_FIRED_BY_DELETE(ev))
		op = 'D';
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s must be fired by INSERT, UPDATE or DELETE",
						td->tg_trigger->tgname)));
	if (audit_chain_flushed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s was changed after the audit trail of the transaction was written",
						RelationGetRelationName(td->tg_relation)),
				 errdetail("Changes made by commit-time callbacks cannot be audited.")));

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	t = audited_table(rel);

	slot = td->tg_trigslot;
	slot_getallattrs(slot);
	if (op == 'U')
	{
		newslot = td->tg_newslot;
		slot_getallattrs(newslot);
	}
	{
		TupleTableSlot *cur = (op == 'U') ? newslot : slot;

		if (cur->tts_isnull[t->firm_attnum - 1])
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_AUDIT_NO_FIRM),
					 errmsg("row of table %s has no firm_id and cannot be audited",
							t->table_name),
					 errhint("Give every row of an audited table a firm_id.")));
		firm = DatumGetInt64(cur->tts_values[t->firm_attnum - 1]);
	}

	/*
	 * Build the record apart and append it only once complete, so that an
	 * error on the way leaves nothing half-made in the buffer.
	 */
	memset(&rec, 0, sizeof(AuditRecord));
	r = &rec;
	r->firm_id = firm;
	r->table_name = t->table_name;
	r->operation = op;
	r->subid = GetCurrentSubTransactionId();
	r->who = capture_who();
	r->row_key = row_key(t, op == 'U' ? newslot : slot);

	if (op != 'D')
	{
		TupleTableSlot *cur = (op == 'U') ? newslot : slot;

		if (!digest_buf_ready)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			initStringInfo(&digest_buf);
			MemoryContextSwitchTo(old);
			digest_buf_ready = true;
		}
		audit_digest_row(desc, cur->tts_values, cur->tts_isnull,
						 &digest_buf, r->row_digest);
		r->has_digest = true;
	}

	if (op == 'U')
	{
		JsonbParseState *old_state = NULL;
		JsonbParseState *new_state = NULL;

		pushJsonbValue(&old_state, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(&new_state, WJB_BEGIN_OBJECT, NULL);
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			bool		on = slot->tts_isnull[i];
			bool		nn = newslot->tts_isnull[i];

			if (att->attisdropped || (on && nn))
				continue;
			if (on == nn &&
				datum_image_eq(slot->tts_values[i], newslot->tts_values[i],
							   att->attbyval, att->attlen))
				continue;
			push_column(&old_state, att, slot->tts_values[i], on);
			push_column(&new_state, att, newslot->tts_values[i], nn);
		}
		r->old_values = finish_object(&old_state);
		r->new_values = finish_object(&new_state);
	}
	else if (op == 'D')
	{
		JsonbParseState *state = NULL;

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped)
				push_column(&state, att, slot->tts_values[i],
							slot->tts_isnull[i]);
		}
		r->old_values = finish_object(&state);
	}

	*new_record() = rec;

	/*
	 * A transaction of millions of changes would keep gigabytes here until
	 * it commits: past the limit, write what it has now.  Not inside a
	 * savepoint, whose rollback would take away records the chain then
	 * goes on from; such a transaction goes on buffering until it is back
	 * at its top level.
	 */
	if (MemoryContextMemAllocated(audit_context, false) >
		(Size) audit_buffer_limit_kb * 1024 &&
		GetCurrentTransactionNestLevel() == 1)
	{
		audit_chain_write_early();
		audit_capture_discard();
	}
	return PointerGetDatum(NULL);
}

/*
 * audit_capture_truncate: record that a truncate removed a firm's rows of a
 * table, how many of them, with who and why (audit_truncate.c calls it
 * for each firm with rows).
 *
 * Contract: appends one TRUNCATE record for the firm, with a null key and
 * old_values {"rows": "<rows>"}; like any record it is written at commit
 * and dropped if the transaction or the subtransaction rolls back.
 */
void
audit_capture_truncate(Relation rel, int64 firm, int64 rows)
{
	AuditTable *t = audited_table(rel);
	AuditRecord rec;
	JsonbParseState *state = NULL;
	JsonbValue	k;
	JsonbValue	v;
	char		count[32];

	if (audit_chain_flushed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s was truncated after the audit trail of the transaction was written",
						RelationGetRelationName(rel)),
				 errdetail("Changes made by commit-time callbacks cannot be audited.")));
	memset(&rec, 0, sizeof(AuditRecord));
	rec.firm_id = firm;
	rec.table_name = t->table_name;
	rec.operation = 'T';
	rec.subid = GetCurrentSubTransactionId();
	rec.who = capture_who();
	snprintf(count, sizeof(count), INT64_FORMAT, rows);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = "rows";
	k.val.string.len = 4;
	pushJsonbValue(&state, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = count;
	v.val.string.len = strlen(count);
	pushJsonbValue(&state, WJB_VALUE, &v);
	rec.old_values = finish_object(&state);
	*new_record() = rec;
}

/*
 * billing_audit_row_digest: SQL function billing.audit_row_digest(record).
 *
 * Contract: returns the SHA-256 digest of a row in the form the audit
 * trigger stores in audit_log.row_digest for an INSERT or UPDATE, so a
 * row's current digest can be compared with its last record.
 */
Datum
billing_audit_row_digest(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			type = HeapTupleHeaderGetTypeId(rec);
	int32		typmod = HeapTupleHeaderGetTypMod(rec);
	TupleDesc	desc = lookup_rowtype_tupdesc(type, typmod);
	HeapTupleData tuple;
	Datum	   *values = palloc(desc->natts * sizeof(Datum));
	bool	   *isnull = palloc(desc->natts * sizeof(bool));
	StringInfoData buf;
	bytea	   *result = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, desc, values, isnull);

	initStringInfo(&buf);
	audit_digest_row(desc, values, isnull, &buf, (uint8 *) VARDATA(result));
	ReleaseTupleDesc(desc);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	PG_RETURN_BYTEA_P(result);
}
