-- Who acts: one rule for the workflow trigger and for the functions that
-- record who proposed or approved something (billing.acting_staff_id).
\set VERBOSITY terse
SET client_min_messages = warning;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (131, 'Acting Test LLP', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level, role_name, active) VALUES
    (131, 1, 'Pat Partner', 'partner', 'billing_test_pat', true),
    (131, 2, 'Max Manager', 'manager', NULL, true),
    (131, 3, 'Lee Left', 'staff', NULL, false);
CREATE ROLE billing_test_pat;
CREATE ROLE billing_test_app;
GRANT USAGE ON SCHEMA billing TO billing_test_pat, billing_test_app;

-- Given as an argument, the staff member acts.
SELECT billing.acting_staff_id(131, 2) AS given;
-- Else the transaction-local setting names them.
BEGIN;
SET LOCAL billing.staff_id = '2';
SELECT billing.acting_staff_id(131) AS from_setting;
COMMIT;
-- Else the role mapped in billing.staff.role_name.
SET ROLE billing_test_pat;
SELECT billing.acting_staff_id(131) AS from_role;
-- A role mapped to one person cannot act as another.
SELECT billing.acting_staff_id(131, 2);
RESET ROLE;
-- An application role that is nobody acts only for whom it names.
SET ROLE billing_test_app;
SELECT billing.acting_staff_id(131);
SELECT billing.acting_staff_id(131, 2) AS app_for_manager;
RESET ROLE;
-- Someone who left, or someone of another firm, cannot act.
SELECT billing.acting_staff_id(131, 3);
SELECT billing.acting_staff_id(131, 999);
SELECT billing.acting_staff_id(NULL) IS NULL AS no_firm_no_actor;

REVOKE USAGE ON SCHEMA billing FROM billing_test_pat, billing_test_app;
DROP ROLE billing_test_pat;
DROP ROLE billing_test_app;
