-- 95-audit-attach.sql: put every firm table of the extension under audit.
--
-- This file runs last, so every table created before it that has a firm_id
-- column gets the audit trigger, whichever part of the model made it; a
-- table added later in a new file is covered without listing it here.
-- The audit log itself is sealed by its own chain and is left out.
-- Partitions inherit the trigger from their partitioned table.

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
         WHERE n.nspname OPERATOR(pg_catalog.=) 'billing'
           AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition
           AND c.relname OPERATOR(pg_catalog.<>) 'audit_log'
           AND a.attname OPERATOR(pg_catalog.=) 'firm_id'
           AND a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.int8'::pg_catalog.regtype
           AND NOT a.attisdropped
         ORDER BY c.relname
    LOOP
        PERFORM billing.audit_table(t);
    END LOOP;
END
$$;
