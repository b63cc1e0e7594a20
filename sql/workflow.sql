-- The workflow engine on tables of this test's own: every rule of the
-- trigger (unknown state, forbidden move, role, level, billing admin,
-- unknown actor, reason, segregation of duties, guard), the state history,
-- billing.move() and billing.next_states(), and a rule changed mid-session.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE ROLE regress_wf_partner;
CREATE ROLE regress_wf_senior;
CREATE ROLE regress_wf_nobody;
CREATE ROLE regress_wf_reviewers;
GRANT regress_wf_reviewers TO regress_wf_partner;
GRANT USAGE ON SCHEMA billing TO regress_wf_partner, regress_wf_senior, regress_wf_nobody;


-- Ids are given, not drawn from sequences, so that the messages below do
-- not depend on which other tests ran first.
\set firm 7001
\set partner 7101
\set senior 7102
\set manager 7103
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (:firm, 'Workflow test firm', 'EUR');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level, is_billing_admin, role_name) VALUES
    (:firm, :partner, 'Pat Partner', 'partner', true, 'regress_wf_partner'),
    (:firm, :senior, 'Sam Senior', 'senior', false, 'regress_wf_senior'),
    (:firm, :manager, 'Mel Manager', 'manager', false, NULL);

-- A workflow of our own, as data.
INSERT INTO billing.workflow (workflow, description) VALUES ('regress_doc', 'A document for the tests');
INSERT INTO billing.workflow_state (workflow, state, is_initial, is_final, freezes) VALUES
    ('regress_doc', 'draft', true, false, false),
    ('regress_doc', 'review', false, false, false),
    ('regress_doc', 'approved', false, false, false),
    ('regress_doc', 'finalized', false, false, true),
    ('regress_doc', 'void', false, true, true);

CREATE TABLE public.regress_doc (
    firm_id bigint NOT NULL,
    regress_doc_id bigint NOT NULL,
    state text NOT NULL DEFAULT 'draft',
    prepared_by bigint,
    title text,
    sent_at timestamptz,
    PRIMARY KEY (firm_id, regress_doc_id)
);
CREATE TABLE public.regress_doc_line (
    firm_id bigint NOT NULL,
    regress_doc_line_id bigint NOT NULL,
    regress_doc_id bigint NOT NULL,
    amount numeric NOT NULL,
    PRIMARY KEY (firm_id, regress_doc_line_id),
    FOREIGN KEY (firm_id, regress_doc_id) REFERENCES public.regress_doc
);
CREATE TABLE public.regress_doc_link (
    firm_id bigint NOT NULL,
    regress_doc_link_id bigint NOT NULL,
    regress_doc_line_id bigint NOT NULL,
    taken numeric NOT NULL,
    PRIMARY KEY (firm_id, regress_doc_link_id),
    FOREIGN KEY (firm_id, regress_doc_line_id) REFERENCES public.regress_doc_line
);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.regress_doc, public.regress_doc_line, public.regress_doc_link
    TO regress_wf_partner, regress_wf_senior, regress_wf_nobody;

CREATE FUNCTION public.regress_doc_has_lines(firm bigint, doc bigint) RETURNS boolean
    LANGUAGE sql STABLE AS
$$ SELECT EXISTS (SELECT FROM public.regress_doc_line l WHERE l.firm_id = firm AND l.regress_doc_id = doc) $$;

INSERT INTO billing.workflow_transition
    (workflow, from_state, to_state, min_level, role_name, billing_admin, reason_required, guard, guard_rule, segregation_column) VALUES
    ('regress_doc', 'draft', 'review', NULL, NULL, false, false, NULL, NULL, NULL),
    ('regress_doc', 'review', 'draft', NULL, NULL, false, false, NULL, NULL, NULL),
    ('regress_doc', 'review', 'approved', 'manager', NULL, false, false, NULL, NULL, 'prepared_by'),
    ('regress_doc', 'approved', 'finalized', NULL, NULL, true, false,
     'public.regress_doc_has_lines(bigint,bigint)', 'the document has at least one line', NULL),
    ('regress_doc', 'finalized', 'void', NULL, 'regress_wf_reviewers', false, true, NULL, NULL, NULL),
    ('regress_doc', 'draft', 'void', NULL, NULL, false, true, NULL, NULL, NULL);

-- A guard must exist and have the right signature when the rule is saved.
INSERT INTO billing.workflow_transition (workflow, from_state, to_state, guard, guard_rule)
VALUES ('regress_doc', 'approved', 'review', 'public.no_such_guard(bigint,bigint)', 'nothing');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO billing.workflow_transition (workflow, from_state, to_state, guard, guard_rule)
VALUES ('regress_doc', 'approved', 'review', 'pg_catalog.int4eq(integer,integer)', 'nothing');
\echo :LAST_ERROR_SQLSTATE

SELECT billing.enforce_workflow('public.regress_doc', 'state', 'regress_doc');
SELECT billing.freeze_records('public.regress_doc', 'regress_doc', 'state', NULL, '{sent_at}');
SELECT billing.freeze_children('public.regress_doc_line', 'public.regress_doc');
SELECT billing.freeze_children('public.regress_doc_link', 'public.regress_doc_line');
SELECT entity, workflow, state_column, id_column FROM billing.workflow_attachment
 WHERE entity = 'public.regress_doc'::regclass;

-- Attaching checks the table.
SELECT billing.enforce_workflow('public.regress_doc_line', 'amount', 'regress_doc');
\echo :LAST_ERROR_SQLSTATE
SELECT billing.enforce_workflow('public.regress_doc', 'state', 'no_such_workflow');
\echo :LAST_ERROR_SQLSTATE

-- A new record starts in an initial state, of a state the workflow has.
INSERT INTO public.regress_doc (firm_id, regress_doc_id, prepared_by, title)
VALUES (:firm, 1, :senior, 'first');
INSERT INTO public.regress_doc (firm_id, regress_doc_id, state) VALUES (:firm, 2, 'approved');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO public.regress_doc (firm_id, regress_doc_id, state) VALUES (:firm, 2, 'lost');
\echo :LAST_ERROR_SQLSTATE

-- Loading records validated elsewhere: a superuser may turn on
-- billing.migration, which lets a record start in any state of its workflow
-- (but not an unknown one) and says so in the history; nobody else may.
BEGIN;
SET LOCAL billing.migration = on;
INSERT INTO public.regress_doc (firm_id, regress_doc_id, state) VALUES (:firm, 9, 'approved');
INSERT INTO public.regress_doc (firm_id, regress_doc_id, state) VALUES (:firm, 8, 'lost');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL billing.migration = on;
INSERT INTO public.regress_doc (firm_id, regress_doc_id, state) VALUES (:firm, 9, 'approved');
COMMIT;
SELECT entity_id, from_state, to_state, reason FROM billing.state_history
 WHERE firm_id = :firm AND entity_id = 9;
SET ROLE regress_wf_senior;
SET billing.migration = on;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DELETE FROM public.regress_doc WHERE regress_doc_id = 9;

-- A move the workflow does not list is refused, naming the record, both
-- states and the allowed next ones.
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE public.regress_doc SET state = 'nowhere' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Allowed, by anyone; an UPDATE that keeps the state is not a move.
SET ROLE regress_wf_senior;
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 1;
UPDATE public.regress_doc SET state = 'review', title = 'first, reviewed' WHERE regress_doc_id = 1;

-- review -> approved needs a manager, and not the one who prepared it.
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A role mapped to nobody cannot make a move that needs a level.
SET ROLE regress_wf_nobody;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- billing.staff_id names the actor for an application role; it must be a
-- staff member of the firm, and a role mapped to a person cannot borrow
-- another's identity.
BEGIN;
SET LOCAL billing.staff_id = '999999';
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL billing.staff_id = 'me';
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET ROLE regress_wf_senior;
SELECT set_config('billing.staff_id', :'partner', true) IS NOT NULL AS set;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Segregation of duties: the preparer, even a partner, may not approve.
UPDATE public.regress_doc SET prepared_by = :partner WHERE regress_doc_id = 1;
SET ROLE regress_wf_partner;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The manager, acting through an application role, may.
BEGIN;
SELECT set_config('billing.staff_id', :'manager', true) IS NOT NULL AS set;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 1;
COMMIT;

-- approved -> finalized: billing admins only, and only with lines.
BEGIN;
SELECT set_config('billing.staff_id', :'manager', true) IS NOT NULL AS set;
UPDATE public.regress_doc SET state = 'finalized' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SET ROLE regress_wf_partner;
SELECT to_state, reason_required, guard_rule, guard_met
  FROM billing.next_states('public.regress_doc', :firm, 1);
UPDATE public.regress_doc SET state = 'finalized' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO public.regress_doc_line VALUES (:firm, 10, 1, 100), (:firm, 11, 1, 50);
INSERT INTO public.regress_doc_link VALUES (:firm, 20, 10, 100);
SELECT to_state, reason_required, guard_rule, guard_met
  FROM billing.next_states('public.regress_doc', :firm, 1);
SELECT billing.move('public.regress_doc', :firm, 1, 'finalized');
RESET ROLE;

-- finalized -> void needs a member of regress_wf_reviewers and a reason.
SET ROLE regress_wf_senior;
SELECT to_state FROM billing.next_states('public.regress_doc', :firm, 1);
UPDATE public.regress_doc SET state = 'void' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wf_partner;
SELECT billing.move('public.regress_doc', :firm, 1, 'void');
\echo :LAST_ERROR_SQLSTATE
SELECT billing.move('public.regress_doc', :firm, 1, 'void', 'duplicate', 'Sent twice by mistake');
-- The reason given to move() does not outlive the call.
SELECT current_setting('billing.reason_code', true) AS reason_code_after;
RESET ROLE;

-- void is final.
UPDATE public.regress_doc SET state = 'draft' WHERE regress_doc_id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Every move is in the history, with who and why.
SELECT entity, entity_id, workflow, from_state, to_state,
       staff_id = :partner AS by_partner, staff_id = :manager AS by_manager,
       staff_id = :senior AS by_senior, role_name, reason_code, reason,
       changed_at IS NOT NULL AS timed
  FROM billing.state_history
 WHERE firm_id = :firm AND entity = 'public.regress_doc'
 ORDER BY state_history_id;
SELECT state, next_state, left_at >= entered_at AS ordered
  FROM billing.state_interval
 WHERE firm_id = :firm AND entity = 'public.regress_doc' AND entity_id = 1;

-- The history is append-only, for the superuser too.
UPDATE billing.state_history SET reason = 'edited' WHERE firm_id = :firm;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM billing.state_history WHERE firm_id = :firm;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE billing.state_history;
\echo :LAST_ERROR_SQLSTATE

-- A rule changed mid-session applies to the next statement.
INSERT INTO public.regress_doc (firm_id, regress_doc_id, title) VALUES (:firm, 3, 'third');
DELETE FROM billing.workflow_transition
 WHERE workflow = 'regress_doc' AND from_state = 'draft' AND to_state = 'review';
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 3;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO billing.workflow_transition (workflow, from_state, to_state, min_level)
VALUES ('regress_doc', 'draft', 'review', 'partner');
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 3;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_wf_partner;
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 3;
RESET ROLE;
-- ... and a rolled-back change is forgotten.
BEGIN;
DELETE FROM billing.workflow_transition
 WHERE workflow = 'regress_doc' AND from_state = 'review' AND to_state = 'draft';
UPDATE public.regress_doc SET state = 'draft' WHERE regress_doc_id = 3;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SET ROLE regress_wf_nobody;
UPDATE public.regress_doc SET state = 'draft' WHERE regress_doc_id = 3;
RESET ROLE;
SELECT regress_doc_id, state FROM public.regress_doc ORDER BY 1;

-- The mover is remembered between statements, but a change to staff
-- reaches it at once: promoted to manager, the senior may approve.
INSERT INTO public.regress_doc (firm_id, regress_doc_id, prepared_by) VALUES (:firm, 4, :partner);
SET ROLE regress_wf_partner;
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 4;
RESET ROLE;
SET ROLE regress_wf_senior;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 4;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
UPDATE billing.staff SET level = 'manager' WHERE firm_id = :firm AND staff_id = :senior;
SET ROLE regress_wf_senior;
UPDATE public.regress_doc SET state = 'approved' WHERE regress_doc_id = 4;
RESET ROLE;
-- ... and one who has left may no longer act.
UPDATE billing.staff SET active = false WHERE firm_id = :firm AND staff_id = :senior;
SET ROLE regress_wf_senior;
UPDATE public.regress_doc SET state = 'review' WHERE regress_doc_id = 3;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- An index on an expression over the history sends its rows through the
-- executor; they are written all the same.
CREATE INDEX regress_history_lower_entity ON billing.state_history (lower(entity));
INSERT INTO public.regress_doc (firm_id, regress_doc_id) VALUES (:firm, 5);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM billing.state_history
 WHERE lower(entity) = 'public.regress_doc' AND entity_id = 5;
SELECT count(*) AS indexed FROM billing.state_history
 WHERE lower(entity) = 'public.regress_doc' AND entity_id = 5;
RESET enable_seqscan;
DROP INDEX billing.regress_history_lower_entity;

-- Misuse of the trigger functions is refused.
CREATE TABLE public.regress_misuse (firm_id bigint, regress_misuse_id bigint, state text);
CREATE TRIGGER misuse AFTER INSERT ON public.regress_misuse
    FOR EACH ROW EXECUTE FUNCTION billing.workflow_trigger('regress_doc', 'state', 'regress_misuse_id');
INSERT INTO public.regress_misuse VALUES (1, 1, 'draft');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER misuse ON public.regress_misuse;
CREATE TRIGGER misuse BEFORE INSERT ON public.regress_misuse
    FOR EACH ROW EXECUTE FUNCTION billing.workflow_trigger('regress_doc');
INSERT INTO public.regress_misuse VALUES (1, 1, 'draft');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE public.regress_misuse;
SELECT billing.move('public.regress_doc_line', :firm, 10, 'void');
\echo :LAST_ERROR_SQLSTATE
SELECT billing.move('public.regress_doc', :firm, 424242, 'review');
\echo :LAST_ERROR_SQLSTATE

-- Leave nothing behind that would keep the extension from being dropped.
DROP TABLE public.regress_doc_link, public.regress_doc_line, public.regress_doc;
DROP FUNCTION public.regress_doc_has_lines(bigint, bigint);
DROP OWNED BY regress_wf_partner, regress_wf_senior, regress_wf_nobody, regress_wf_reviewers;
DROP ROLE regress_wf_partner, regress_wf_senior, regress_wf_nobody, regress_wf_reviewers;
