-- Frozen records on tables of this test's own, owned by an ordinary role:
-- once a bill is finalized, the bill, its lines and the WIP links of its
-- lines cannot be changed, deleted or truncated, by the owner either.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

\set firm 7002
CREATE ROLE regress_fz_owner;
GRANT USAGE ON SCHEMA billing TO regress_fz_owner;
GRANT CREATE ON SCHEMA public TO regress_fz_owner;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (:firm, 'Frozen test firm', 'USD');

INSERT INTO billing.workflow (workflow, description) VALUES ('regress_bill', 'A bill for the tests');
INSERT INTO billing.workflow_state (workflow, state, is_initial, freezes) VALUES
    ('regress_bill', 'draft', true, false),
    ('regress_bill', 'finalized', false, true),
    ('regress_bill', 'sent', false, true),
    ('regress_bill', 'void', false, true);
INSERT INTO billing.workflow_transition (workflow, from_state, to_state) VALUES
    ('regress_bill', 'draft', 'finalized'),
    ('regress_bill', 'finalized', 'sent'),
    ('regress_bill', 'sent', 'void');

SET ROLE regress_fz_owner;
CREATE TABLE public.regress_bill (
    firm_id bigint NOT NULL,
    regress_bill_id bigint NOT NULL,
    state text NOT NULL DEFAULT 'draft',
    total numeric NOT NULL DEFAULT 0,
    delivery_status text,
    PRIMARY KEY (firm_id, regress_bill_id)
);
CREATE TABLE public.regress_bill_line (
    firm_id bigint NOT NULL,
    regress_bill_line_id bigint NOT NULL,
    regress_bill_id bigint NOT NULL,
    narrative text NOT NULL,
    PRIMARY KEY (firm_id, regress_bill_line_id),
    FOREIGN KEY (firm_id, regress_bill_id) REFERENCES public.regress_bill
);
CREATE TABLE public.regress_bill_line_wip (
    firm_id bigint NOT NULL,
    regress_bill_line_id bigint NOT NULL,
    wip_entry_id bigint NOT NULL,
    amount_taken numeric NOT NULL,
    PRIMARY KEY (firm_id, regress_bill_line_id, wip_entry_id),
    FOREIGN KEY (firm_id, regress_bill_line_id) REFERENCES public.regress_bill_line
);
SELECT billing.enforce_workflow('public.regress_bill', 'state', 'regress_bill');
SELECT billing.freeze_records('public.regress_bill', 'regress_bill', still_mutable => '{delivery_status}');
SELECT billing.freeze_children('public.regress_bill_line', 'public.regress_bill');
SELECT billing.freeze_children('public.regress_bill_line_wip', 'public.regress_bill_line');

-- A child needs exactly one foreign key to its parent.
CREATE TABLE public.regress_orphan (firm_id bigint, regress_bill_id bigint);
SELECT billing.freeze_children('public.regress_orphan', 'public.regress_bill');
\echo :LAST_ERROR_SQLSTATE

-- While the bill is a draft, everything may change.
INSERT INTO public.regress_bill (firm_id, regress_bill_id) VALUES (:firm, 1), (:firm, 2);
INSERT INTO public.regress_bill_line VALUES (:firm, 10, 1, 'Tax return'), (:firm, 11, 1, 'Typo'),
                                            (:firm, 20, 2, 'Other bill');
INSERT INTO public.regress_bill_line_wip VALUES (:firm, 10, 500, 300), (:firm, 10, 501, 200),
                                                (:firm, 11, 502, 10);
UPDATE public.regress_bill SET total = 510 WHERE regress_bill_id = 1;
UPDATE public.regress_bill_line SET narrative = 'Tax return 2025' WHERE regress_bill_line_id = 10;
UPDATE public.regress_bill_line_wip SET amount_taken = 310 WHERE wip_entry_id = 500;
DELETE FROM public.regress_bill_line_wip WHERE wip_entry_id = 502;
DELETE FROM public.regress_bill_line WHERE regress_bill_line_id = 11;

-- Finalize bill 1.
UPDATE public.regress_bill SET state = 'finalized' WHERE regress_bill_id = 1;

-- The bill: its contents and its deletion are refused.
UPDATE public.regress_bill SET total = 0 WHERE regress_bill_id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM public.regress_bill WHERE regress_bill_id = 1;
\echo :LAST_ERROR_SQLSTATE
-- ... but its state may move on, and the still mutable column change.
UPDATE public.regress_bill SET state = 'sent', delivery_status = 'delivered' WHERE regress_bill_id = 1;
-- ... though not together with frozen contents.
UPDATE public.regress_bill SET state = 'void', total = 0 WHERE regress_bill_id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Its lines: no change, no deletion, no new line, no line moved in or out.
UPDATE public.regress_bill_line SET narrative = 'Rewritten' WHERE regress_bill_line_id = 10;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM public.regress_bill_line WHERE regress_bill_line_id = 10;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO public.regress_bill_line VALUES (:firm, 12, 1, 'Extra');
\echo :LAST_ERROR_SQLSTATE
UPDATE public.regress_bill_line SET regress_bill_id = 1 WHERE regress_bill_line_id = 20;
\echo :LAST_ERROR_SQLSTATE
UPDATE public.regress_bill_line SET regress_bill_id = 2 WHERE regress_bill_line_id = 10;
\echo :LAST_ERROR_SQLSTATE

-- The WIP links of its lines, through the line to the bill.
UPDATE public.regress_bill_line_wip SET amount_taken = 0 WHERE wip_entry_id = 500;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM public.regress_bill_line_wip WHERE wip_entry_id = 501;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO public.regress_bill_line_wip VALUES (:firm, 10, 503, 1);
\echo :LAST_ERROR_SQLSTATE

-- TRUNCATE of any of the three tables, by the owner.
TRUNCATE public.regress_bill_line_wip;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE public.regress_bill_line CASCADE;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE public.regress_bill CASCADE;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The superuser, even with triggers set to replica mode, is refused too;
-- only adding rows (a restore) is let through in replica mode.
SET session_replication_role = replica;
UPDATE public.regress_bill_line_wip SET amount_taken = 0 WHERE wip_entry_id = 500;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM public.regress_bill WHERE regress_bill_id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE public.regress_bill SET total = 1 WHERE regress_bill_id = 1;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE public.regress_bill_line_wip;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO public.regress_bill_line_wip VALUES (:firm, 10, 504, 5);
RESET session_replication_role;
-- ... and with billing.migration on, the same.
BEGIN;
SET LOCAL billing.migration = on;
INSERT INTO public.regress_bill_line_wip VALUES (:firm, 10, 505, 5);
DELETE FROM public.regress_bill_line_wip WHERE wip_entry_id = 505;
\echo :LAST_ERROR_SQLSTATE
COMMIT;

-- The draft bill's children are still free.
UPDATE public.regress_bill_line SET narrative = 'Other bill, revised' WHERE regress_bill_line_id = 20;
DELETE FROM public.regress_bill_line WHERE regress_bill_line_id = 20;

-- A parent frozen while a child is being added: see the isolation spec
-- workflow-frozen.  Here, what is left:
SELECT b.regress_bill_id, b.state, b.total, b.delivery_status, l.regress_bill_line_id, l.narrative,
       w.wip_entry_id, w.amount_taken
  FROM public.regress_bill b
  LEFT JOIN public.regress_bill_line l USING (firm_id, regress_bill_id)
  LEFT JOIN public.regress_bill_line_wip w USING (firm_id, regress_bill_line_id)
 ORDER BY 1, 5, 7;

-- Leave nothing behind that would keep the extension from being dropped.
DROP TABLE public.regress_bill_line_wip, public.regress_bill_line, public.regress_bill, public.regress_orphan;
DROP OWNED BY regress_fz_owner;
DROP ROLE regress_fz_owner;
