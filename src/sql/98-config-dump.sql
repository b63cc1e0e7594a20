-- 98-config-dump.sql: tell pg_dump which tables hold user data.
--
-- Rows of an extension's tables are left out of a dump unless the extension
-- registers them.  Every table that carries firm_id holds a firm's data and
-- every sequence of the schema numbers such rows, so all of them are
-- registered here, in one place, rather than table by table where one could
-- be forgotten.  Reference tables without firm_id (currencies, workflow
-- definitions) are rebuilt by CREATE EXTENSION and are not dumped.  Each
-- registration updates the extension's catalog row, so they are made one
-- statement at a time.
DO $$
DECLARE
    rel pg_catalog.regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'billing'::pg_catalog.regnamespace
           AND (c.relkind OPERATOR(pg_catalog.=) 'S'
                OR (c.relkind OPERATOR(pg_catalog.=) 'r'
                    AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
                                   AND a.attname OPERATOR(pg_catalog.=) 'firm_id'
                                   AND NOT a.attisdropped)))
         ORDER BY c.oid
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(rel, '');
    END LOOP;
END
$$;
