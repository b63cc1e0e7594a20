-- 80-audit.sql: the append-only, tamper-evident audit trail.
--
-- A C row trigger (billing.audit_trigger) records every INSERT, UPDATE and
-- DELETE on a firm table into a buffer kept for the transaction; just before
-- the transaction commits or prepares, the buffer is written to
-- billing.audit_log as the log's owner, each record sealed with a SHA-256
-- hash that covers the record and the hash of the record before it in its
-- lane of the firm's chain (writers of one firm that commit at once take
-- different lanes).  Nothing reaches the log when the transaction rolls back.
-- doc/audit.md is the reference and the threat model.

CREATE TABLE billing.audit_log (
    firm_id             bigint NOT NULL,
    seq                 bigint NOT NULL CHECK (seq > 0),
    lane                smallint NOT NULL CHECK (lane >= 0 AND lane < 8),
    table_name          text NOT NULL,
    operation           text NOT NULL
                        CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    row_key             text,
    row_digest          bytea,
    row_keys            text[],
    row_digests         bytea[],
    old_values          jsonb,
    new_values          jsonb,
    transaction_id      xid8 NOT NULL,
    statement_time      timestamptz NOT NULL,
    session_user_name   text NOT NULL,
    current_role_name   text NOT NULL,
    staff_id            bigint,
    application_name    text,
    reason_code         text,
    reason              text,
    prev_hash           bytea,
    hash                bytea NOT NULL,
    -- a lane's records are found by its end, so the lane leads the seq
    PRIMARY KEY (firm_id, lane, seq),
    -- what the writer makes; the hash, not this, is what detects tampering
    CONSTRAINT audit_log_rows_of_one_insert CHECK (
        (row_keys IS NULL AND row_digests IS NULL)
        OR (operation OPERATOR(pg_catalog.=) 'INSERT'
            AND row_key IS NULL AND row_digest IS NULL
            AND pg_catalog.cardinality(row_keys) OPERATOR(pg_catalog.>=) 2
            AND pg_catalog.cardinality(row_keys)
                OPERATOR(pg_catalog.=) pg_catalog.cardinality(row_digests)))
);

-- The keys and digests of a record of many rows are stored out of line
-- without compression: SHA-256 digests do not compress, and trying was the
-- largest single cost of an audited bulk insert.
ALTER TABLE billing.audit_log
    ALTER COLUMN row_keys SET STORAGE EXTERNAL,
    ALTER COLUMN row_digests SET STORAGE EXTERNAL;

COMMENT ON TABLE billing.audit_log IS
    'Every change to a firm''s billing data, append-only, sealed in a hash chain per firm: each record''s hash covers the record and the hash of the previous record of its lane. Check it with billing.verify_audit.';
COMMENT ON COLUMN billing.audit_log.firm_id IS 'The firm whose data changed; each firm has its own chain.';
COMMENT ON COLUMN billing.audit_log.seq IS 'Position in the firm''s chain, in the order records were sealed: 1, 2, 3, ...; a gap is left only by a transaction that failed while it committed beside other writers of its firm (doc/audit.md). A record covers one change, or several rows inserted together (row_keys).';
COMMENT ON COLUMN billing.audit_log.lane IS 'Which of the firm''s lanes (0 to 7) the record continues: writers of one firm that commit at the same moment seal into different lanes instead of waiting for each other, and each record links to the previous record of its lane.';
COMMENT ON COLUMN billing.audit_log.table_name IS 'The changed table, schema-qualified (billing.wip_entry).';
COMMENT ON COLUMN billing.audit_log.operation IS 'INSERT, UPDATE or DELETE; TRUNCATE for a superuser''s truncate of the table, one record per firm with rows.';
COMMENT ON COLUMN billing.audit_log.row_key IS 'The changed row''s primary key as a row literal, for example (1,42) for firm 1, id 42; null when the table has no primary key, in a record of several inserted rows (see row_keys), and in a TRUNCATE record.';
COMMENT ON COLUMN billing.audit_log.row_digest IS 'SHA-256 of the row as written by an INSERT or UPDATE (see billing.audit_row_digest); null for a DELETE and in a record of several inserted rows (see row_digests).';
COMMENT ON COLUMN billing.audit_log.row_keys IS 'A record of several rows inserted together (consecutive INSERTs into one table with the same who and why, up to 1,000 rows): their keys, in the order they were inserted. Null for a record of one row. billing.audit_change shows one row per key.';
COMMENT ON COLUMN billing.audit_log.row_digests IS 'A record of several inserted rows: the SHA-256 digest of each, in the order of row_keys. Null for a record of one row.';
COMMENT ON COLUMN billing.audit_log.old_values IS 'UPDATE: the changed columns before the change; DELETE: the whole row; values in their text form. TRUNCATE: the number of the firm''s rows removed, {"rows": "n"}.';
COMMENT ON COLUMN billing.audit_log.new_values IS 'UPDATE: the changed columns after the change; values in their text form. Null for INSERT and DELETE.';
COMMENT ON COLUMN billing.audit_log.transaction_id IS 'The transaction that made the change (compare with pg_current_xact_id()).';
COMMENT ON COLUMN billing.audit_log.statement_time IS 'When the statement that made the change started.';
COMMENT ON COLUMN billing.audit_log.session_user_name IS 'The role that logged in.';
COMMENT ON COLUMN billing.audit_log.current_role_name IS 'The role in effect when the change was made (after SET ROLE or inside a SECURITY DEFINER function).';
COMMENT ON COLUMN billing.audit_log.staff_id IS 'The staff member the application acted for: billing.staff_id if set, else the staff member whose role_name is the current role; null if neither.';
COMMENT ON COLUMN billing.audit_log.application_name IS 'The application_name of the session.';
COMMENT ON COLUMN billing.audit_log.reason_code IS 'The billing.reason_code setting in effect, if any.';
COMMENT ON COLUMN billing.audit_log.reason IS 'The billing.reason setting in effect, if any: why the change was made.';
COMMENT ON COLUMN billing.audit_log.prev_hash IS 'The hash of the previous record of the same lane of the firm''s chain; null for the first record of a lane.';
COMMENT ON COLUMN billing.audit_log.hash IS 'SHA-256 over this record''s columns (canonical form in doc/audit.md) and prev_hash.';

SELECT pg_catalog.pg_extension_config_dump('billing.audit_log', '');

-- Nobody writes the log but the audit trail's own writer, which inserts at
-- heap level and so does not fire these triggers.  Statement-level triggers
-- fire for every statement, even one that touches no row, and for COPY.
CREATE FUNCTION billing.audit_log_guard()
    RETURNS trigger
    LANGUAGE c
    VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'billing_audit_log_guard';
COMMENT ON FUNCTION billing.audit_log_guard() IS
    'Trigger that refuses every INSERT, UPDATE, DELETE and TRUNCATE on billing.audit_log (SQLSTATE ZB301), for its owner too.';

CREATE TRIGGER audit_log_append_only
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION billing.audit_log_guard();

REVOKE ALL ON TABLE billing.audit_log FROM PUBLIC;

-- What keeps the trail whole is fixed for everyone but superusers.  A
-- table's owner may switch its triggers off, drop them or alter the table:
-- if a DBA hands the log to a role that is not a superuser, that role
-- could turn the append-only trigger off and write the log, and the owner
-- of a table under audit could switch its audit trigger off and change it
-- unrecorded.  These event triggers refuse, for roles that are not
-- superusers: any DDL on the log or on a trigger, rule, policy or
-- constraint of it, and dropping any of them (adding an index stays open:
-- the writer fills it); and switching off, renaming or dropping the audit
-- trigger of a table (dropping or detaching the table itself stays open),
-- or making a trigger named billing_audit run another function.
-- Superusers keep every power, for restores, upgrades and repairs; what
-- they do is in the threat model.
CREATE FUNCTION billing.audit_ddl_guard()
    RETURNS event_trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    log_oid oid;
    trigger_fn oid;
    truncate_fn oid;
    what text;
BEGIN
    IF pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on' THEN
        RETURN;
    END IF;
    -- from the catalog, not to_regclass: that needs USAGE on the schema,
    -- and roles without it run DDL of their own too
    SELECT c.oid INTO log_oid
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'billing'
       AND c.relname OPERATOR(pg_catalog.=) 'audit_log';
    SELECT pg_catalog.max(p.oid) FILTER (WHERE p.proname OPERATOR(pg_catalog.=) 'audit_trigger'),
           pg_catalog.max(p.oid) FILTER (WHERE p.proname OPERATOR(pg_catalog.=) 'audit_truncate_guard')
      INTO trigger_fn, truncate_fn
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'billing'
       AND p.pronargs OPERATOR(pg_catalog.=) 0;
    IF log_oid IS NULL OR trigger_fn IS NULL OR truncate_fn IS NULL THEN
        RETURN;
    END IF;

    IF TG_EVENT OPERATOR(pg_catalog.=) 'sql_drop' THEN
        SELECT 'dropping ' OPERATOR(pg_catalog.||) d.object_type
               OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) d.object_identity
          INTO what
          FROM pg_catalog.pg_event_trigger_dropped_objects() d
         WHERE (d.object_type OPERATOR(pg_catalog.=) 'table'
                AND d.objid OPERATOR(pg_catalog.=) log_oid)
            OR (d.object_type OPERATOR(pg_catalog.=) ANY
                    (ARRAY['trigger', 'rule', 'policy', 'table constraint'])
                AND d.object_identity OPERATOR(pg_catalog.~~) '% on billing.audit_log')
            -- a table's audit triggers, by DROP TRIGGER (not with the table)
            OR (TG_TAG OPERATOR(pg_catalog.=) 'DROP TRIGGER'
                AND d.object_type OPERATOR(pg_catalog.=) 'trigger'
                AND (d.object_identity OPERATOR(pg_catalog.~~) 'billing\_audit on %'
                     OR d.object_identity OPERATOR(pg_catalog.~~) 'billing\_audit\_truncate on %'))
         LIMIT 1;
    ELSE
        SELECT c.command_tag OPERATOR(pg_catalog.||) ' on billing.audit_log' INTO what
          FROM pg_catalog.pg_event_trigger_ddl_commands() c
         WHERE c.command_tag OPERATOR(pg_catalog.<>) 'CREATE INDEX'
           AND ((c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND c.objid OPERATOR(pg_catalog.=) log_oid)
             -- a trigger, rule, policy or index of the log, or a table made
             -- to inherit from it (whose rows a plain SELECT of the log
             -- would show as records): what depends on the log
             OR EXISTS (SELECT FROM pg_catalog.pg_depend d
                         WHERE d.classid OPERATOR(pg_catalog.=) c.classid
                           AND d.objid OPERATOR(pg_catalog.=) c.objid
                           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                           AND d.refobjid OPERATOR(pg_catalog.=) log_oid))
         LIMIT 1;
        IF what IS NULL THEN
            -- a table's audit trigger renamed or replaced (switching one
            -- off is refused by billing.audit_new_table, which sees which
            -- subcommands did it)
            SELECT CASE
                     WHEN t.tgfoid OPERATOR(pg_catalog.=) ANY (ARRAY[trigger_fn, truncate_fn])
                       THEN 'renaming the audit trigger '
                     ELSE 'making another function run as the audit trigger '
                   END OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.tgname)
                   OPERATOR(pg_catalog.||) ' of ' OPERATOR(pg_catalog.||) t.tgrelid::pg_catalog.regclass::pg_catalog.text
              INTO what
              FROM pg_catalog.pg_event_trigger_ddl_commands() c
              JOIN pg_catalog.pg_trigger t
                ON c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
               AND t.oid OPERATOR(pg_catalog.=) c.objid
               AND ((c.command_tag OPERATOR(pg_catalog.=) 'ALTER TRIGGER'
                     AND t.tgfoid OPERATOR(pg_catalog.=) ANY (ARRAY[trigger_fn, truncate_fn]))
                 OR (t.tgname OPERATOR(pg_catalog.=) 'billing_audit'
                     AND t.tgfoid OPERATOR(pg_catalog.<>) trigger_fn)
                 OR (t.tgname OPERATOR(pg_catalog.=) 'billing_audit_truncate'
                     AND t.tgfoid OPERATOR(pg_catalog.<>) truncate_fn))
             LIMIT 1;
        END IF;
    END IF;
    IF what IS NOT NULL THEN
        RAISE EXCEPTION '% is not allowed: what keeps the audit trail whole can be changed only by a superuser', what
            USING ERRCODE = 'ZB303',
                  DETAIL = pg_catalog.format('Role %s is not a superuser. The audit log''s definition keeps it append-only and readable, and a table''s audit trigger records its changes.', current_user),
                  HINT = 'Ask a superuser. Adding an index to the log, and dropping or detaching a table under audit, stay allowed.';
    END IF;
END
$$;
COMMENT ON FUNCTION billing.audit_ddl_guard() IS
    'Event trigger that refuses, for roles that are not superusers, DDL on billing.audit_log and its triggers, rules, policies and constraints (CREATE INDEX is allowed), and switching off, renaming, replacing or dropping the audit trigger of a table (SQLSTATE ZB303).';

-- Only the commands that can touch what the guard keeps run it: DDL is
-- common (an application's temporary tables), and the guard's queries
-- would otherwise cost each statement a few tenths of a millisecond.
CREATE EVENT TRIGGER billing_audit_ddl ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'ALTER TRIGGER',
                 'CREATE RULE', 'ALTER RULE', 'CREATE POLICY', 'ALTER POLICY',
                 'COMMENT', 'SECURITY LABEL')
    EXECUTE FUNCTION billing.audit_ddl_guard();
CREATE EVENT TRIGGER billing_audit_drop ON sql_drop
    WHEN TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP TRIGGER', 'DROP RULE',
                 'DROP POLICY', 'DROP OWNED', 'DROP SCHEMA')
    EXECUTE FUNCTION billing.audit_ddl_guard();

CREATE FUNCTION billing.audit_trigger()
    RETURNS trigger
    LANGUAGE c
    VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'billing_audit_trigger';
COMMENT ON FUNCTION billing.audit_trigger() IS
    'AFTER INSERT OR UPDATE OR DELETE row trigger that records each change in billing.audit_log at commit; attach it with billing.audit_table.';

-- A truncate removes a table's rows without a row trigger firing, so
-- without a record: a table under audit refuses it to roles that are not
-- superusers, who delete rows instead (each one recorded); a superuser's
-- truncate is recorded, one TRUNCATE record per firm with rows.
CREATE FUNCTION billing.audit_truncate_guard()
    RETURNS trigger
    LANGUAGE c
    VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'billing_audit_truncate_guard';
COMMENT ON FUNCTION billing.audit_truncate_guard() IS
    'BEFORE TRUNCATE statement trigger that billing.audit_table puts on a table under audit: refuses TRUNCATE to roles that are not superusers (SQLSTATE ZB304), and records a superuser''s, one TRUNCATE record per firm with rows, with their number.';

-- Partitions made or attached later inherit the audit trigger but not the
-- truncate guard (PostgreSQL passes on row triggers only): this event
-- trigger adds it.  It also refuses, for roles that are not superusers, a table
-- created to inherit from the log, and an ALTER TABLE that switches an
-- audit trigger off.  It reads the parse tree first, in C, so a CREATE
-- TABLE that makes no partition and inherits from nothing costs next to
-- nothing.
CREATE FUNCTION billing.audit_new_table()
    RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'billing_audit_new_table';
COMMENT ON FUNCTION billing.audit_new_table() IS
    'Event trigger that gives a partition made or attached under a table under audit the truncate guard (billing_audit_truncate); and refuses to roles that are not superusers a table created to inherit from billing.audit_log and an ALTER TABLE that switches an audit trigger off (SQLSTATE ZB303).';
CREATE EVENT TRIGGER billing_audit_new_table ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE SCHEMA', 'ALTER TABLE')
    EXECUTE FUNCTION billing.audit_new_table();
-- Dropped, a trigger no longer shows which function it ran, so the guard
-- above knows the audit triggers DROP TRIGGER removes only by name; this
-- one looks at each before the drop, whatever its name.
CREATE FUNCTION billing.audit_drop_guard()
    RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'billing_audit_drop_guard';
COMMENT ON FUNCTION billing.audit_drop_guard() IS
    'Event trigger that refuses, for roles that are not superusers, DROP TRIGGER of a trigger that runs billing.audit_trigger or billing.audit_truncate_guard, whatever its name (SQLSTATE ZB303).';
CREATE EVENT TRIGGER billing_audit_drop_trigger ON ddl_command_start
    WHEN TAG IN ('DROP TRIGGER')
    EXECUTE FUNCTION billing.audit_drop_guard();

CREATE FUNCTION billing.audit_table(table_name regclass)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE STRICT PARALLEL UNSAFE
    AS $$
DECLARE
    rel record;
    part record;
BEGIN
    SELECT c.relkind, c.relispartition, n.nspname, c.relname
      INTO rel
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) table_name;
    IF rel.nspname OPERATOR(pg_catalog.=) 'billing'
       AND rel.relname OPERATOR(pg_catalog.=) 'audit_log' THEN
        RAISE EXCEPTION 'table billing.audit_log cannot be put under audit'
            USING ERRCODE = 'ZB302',
                  DETAIL = 'The audit log is sealed by its own hash chain.';
    END IF;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'relation % is not a table', table_name
            USING ERRCODE = '42809';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid OPERATOR(pg_catalog.=) table_name
                      AND a.attname OPERATOR(pg_catalog.=) 'firm_id'
                      AND a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.int8'::pg_catalog.regtype
                      AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % has no firm_id column and cannot be audited', table_name
            USING ERRCODE = 'ZB302',
                  DETAIL = 'The audit trail keeps one chain per firm and takes the firm from the row''s firm_id.',
                  HINT = 'Add a column firm_id bigint NOT NULL to the table, or audit it another way.';
    END IF;
    -- the table and each partition it has refuse TRUNCATE (statement
    -- triggers are not passed on to partitions, as row triggers are)
    FOR part IN
        SELECT p.relid, n.nspname, c.relname
          FROM (SELECT table_name AS relid
                UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(table_name) t) p
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.relid
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                            WHERE t.tgrelid OPERATOR(pg_catalog.=) p.relid
                              AND t.tgfoid OPERATOR(pg_catalog.=) 'billing.audit_truncate_guard()'::pg_catalog.regprocedure)
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER billing_audit_truncate BEFORE TRUNCATE ON %I.%I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION billing.audit_truncate_guard()',
            part.nspname, part.relname);
    END LOOP;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) table_name
                  AND t.tgfoid OPERATOR(pg_catalog.=) 'billing.audit_trigger()'::pg_catalog.regprocedure) THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER billing_audit AFTER INSERT OR UPDATE OR DELETE ON %I.%I'
        ' FOR EACH ROW EXECUTE FUNCTION billing.audit_trigger()',
        rel.nspname, rel.relname);
    RETURN true;
END
$$;
COMMENT ON FUNCTION billing.audit_table(regclass) IS
    'Puts a table with a firm_id column under the audit trail; returns false if it already was. ZB302 for a table without firm_id.';

CREATE FUNCTION billing.audit_row_digest(row_value record)
    RETURNS bytea
    LANGUAGE c
    STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'billing_audit_row_digest';
COMMENT ON FUNCTION billing.audit_row_digest(record) IS
    'SHA-256 of a row in the form the audit trail seals it (audit_log.row_digest): compare it with the last INSERT or UPDATE record of the row to find changes made behind the trigger''s back.';

CREATE VIEW billing.audit_change
    WITH (security_invoker = true) AS
SELECT l.firm_id, l.seq, 1::integer AS item, l.table_name, l.operation,
       l.row_key, l.row_digest, l.old_values, l.new_values, l.transaction_id,
       l.statement_time, l.session_user_name, l.current_role_name, l.staff_id,
       l.application_name, l.reason_code, l.reason
  FROM ONLY billing.audit_log l
 WHERE l.row_keys IS NULL
UNION ALL
SELECT l.firm_id, l.seq, k.item::integer, l.table_name, l.operation,
       k.row_key, k.row_digest, l.old_values, l.new_values, l.transaction_id,
       l.statement_time, l.session_user_name, l.current_role_name, l.staff_id,
       l.application_name, l.reason_code, l.reason
  FROM ONLY billing.audit_log l
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(l.row_keys),
                                pg_catalog.unnest(l.row_digests))
       WITH ORDINALITY AS k(row_key, row_digest, item)
 WHERE l.row_keys IS NOT NULL;
COMMENT ON VIEW billing.audit_change IS
    'One row per recorded change: billing.audit_log with each record of several inserted rows shown as one row per row. Reads the log with the reader''s own rights.';
COMMENT ON COLUMN billing.audit_change.firm_id IS 'The firm whose data changed.';
COMMENT ON COLUMN billing.audit_change.seq IS 'The record of the firm''s chain that holds the change (billing.audit_log.seq).';
COMMENT ON COLUMN billing.audit_change.item IS 'Which row of the record: 1 for a record of one change, 1, 2, ... in insertion order for a record of several inserted rows.';
COMMENT ON COLUMN billing.audit_change.table_name IS 'The changed table, schema-qualified.';
COMMENT ON COLUMN billing.audit_change.operation IS 'INSERT, UPDATE, DELETE, or TRUNCATE (a superuser''s, with a null row_key).';
COMMENT ON COLUMN billing.audit_change.row_key IS 'The changed row''s primary key as a row literal; null when the table has no primary key.';
COMMENT ON COLUMN billing.audit_change.row_digest IS 'SHA-256 of the row as written by an INSERT or UPDATE; null for a DELETE.';
COMMENT ON COLUMN billing.audit_change.old_values IS 'UPDATE: the changed columns before the change; DELETE: the whole row; TRUNCATE: {"rows": "n"}, the firm''s rows removed.';
COMMENT ON COLUMN billing.audit_change.new_values IS 'UPDATE: the changed columns after the change.';
COMMENT ON COLUMN billing.audit_change.transaction_id IS 'The transaction that made the change.';
COMMENT ON COLUMN billing.audit_change.statement_time IS 'When the statement that made the change started.';
COMMENT ON COLUMN billing.audit_change.session_user_name IS 'The role that logged in.';
COMMENT ON COLUMN billing.audit_change.current_role_name IS 'The role in effect when the change was made.';
COMMENT ON COLUMN billing.audit_change.staff_id IS 'The staff member the application acted for, if known.';
COMMENT ON COLUMN billing.audit_change.application_name IS 'The application_name of the session.';
COMMENT ON COLUMN billing.audit_change.reason_code IS 'The billing.reason_code setting in effect, if any.';
COMMENT ON COLUMN billing.audit_change.reason IS 'The billing.reason setting in effect, if any.';
REVOKE ALL ON TABLE billing.audit_change FROM PUBLIC;

CREATE FUNCTION billing.verify_audit(
        firm_id bigint,
        anchor_seq bigint DEFAULT NULL,
        anchor_hash bytea DEFAULT NULL,
        OUT valid boolean,
        OUT records_checked bigint,
        OUT failed_seq bigint,
        OUT problem text,
        OUT last_seq bigint,
        OUT last_hash bytea)
    RETURNS record
    LANGUAGE c
    STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'billing_verify_audit';
COMMENT ON FUNCTION billing.verify_audit(bigint, bigint, bytea) IS
    'Walks a firm''s audit chain from the first record, each record against the previous record of its lane, and reports the first one that does not verify, and why (edited or forged, missing, out of order); with an anchor from billing.audit_anchor it also detects a rewritten or truncated chain.';

CREATE FUNCTION billing.audit_anchor(
        firm_id bigint,
        OUT seq bigint,
        OUT hash bytea,
        OUT lane smallint)
    RETURNS SETOF record
    LANGUAGE c
    VOLATILE STRICT PARALLEL SAFE
    ROWS 2
    AS 'MODULE_PATHNAME', 'billing_audit_anchor';
COMMENT ON FUNCTION billing.audit_anchor(bigint) IS
    'The latest record of each lane of a firm''s audit chain, one row per lane (one row, seq 0 and a null hash, when the chain is empty): keep every row outside the database and pass each to billing.verify_audit later.';

-- One row's history.  Most audited tables' primary keys start with firm_id,
-- and a row's records are all in its firm's chain, so the key names the one
-- chain to read, through the log's primary key: one firm's records, not
-- the whole log (and, under Citus, one shard).
CREATE FUNCTION billing.history(table_name regclass, row_key text)
    RETURNS SETOF billing.audit_change
    LANGUAGE plpgsql
    STABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    names text[];
    digits text;
BEGIN
    -- the records name the partition a row is in: a partitioned table's
    -- history is that of its partitions
    SELECT pg_catalog.array_agg(pg_catalog.quote_ident(n.nspname)
                                OPERATOR(pg_catalog.||) '.'
                                OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname))
      INTO names
      FROM (SELECT $1 AS relid
            UNION SELECT t.relid FROM pg_catalog.pg_partition_tree($1) t) p
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.relid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace;
    -- the key's first field, when that is the table's firm_id
    IF EXISTS (SELECT FROM pg_catalog.pg_index i
                 JOIN pg_catalog.pg_attribute a
                   ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                  AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
                WHERE i.indrelid OPERATOR(pg_catalog.=) $1
                  AND i.indisprimary
                  AND a.attname OPERATOR(pg_catalog.=) 'firm_id') THEN
        digits := pg_catalog.substring($2, '^\((-?[0-9]{1,19})[,)]');
    END IF;
    IF digits IS NOT NULL
       AND digits::pg_catalog.numeric OPERATOR(pg_catalog.>=) -9223372036854775808
       AND digits::pg_catalog.numeric OPERATOR(pg_catalog.<=) 9223372036854775807 THEN
        RETURN QUERY
        SELECT l.*
          FROM billing.audit_change l
         WHERE l.firm_id OPERATOR(pg_catalog.=) digits::pg_catalog.int8
           AND l.table_name OPERATOR(pg_catalog.=) ANY (names)
           AND l.row_key OPERATOR(pg_catalog.=) $2
         ORDER BY l.seq, l.item;
    ELSE
        RETURN QUERY
        SELECT l.*
          FROM billing.audit_change l
         WHERE l.table_name OPERATOR(pg_catalog.=) ANY (names)
           AND l.row_key OPERATOR(pg_catalog.=) $2
         ORDER BY l.firm_id, l.seq, l.item;
    END IF;
END
$$;
COMMENT ON FUNCTION billing.history(regclass, text) IS
    'Every recorded change to one row, oldest first; the key is the primary key as a row literal, for example ''(1,42)''; for a partitioned table, the changes in its partitions. Reads only the firm''s chain when the primary key starts with firm_id, else the whole log.';

CREATE FUNCTION billing.history(table_name regclass, firm_id bigint, id bigint)
    RETURNS SETOF billing.audit_change
    LANGUAGE sql
    STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT * FROM billing.history($1,
        pg_catalog.concat('(', $2, ',', $3, ')'))
$$;
COMMENT ON FUNCTION billing.history(regclass, bigint, bigint) IS
    'Every recorded change to the row of a firm table whose primary key is (firm_id, id), oldest first; reads only that firm''s chain.';

CREATE FUNCTION billing.terms_changes(
        period_from timestamptz,
        period_to timestamptz,
        only_firm_id bigint DEFAULT NULL)
    RETURNS TABLE (
        firm_id bigint,
        seq bigint,
        item integer,
        changed_at timestamptz,
        table_name text,
        operation text,
        row_key text,
        old_values jsonb,
        new_values jsonb,
        row_now jsonb,
        staff_id bigint,
        staff_name text,
        current_role_name text,
        reason_code text,
        reason text)
    LANGUAGE sql
    STABLE PARALLEL SAFE
    AS $$
    WITH l AS (
        SELECT l.*,
               pg_catalog.split_part(pg_catalog.btrim(l.row_key, '()'), ',', 2) AS id_text
          FROM billing.audit_change l
         WHERE l.table_name OPERATOR(pg_catalog.=) ANY (ARRAY['billing.rate',
                   'billing.rate_card', 'billing.engagement_rate',
                   'billing.adjustment', 'billing.engagement_version'])
           AND l.statement_time OPERATOR(pg_catalog.>=) $1
           AND l.statement_time OPERATOR(pg_catalog.<) $2
           AND ($3 IS NULL OR (l.firm_id OPERATOR(pg_catalog.=) $3))
    )
    SELECT l.firm_id, l.seq, l.item, l.statement_time, l.table_name, l.operation,
           l.row_key, l.old_values, l.new_values, n.row_now, l.staff_id,
           s.full_name, l.current_role_name,
           coalesce(l.reason_code, n.row_now OPERATOR(pg_catalog.->>) 'reason_code',
                    l.old_values OPERATOR(pg_catalog.->>) 'reason_code'),
           coalesce(l.reason, n.row_now OPERATOR(pg_catalog.->>) 'reason',
                    n.row_now OPERATOR(pg_catalog.->>) 'change_reason',
                    l.old_values OPERATOR(pg_catalog.->>) 'reason',
                    l.old_values OPERATOR(pg_catalog.->>) 'change_reason')
      FROM l
      LEFT JOIN LATERAL (
            SELECT pg_catalog.to_jsonb(x) AS row_now FROM billing.rate x
             WHERE l.table_name OPERATOR(pg_catalog.=) 'billing.rate'
               AND x.firm_id OPERATOR(pg_catalog.=) l.firm_id
               AND x.rate_id::pg_catalog.text OPERATOR(pg_catalog.=) l.id_text
            UNION ALL
            SELECT pg_catalog.to_jsonb(x) FROM billing.rate_card x
             WHERE l.table_name OPERATOR(pg_catalog.=) 'billing.rate_card'
               AND x.firm_id OPERATOR(pg_catalog.=) l.firm_id
               AND x.rate_card_id::pg_catalog.text OPERATOR(pg_catalog.=) l.id_text
            UNION ALL
            SELECT pg_catalog.to_jsonb(x) FROM billing.engagement_rate x
             WHERE l.table_name OPERATOR(pg_catalog.=) 'billing.engagement_rate'
               AND x.firm_id OPERATOR(pg_catalog.=) l.firm_id
               AND x.engagement_rate_id::pg_catalog.text OPERATOR(pg_catalog.=) l.id_text
            UNION ALL
            SELECT pg_catalog.to_jsonb(x) FROM billing.adjustment x
             WHERE l.table_name OPERATOR(pg_catalog.=) 'billing.adjustment'
               AND x.firm_id OPERATOR(pg_catalog.=) l.firm_id
               AND x.adjustment_id::pg_catalog.text OPERATOR(pg_catalog.=) l.id_text
            UNION ALL
            SELECT pg_catalog.to_jsonb(x) FROM billing.engagement_version x
             WHERE l.table_name OPERATOR(pg_catalog.=) 'billing.engagement_version'
               AND x.firm_id OPERATOR(pg_catalog.=) l.firm_id
               AND x.engagement_version_id::pg_catalog.text OPERATOR(pg_catalog.=) l.id_text
      ) n ON true
      LEFT JOIN billing.staff s
             ON s.firm_id OPERATOR(pg_catalog.=) l.firm_id
            AND s.staff_id OPERATOR(pg_catalog.=) l.staff_id
     ORDER BY l.firm_id, l.seq, l.item
$$;
COMMENT ON FUNCTION billing.terms_changes(timestamptz, timestamptz, bigint) IS
    'Every change to rates, rate cards, engagement rates, adjustments (write-ups, write-downs, discounts, write-offs) and engagement terms (versions) in [period_from, period_to), with the row as it is now, who made the change and why (the reason given with the change, else the row''s own reason).';
