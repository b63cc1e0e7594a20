-- 00-extension.sql: the schema, before anything else.
--
-- The schema is created here rather than named in billing.control, for two
-- reasons.  A schema made by CREATE EXTENSION is not a member of the
-- extension, so DROP EXTENSION would leave it behind; and a schema that
-- already exists would be used as it is, whoever owns it.  Creating it here
-- makes it a member, and fails loudly if somebody made a "billing" schema
-- first.  The control file names pg_catalog as the extension's schema, so
-- every object below is qualified with "billing." explicitly.

CREATE SCHEMA billing;

COMMENT ON SCHEMA billing IS
    'billing: engagements, terms, WIP, invoices, payments and their audit trail';
