-- Installing, dropping and reinstalling billing, including against a
-- database prepared by somebody hostile.
BEGIN;
SELECT plan(9);

SELECT has_schema('billing');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'billing'), '0.1.0',
          'the installed version is the default version');

-- DROP EXTENSION removes every object it made, the schema included.
DROP EXTENSION billing;
SELECT hasnt_schema('billing', 'DROP EXTENSION removes the billing schema');
SELECT is((SELECT count(*)::int FROM pg_type WHERE typname = 'amount'
             AND typnamespace NOT IN ('pg_catalog'::regnamespace)), 0,
          'DROP EXTENSION removes the amount type');

-- A schema named billing that somebody made first is not adopted: the
-- install fails instead of putting our objects in a schema they control.
CREATE ROLE billing_test_mallory;
CREATE SCHEMA billing AUTHORIZATION billing_test_mallory;
SELECT throws_ok('CREATE EXTENSION billing', '42P06', NULL,
                 'a billing schema owned by someone else stops the install');
DROP SCHEMA billing;
DROP ROLE billing_test_mallory;

-- A hostile search_path that shadows the built-in functions and operators
-- the model uses does not capture the install or later writes.
CREATE SCHEMA evil;
CREATE FUNCTION evil.btrim(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
CREATE FUNCTION evil.text_eq(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
-- The statements run with the hostile path; the assertions do not, so that
-- pgTAP's own code is not captured.
CREATE FUNCTION pg_temp.as_victim(statement text) RETURNS void
    LANGUAGE plpgsql SET search_path = evil, public, pg_catalog
    AS $$ BEGIN EXECUTE statement; END $$;
SELECT lives_ok($$SELECT pg_temp.as_victim('CREATE EXTENSION billing')$$,
                'billing installs under a hostile search_path');
SELECT lives_ok($$SELECT pg_temp.as_victim('INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (9, ''Nine'', ''USD'')')$$,
                'a firm can be created under a hostile search_path');
SELECT throws_ok($$SELECT pg_temp.as_victim('INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (10, ''  '', ''USD'')')$$,
                 '23514', NULL, 'the name check still uses the real btrim');
SELECT throws_ok($$SELECT pg_temp.as_victim('INSERT INTO billing.staff (firm_id, full_name, level) VALUES (9, '' '', ''staff'')')$$,
                 '23514', NULL, 'checks keep their meaning whatever the search_path');

SELECT * FROM finish();
ROLLBACK;
