-- The extension installs into its own schema and drops cleanly.
SELECT extname, extversion, extrelocatable, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'billing';
DROP EXTENSION billing;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'billing';
CREATE EXTENSION billing;
SELECT extname FROM pg_extension WHERE extname = 'billing';
