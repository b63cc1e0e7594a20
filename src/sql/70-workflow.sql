-- 70-workflow.sql: the workflow engine: workflows, their states and allowed
-- transitions as catalog tables; the C trigger that enforces them on any
-- table's state column; the state history every move writes; frozen
-- records; and the functions apps call (doc/workflow.md).
--
-- The catalog tables hold the product's rules, the same for every firm, so
-- they carry no firm_id (under Citus they are reference tables).  Rows the
-- extension ships are marked shipped and come back with CREATE EXTENSION;
-- rows a user adds are dumped by pg_dump.

CREATE TABLE billing.workflow (
    workflow        text NOT NULL CHECK (workflow ~ '^[a-z][a-z0-9_]*$' AND length(workflow) < 64),
    description     text NOT NULL,
    shipped         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workflow)
);
COMMENT ON TABLE billing.workflow IS
    'A workflow: a state machine that billing enforces on the state column of the tables it is attached to.';
COMMENT ON COLUMN billing.workflow.workflow IS 'Name of the workflow, usually the entity it governs (invoice, wip_entry).';
COMMENT ON COLUMN billing.workflow.description IS 'What the workflow governs, in the firm''s words.';
COMMENT ON COLUMN billing.workflow.shipped IS 'True for definitions installed by the extension; false for ones a user added (those are kept by pg_dump).';

CREATE TABLE billing.workflow_state (
    workflow        text NOT NULL REFERENCES billing.workflow ON UPDATE CASCADE ON DELETE CASCADE,
    state           text NOT NULL CHECK (state ~ '^[a-z][a-z0-9_]*$'),
    is_initial      boolean NOT NULL DEFAULT false,
    is_final        boolean NOT NULL DEFAULT false,
    freezes         boolean NOT NULL DEFAULT false,
    description     text,
    shipped         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workflow, state)
);
COMMENT ON TABLE billing.workflow_state IS
    'The states of each workflow, with whether a record may start there, whether it is final, and whether it freezes the record.';
COMMENT ON COLUMN billing.workflow_state.workflow IS 'The workflow the state belongs to.';
COMMENT ON COLUMN billing.workflow_state.state IS 'Name of the state, as stored in the state column of the entity.';
COMMENT ON COLUMN billing.workflow_state.is_initial IS 'True if a new record may be created in this state.';
COMMENT ON COLUMN billing.workflow_state.is_final IS 'True if no transition should leave this state (documentation; the transitions decide).';
COMMENT ON COLUMN billing.workflow_state.freezes IS 'True if a record in this state, and its children, can no longer be changed or deleted.';
COMMENT ON COLUMN billing.workflow_state.description IS 'What the state means for the people who work with it.';
COMMENT ON COLUMN billing.workflow_state.shipped IS 'True for states installed by the extension.';

CREATE TABLE billing.workflow_transition (
    workflow        text NOT NULL,
    from_state      text NOT NULL,
    to_state        text NOT NULL,
    min_level       billing.staff_level,
    role_name       name,
    billing_admin   boolean NOT NULL DEFAULT false,
    reason_required boolean NOT NULL DEFAULT false,
    guard           text,
    guard_rule      text,
    segregation_column name,
    description     text,
    shipped         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workflow, from_state, to_state),
    FOREIGN KEY (workflow, from_state) REFERENCES billing.workflow_state ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (workflow, to_state) REFERENCES billing.workflow_state ON UPDATE CASCADE ON DELETE CASCADE,
    CHECK (from_state <> to_state),
    CHECK (guard IS NULL OR guard_rule IS NOT NULL)
);
COMMENT ON TABLE billing.workflow_transition IS
    'The allowed moves of each workflow: who may make them, whether a reason is required, what must be true first. A move not listed here is refused.';
COMMENT ON COLUMN billing.workflow_transition.workflow IS 'The workflow the move belongs to.';
COMMENT ON COLUMN billing.workflow_transition.from_state IS 'State the record is in.';
COMMENT ON COLUMN billing.workflow_transition.to_state IS 'State the record moves to.';
COMMENT ON COLUMN billing.workflow_transition.min_level IS 'Lowest staff level allowed to make the move; NULL for anyone.';
COMMENT ON COLUMN billing.workflow_transition.role_name IS 'Database role whose members (and only they) may make the move; NULL for any role.';
COMMENT ON COLUMN billing.workflow_transition.billing_admin IS 'True if only billing admins may make the move.';
COMMENT ON COLUMN billing.workflow_transition.reason_required IS 'True if the move needs a reason code (argument of billing.move, or billing.reason_code).';
COMMENT ON COLUMN billing.workflow_transition.guard IS 'Signature of a function (firm_id bigint, entity_id bigint) RETURNS boolean that must return true for the move, e.g. ''billing.invoice_wip_approved(bigint,bigint)''.';
COMMENT ON COLUMN billing.workflow_transition.guard_rule IS 'What the guard checks, in words; the error detail quotes it.';
COMMENT ON COLUMN billing.workflow_transition.segregation_column IS 'Column of the entity naming the staff member who prepared it; that person may not make this move (segregation of duties).';
COMMENT ON COLUMN billing.workflow_transition.description IS 'What the move means for the firm.';
COMMENT ON COLUMN billing.workflow_transition.shipped IS 'True for moves installed by the extension.';

-- What "complete", "billable", "ready to invoice" and "approved" mean, as
-- data: each meaning is a set of states of each workflow.
CREATE TABLE billing.workflow_meaning (
    meaning         text NOT NULL CHECK (meaning ~ '^[a-z][a-z0-9_]*$'),
    description     text NOT NULL,
    shipped         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (meaning)
);
COMMENT ON TABLE billing.workflow_meaning IS
    'Words the firm uses about records in many workflows (complete, billable, ready to invoice, approved), defined once.';
COMMENT ON COLUMN billing.workflow_meaning.meaning IS 'The word, as code.';
COMMENT ON COLUMN billing.workflow_meaning.description IS 'What it means.';
COMMENT ON COLUMN billing.workflow_meaning.shipped IS 'True for meanings installed by the extension.';

CREATE TABLE billing.workflow_state_meaning (
    workflow        text NOT NULL,
    state           text NOT NULL,
    meaning         text NOT NULL REFERENCES billing.workflow_meaning ON UPDATE CASCADE ON DELETE CASCADE,
    shipped         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workflow, state, meaning),
    FOREIGN KEY (workflow, state) REFERENCES billing.workflow_state ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE billing.workflow_state_meaning IS
    'Which states of which workflow carry which meaning: a WIP entry is billable in these states, an invoice approved in those.';
COMMENT ON COLUMN billing.workflow_state_meaning.workflow IS 'The workflow.';
COMMENT ON COLUMN billing.workflow_state_meaning.state IS 'A state of the workflow.';
COMMENT ON COLUMN billing.workflow_state_meaning.meaning IS 'A meaning the state carries.';
COMMENT ON COLUMN billing.workflow_state_meaning.shipped IS 'True for rows installed by the extension.';

SELECT pg_catalog.pg_extension_config_dump('billing.workflow', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('billing.workflow_state', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('billing.workflow_transition', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('billing.workflow_meaning', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('billing.workflow_state_meaning', 'WHERE NOT shipped');

-- The rules are the product's and not secret: anyone may read them (apps
-- show them, billing.enforce_workflow checks against them).  Changing them
-- stays with the extension's owner and whom it grants.
GRANT SELECT ON billing.workflow, billing.workflow_state, billing.workflow_transition,
    billing.workflow_meaning, billing.workflow_state_meaning TO PUBLIC;

-- Every move, with who made it and why.  Firm data: leads with firm_id.
CREATE SEQUENCE billing.state_history_id_seq;

CREATE TABLE billing.state_history (
    firm_id         bigint NOT NULL,
    state_history_id bigint NOT NULL DEFAULT nextval('billing.state_history_id_seq'),
    entity          text NOT NULL,
    entity_id       bigint NOT NULL,
    workflow        text NOT NULL,
    from_state      text,
    to_state        text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    staff_id        bigint,
    role_name       name NOT NULL,
    reason_code     text,
    reason          text,
    PRIMARY KEY (firm_id, state_history_id)
);
ALTER SEQUENCE billing.state_history_id_seq OWNED BY billing.state_history.state_history_id;
-- No index by record: every move writes a history row, and a second index
-- in random order (firm, record) doubled what the trigger costs per move
-- (doc/performance.md).  The primary key grows at its right edge; reports
-- over a firm's history read it in order, and billing.state_interval
-- partitions by record in memory.  doc/limitations.md says how to add the
-- index where single records are looked up often.

COMMENT ON TABLE billing.state_history IS
    'Every change of state of every record under a workflow: when, who, why. Written by the workflow trigger; append-only.';
COMMENT ON COLUMN billing.state_history.firm_id IS 'The firm the record belongs to.';
COMMENT ON COLUMN billing.state_history.state_history_id IS 'Identifies the move; increases with time within a firm.';
COMMENT ON COLUMN billing.state_history.entity IS 'Schema-qualified table of the record (billing.invoice).';
COMMENT ON COLUMN billing.state_history.entity_id IS 'Id of the record in its table.';
COMMENT ON COLUMN billing.state_history.workflow IS 'Workflow that allowed the move.';
COMMENT ON COLUMN billing.state_history.from_state IS 'State before the move; NULL when the record was created.';
COMMENT ON COLUMN billing.state_history.to_state IS 'State after the move.';
COMMENT ON COLUMN billing.state_history.changed_at IS 'Start of the transaction that made the move.';
COMMENT ON COLUMN billing.state_history.staff_id IS 'Staff member who made the move (billing.staff_id, or the one mapped to the role); NULL if none could be found.';
COMMENT ON COLUMN billing.state_history.role_name IS 'Database role that made the move.';
COMMENT ON COLUMN billing.state_history.reason_code IS 'Reason code given for the move, if any.';
COMMENT ON COLUMN billing.state_history.reason IS 'Free-text reason given for the move, if any.';

SELECT pg_catalog.pg_extension_config_dump('billing.state_history', '');
SELECT pg_catalog.pg_extension_config_dump('billing.state_history_id_seq', '');

-- The C triggers.
CREATE FUNCTION billing.workflow_trigger() RETURNS trigger
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'workflow_trigger';
COMMENT ON FUNCTION billing.workflow_trigger() IS
    'Trigger enforcing a workflow on a table''s state column and writing state history; attach with billing.enforce_workflow().';

CREATE FUNCTION billing.workflow_catalog_changed() RETURNS trigger
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'workflow_catalog_changed';
COMMENT ON FUNCTION billing.workflow_catalog_changed() IS
    'Statement trigger on the workflow catalog: every backend drops its cached workflows at its next statement after the change commits.';

CREATE FUNCTION billing.frozen_row() RETURNS trigger
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'frozen_row';
COMMENT ON FUNCTION billing.frozen_row() IS
    'Trigger refusing UPDATE and DELETE of a record whose state freezes it; attach with billing.freeze_records().';

CREATE FUNCTION billing.frozen_child() RETURNS trigger
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'frozen_child';
COMMENT ON FUNCTION billing.frozen_child() IS
    'Trigger refusing INSERT, UPDATE and DELETE of a row whose parent is frozen; attach with billing.freeze_children().';

CREATE FUNCTION billing.append_only() RETURNS trigger
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'append_only';
COMMENT ON FUNCTION billing.append_only() IS
    'Trigger refusing UPDATE, DELETE or TRUNCATE outright: keeps the state history append-only and tables of frozen records from being truncated.';

CREATE TRIGGER billing_workflow_catalog_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.workflow
    FOR EACH STATEMENT EXECUTE FUNCTION billing.workflow_catalog_changed();
CREATE TRIGGER billing_workflow_catalog_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.workflow_state
    FOR EACH STATEMENT EXECUTE FUNCTION billing.workflow_catalog_changed();
CREATE TRIGGER billing_workflow_catalog_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.workflow_transition
    FOR EACH STATEMENT EXECUTE FUNCTION billing.workflow_catalog_changed();

-- The triggers keep the acting staff member between statements; a change to
-- staff (a level, a role, a departure) must reach every backend the same way
-- a change of rules does.
CREATE TRIGGER billing_workflow_staff_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.staff
    FOR EACH STATEMENT EXECUTE FUNCTION billing.workflow_catalog_changed();

CREATE TRIGGER billing_append_only
    BEFORE UPDATE OR DELETE ON billing.state_history
    FOR EACH ROW EXECUTE FUNCTION billing.append_only();
CREATE TRIGGER billing_append_only_truncate
    BEFORE TRUNCATE ON billing.state_history
    FOR EACH STATEMENT EXECUTE FUNCTION billing.append_only();
ALTER TABLE billing.state_history ENABLE ALWAYS TRIGGER billing_append_only;
ALTER TABLE billing.state_history ENABLE ALWAYS TRIGGER billing_append_only_truncate;

-- A guard must exist and take (firm_id, entity_id) when the rule is saved,
-- not at the first move that needs it.
CREATE FUNCTION billing.workflow_transition_check() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF NEW.guard IS NOT NULL THEN
        fn := pg_catalog.to_regprocedure(NEW.guard);
        IF fn IS NULL THEN
            RAISE EXCEPTION 'guard % of workflow % transition % -> % does not exist',
                NEW.guard, NEW.workflow, NEW.from_state, NEW.to_state
                USING ERRCODE = 'undefined_function',
                      HINT = 'Create the function first, and name it with its argument types, e.g. ''billing.my_guard(bigint,bigint)''.';
        END IF;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
                        WHERE p.oid OPERATOR(pg_catalog.=) fn
                          AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.bool'::pg_catalog.regtype
                          AND p.pronargs OPERATOR(pg_catalog.=) 2
                          AND p.proargtypes[0] OPERATOR(pg_catalog.=) 'pg_catalog.int8'::pg_catalog.regtype
                          AND p.proargtypes[1] OPERATOR(pg_catalog.=) 'pg_catalog.int8'::pg_catalog.regtype) THEN
            RAISE EXCEPTION 'guard % of workflow % transition % -> % must take (bigint, bigint) and return boolean',
                NEW.guard, NEW.workflow, NEW.from_state, NEW.to_state
                USING ERRCODE = 'invalid_function_definition',
                      DETAIL = 'The workflow trigger calls a guard with the record''s firm_id and id.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION billing.workflow_transition_check() IS
    'Trigger on billing.workflow_transition: a guard must exist and take (firm_id bigint, entity_id bigint) returning boolean.';

CREATE TRIGGER billing_workflow_transition_check
    BEFORE INSERT OR UPDATE OF guard ON billing.workflow_transition
    FOR EACH ROW EXECUTE FUNCTION billing.workflow_transition_check();

-- Which tables have which workflow: read from the triggers themselves, so
-- it cannot disagree with what is enforced.
CREATE VIEW billing.workflow_attachment AS
SELECT t.tgrelid::pg_catalog.regclass AS entity,
       (pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000'))[1] AS workflow,
       (pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000'))[2]::name AS state_column,
       (pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000'))[3]::name AS id_column,
       t.tgname AS trigger_name
  FROM pg_catalog.pg_trigger t
 WHERE t.tgfoid OPERATOR(pg_catalog.=) 'billing.workflow_trigger()'::pg_catalog.regprocedure;
GRANT SELECT ON billing.workflow_attachment TO PUBLIC;
COMMENT ON VIEW billing.workflow_attachment IS
    'Tables under a workflow: which workflow governs which state column, and the column that identifies a record.';
COMMENT ON COLUMN billing.workflow_attachment.entity IS 'The table.';
COMMENT ON COLUMN billing.workflow_attachment.workflow IS 'The workflow enforced on it.';
COMMENT ON COLUMN billing.workflow_attachment.state_column IS 'Its state column.';
COMMENT ON COLUMN billing.workflow_attachment.id_column IS 'The column that, with firm_id, identifies a record.';
COMMENT ON COLUMN billing.workflow_attachment.trigger_name IS 'The trigger that enforces it.';

CREATE FUNCTION billing.enforce_workflow(entity regclass, state_column name,
                                         workflow text, id_column name DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id_col name := coalesce(id_column, (SELECT c.relname FROM pg_catalog.pg_class c
                                         WHERE c.oid OPERATOR(pg_catalog.=) entity) || '_id');
BEGIN
    IF entity IS NULL OR state_column IS NULL OR workflow IS NULL THEN
        RAISE EXCEPTION 'billing.enforce_workflow needs a table, a state column and a workflow'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM billing.workflow w WHERE w.workflow OPERATOR(pg_catalog.=) enforce_workflow.workflow) THEN
        RAISE EXCEPTION 'workflow "%" does not exist', workflow
            USING ERRCODE = 'undefined_object',
                  HINT = 'Define it in billing.workflow and billing.workflow_state first.';
    END IF;
    PERFORM billing.workflow_check_column(entity, state_column, 'pg_catalog.text', 'state column');
    PERFORM billing.workflow_check_column(entity, id_col, 'pg_catalog.int8', 'id column');
    PERFORM billing.workflow_check_column(entity, 'firm_id', 'pg_catalog.int8', 'firm key');
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %I ON %s FOR EACH ROW'
        ' EXECUTE FUNCTION billing.workflow_trigger(%L, %L, %L)',
        'billing_workflow_' OPERATOR(pg_catalog.||) state_column, state_column,
        entity, workflow, state_column, id_col);
END
$$;
COMMENT ON FUNCTION billing.enforce_workflow(regclass, name, text, name) IS
    'Attach a workflow to a table''s state column: every INSERT and every change of state is checked and recorded. The id column defaults to <table>_id; the table needs firm_id bigint.';

CREATE FUNCTION billing.workflow_check_column(entity regclass, column_name name,
                                              type regtype, what text)
    RETURNS void
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actual regtype;
BEGIN
    SELECT a.atttypid::regtype INTO actual
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) entity
       AND a.attname OPERATOR(pg_catalog.=) column_name
       AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % of table % does not exist', column_name, entity
            USING ERRCODE = 'undefined_column',
                  DETAIL = pg_catalog.format('It was named as the %s.', what);
    END IF;
    IF actual OPERATOR(pg_catalog.<>) type THEN
        RAISE EXCEPTION 'column % of table % is of type %, not %', column_name, entity, actual, type
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = pg_catalog.format('It was named as the %s.', what);
    END IF;
END
$$;
COMMENT ON FUNCTION billing.workflow_check_column(regclass, name, regtype, text) IS
    'Raise an error unless the table has the column with the type; used when attaching workflows and freezes.';

CREATE FUNCTION billing.freeze_records(entity regclass, workflow text,
                                       state_column name DEFAULT 'state',
                                       id_column name DEFAULT NULL,
                                       still_mutable name[] DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id_col name := coalesce(id_column, (SELECT c.relname FROM pg_catalog.pg_class c
                                         WHERE c.oid OPERATOR(pg_catalog.=) entity) || '_id');
    args text := '';
    col name;
BEGIN
    IF entity IS NULL OR workflow IS NULL OR state_column IS NULL THEN
        RAISE EXCEPTION 'billing.freeze_records needs a table, a workflow and a state column'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM billing.workflow w WHERE w.workflow OPERATOR(pg_catalog.=) freeze_records.workflow) THEN
        RAISE EXCEPTION 'workflow "%" does not exist', workflow
            USING ERRCODE = 'undefined_object',
                  HINT = 'Define it in billing.workflow and billing.workflow_state first.';
    END IF;
    PERFORM billing.workflow_check_column(entity, state_column, 'pg_catalog.text', 'state column');
    PERFORM billing.workflow_check_column(entity, id_col, 'pg_catalog.int8', 'id column');
    FOREACH col IN ARRAY coalesce(still_mutable, '{}') LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid OPERATOR(pg_catalog.=) entity
                          AND a.attname OPERATOR(pg_catalog.=) col AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of table % does not exist', col, entity
                USING ERRCODE = 'undefined_column',
                      DETAIL = 'It was named as still mutable once frozen.';
        END IF;
        args := args OPERATOR(pg_catalog.||) pg_catalog.format(', %L', col);
    END LOOP;
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER billing_frozen BEFORE UPDATE OR DELETE ON %s FOR EACH ROW'
        ' EXECUTE FUNCTION billing.frozen_row(%L, %L, %L%s)',
        entity, workflow, state_column, id_col, args);
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER billing_frozen', entity);
    PERFORM billing.refuse_truncate(entity);
END
$$;
COMMENT ON FUNCTION billing.freeze_records(regclass, text, name, name, name[]) IS
    'Freeze the records of a table once their state freezes (billing.workflow_state.freezes): UPDATE (but of the state and the still mutable columns), DELETE and TRUNCATE are refused, for every role.';

CREATE FUNCTION billing.refuse_truncate(entity regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid OPERATOR(pg_catalog.=) entity
                      AND t.tgname OPERATOR(pg_catalog.=) 'billing_frozen_truncate') THEN
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER billing_frozen_truncate BEFORE TRUNCATE ON %s'
            ' FOR EACH STATEMENT EXECUTE FUNCTION billing.append_only()', entity);
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER billing_frozen_truncate', entity);
    END IF;
END
$$;
COMMENT ON FUNCTION billing.refuse_truncate(regclass) IS
    'Refuse TRUNCATE of a table, for every role (used by billing.freeze_records and billing.freeze_children).';

CREATE FUNCTION billing.freeze_children(child regclass, parent regclass)
    RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_name text;
    parent_rel name;
BEGIN
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname
      INTO parent_name, parent_rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) parent;
    IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint k
         WHERE k.conrelid OPERATOR(pg_catalog.=) child
           AND k.confrelid OPERATOR(pg_catalog.=) parent
           AND k.contype OPERATOR(pg_catalog.=) 'f') OPERATOR(pg_catalog.<>) 1 THEN
        RAISE EXCEPTION 'table % must have exactly one foreign key to %', child, parent
            USING ERRCODE = 'invalid_object_definition',
                  DETAIL = 'A child row is frozen with the parent row that key points at.';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW'
        ' EXECUTE FUNCTION billing.frozen_child(%L)',
        'billing_frozen_with_' OPERATOR(pg_catalog.||) parent_rel, child, parent_name);
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', child,
                              'billing_frozen_with_' OPERATOR(pg_catalog.||) parent_rel);
    PERFORM billing.refuse_truncate(child);
END
$$;
COMMENT ON FUNCTION billing.freeze_children(regclass, regclass) IS
    'Freeze the rows of a child table with their parent (through its one foreign key to it): while the parent is frozen, its children cannot be added, changed or deleted; TRUNCATE is refused.';

-- What apps call.
CREATE FUNCTION billing.next_states(entity regclass, firm_id bigint, entity_id bigint)
    RETURNS TABLE (to_state text, reason_required boolean, guard_rule text, guard_met boolean)
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'workflow_next_states';
COMMENT ON FUNCTION billing.next_states(regclass, bigint, bigint) IS
    'The moves open to the acting staff member from the record''s current state (role, level, billing admin and segregation of duties judged as the trigger judges them), whether each needs a reason, and whether its rule is met now.';

CREATE FUNCTION billing.move(entity regclass, firm_id bigint, entity_id bigint,
                             to_state text, reason_code text DEFAULT NULL,
                             reason text DEFAULT NULL, staff_id bigint DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
    previous text;
    found_rows bigint;
    saved_staff text := pg_catalog.current_setting('billing.staff_id', true);
    saved_code text := pg_catalog.current_setting('billing.reason_code', true);
    saved_reason text := pg_catalog.current_setting('billing.reason', true);
BEGIN
    IF entity IS NULL OR firm_id IS NULL OR entity_id IS NULL OR to_state IS NULL THEN
        RAISE EXCEPTION 'billing.move needs a table, a firm, a record id and a state'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT w.state_column, w.id_column INTO a
      FROM billing.workflow_attachment w
     WHERE w.entity OPERATOR(pg_catalog.=) move.entity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no workflow', entity
            USING ERRCODE = 'undefined_object',
                  HINT = 'Attach one with billing.enforce_workflow().';
    END IF;

    -- The arguments reach the trigger the way a plain UPDATE's do: as
    -- transaction-local settings, put back as they were afterwards.
    IF staff_id IS NOT NULL THEN
        PERFORM pg_catalog.set_config('billing.staff_id', staff_id::text, true);
    END IF;
    IF reason_code IS NOT NULL THEN
        PERFORM pg_catalog.set_config('billing.reason_code', reason_code, true);
    END IF;
    IF reason IS NOT NULL THEN
        PERFORM pg_catalog.set_config('billing.reason', reason, true);
    END IF;

    EXECUTE pg_catalog.format('SELECT %I FROM %s WHERE firm_id OPERATOR(pg_catalog.=) $1'
                              ' AND %I OPERATOR(pg_catalog.=) $2 FOR UPDATE',
                              a.state_column, entity, a.id_column)
       INTO previous USING firm_id, entity_id;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION '% % of firm % does not exist', entity, entity_id, firm_id
            USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE pg_catalog.format('UPDATE %s SET %I = $1 WHERE firm_id OPERATOR(pg_catalog.=) $2'
                              ' AND %I OPERATOR(pg_catalog.=) $3',
                              entity, a.state_column, a.id_column)
       USING to_state, firm_id, entity_id;

    PERFORM pg_catalog.set_config('billing.staff_id', coalesce(saved_staff, ''), true);
    PERFORM pg_catalog.set_config('billing.reason_code', coalesce(saved_code, ''), true);
    PERFORM pg_catalog.set_config('billing.reason', coalesce(saved_reason, ''), true);
    RETURN previous;
END
$$;
COMMENT ON FUNCTION billing.move(regclass, bigint, bigint, text, text, text, bigint) IS
    'Move a record to a state, with a reason code and reason, acting as the given staff member (default: billing.staff_id, else the one mapped to the current role); returns the state it left. The workflow trigger judges the move.';

-- Meanings, for guards, views and apps.
CREATE FUNCTION billing.state_means(workflow text, state text, meaning text)
    RETURNS boolean
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.workflow_state_meaning m
                    WHERE m.workflow OPERATOR(pg_catalog.=) $1
                      AND m.state OPERATOR(pg_catalog.=) $2
                      AND m.meaning OPERATOR(pg_catalog.=) $3)
$$;
COMMENT ON FUNCTION billing.state_means(text, text, text) IS
    'True if the state of the workflow carries the meaning (complete, billable, ready_to_invoice, approved).';

CREATE FUNCTION billing.states_meaning(workflow text, meaning text)
    RETURNS text[]
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(pg_catalog.array_agg(m.state ORDER BY m.state), '{}')
      FROM billing.workflow_state_meaning m
     WHERE m.workflow OPERATOR(pg_catalog.=) $1
       AND m.meaning OPERATOR(pg_catalog.=) $2
$$;
COMMENT ON FUNCTION billing.states_meaning(text, text) IS
    'The states of the workflow that carry the meaning, e.g. billing.states_meaning(''wip_entry'', ''billable'').';

-- Time spent in each state: cycle times and queue latencies as a query.
CREATE VIEW billing.state_interval AS
SELECT h.firm_id, h.entity, h.entity_id, h.workflow,
       h.to_state AS state,
       h.changed_at AS entered_at,
       pg_catalog.lead(h.changed_at) OVER w AS left_at,
       pg_catalog.lead(h.to_state) OVER w AS next_state,
       pg_catalog.lead(h.changed_at) OVER w OPERATOR(pg_catalog.-) h.changed_at AS time_in_state,
       h.staff_id AS entered_by,
       pg_catalog.lead(h.staff_id) OVER w AS left_by
  FROM billing.state_history h
WINDOW w AS (PARTITION BY h.firm_id, h.entity, h.entity_id ORDER BY h.state_history_id);
COMMENT ON VIEW billing.state_interval IS
    'Each stay of a record in a state: when it entered and left, what came next, how long it stayed, who moved it in and out. Queue latency is time_in_state of a waiting state.';
COMMENT ON COLUMN billing.state_interval.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.state_interval.entity IS 'Table of the record.';
COMMENT ON COLUMN billing.state_interval.entity_id IS 'Id of the record.';
COMMENT ON COLUMN billing.state_interval.workflow IS 'Its workflow.';
COMMENT ON COLUMN billing.state_interval.state IS 'The state it stayed in.';
COMMENT ON COLUMN billing.state_interval.entered_at IS 'When it entered the state.';
COMMENT ON COLUMN billing.state_interval.left_at IS 'When it left; NULL while it is still there.';
COMMENT ON COLUMN billing.state_interval.next_state IS 'The state it moved to; NULL while it is still there.';
COMMENT ON COLUMN billing.state_interval.time_in_state IS 'left_at minus entered_at; NULL while it is still there.';
COMMENT ON COLUMN billing.state_interval.entered_by IS 'Staff member who moved it into the state.';
COMMENT ON COLUMN billing.state_interval.left_by IS 'Staff member who moved it out.';
