-- demo/month_end.sql: Harbor & Pine's November month-end, as far as billing
-- goes today; run by demo/run after demo/firm.sql.  Each step is what a
-- billing admin or partner would run, through billing's own functions.
\set ON_ERROR_STOP on
\pset footer off
SELECT firm_id AS firm FROM billing.firm WHERE name = 'Harbor & Pine' \gset
SELECT min(staff_id) AS partner FROM billing.staff
 WHERE firm_id = :firm AND level = 'partner' \gset
SELECT min(staff_id) AS manager FROM billing.staff
 WHERE firm_id = :firm AND level = 'manager' \gset
SELECT min(staff_id) AS admin FROM billing.staff
 WHERE firm_id = :firm AND is_billing_admin \gset

\echo '1. Recurring fees due for November (running it twice bills once)'
SELECT count(*) AS recurring_charges, billing.sum(amount) AS value
  FROM billing.generate_recurring_charges(:firm, '2026-11-01', '2026-11-30');
SELECT count(*) AS charges_from_a_second_run
  FROM billing.generate_recurring_charges(:firm, '2026-11-01', '2026-11-30');
-- The charges are handed in for review in the managers' names; a partner
-- approves them, through the workflow.
BEGIN;
SET LOCAL billing.staff_id = :'partner';
UPDATE billing.wip_entry w SET state = 'approved'
  FROM billing.recurring_charge rc
 WHERE rc.firm_id = w.firm_id AND rc.wip_entry_id = w.wip_entry_id
   AND w.firm_id = :firm AND w.state = 'submitted';
COMMIT;

\echo '2. Retainer clients paid their November deposits'
INSERT INTO billing.payment (firm_id, client_id, received_on, amount, method, reference,
        recorded_by)
SELECT e.firm_id, e.client_id, '2026-11-03', v.retainer_amount, 'bank_transfer',
       'Retainer ' || e.engagement_code, :admin
  FROM billing.engagement e
  JOIN billing.engagement_version v USING (firm_id, engagement_id)
 WHERE e.firm_id = :firm AND e.billing_model = 'retainer';
SELECT count(billing.retainer_deposit(e.firm_id, e.engagement_id, p.amount, p.payment_id,
                                      '2026-11-03', 'November deposit')) AS retainer_deposits,
       billing.sum(p.amount) AS deposited
  FROM billing.engagement e
  JOIN billing.payment p
    ON p.firm_id = e.firm_id AND p.reference = 'Retainer ' || e.engagement_code
 WHERE e.firm_id = :firm;

\echo '3. Audit fieldwork finished on two engagements: the delivery rule marks the milestone reached, the partner approves it'
BEGIN;
SET LOCAL billing.staff_id = :'manager';
UPDATE billing.work_item w SET state = 'complete'
 WHERE w.firm_id = :firm AND w.name = 'Fieldwork'
   AND w.engagement_id IN (SELECT engagement_id FROM billing.work_item
                            WHERE firm_id = :firm AND name = 'Fieldwork'
                              AND milestone_id IS NOT NULL
                            ORDER BY engagement_id LIMIT 2);
COMMIT;
SELECT m.engagement_id, m.name, m.amount,
       (billing.approve_milestone(m.firm_id, m.milestone_id, :partner)).state
  FROM billing.milestone m
 WHERE m.firm_id = :firm AND m.state = 'reached'
 ORDER BY m.engagement_id;

\echo '4. Work items past due at the end of the month raise one alert each'
SELECT billing.raise_overdue_alerts(:firm, '2026-11-30') AS overdue_alerts_raised;
SELECT kind, count(*) AS alerts FROM billing.alert WHERE firm_id = :firm GROUP BY kind ORDER BY kind;

\echo '5. What the invoice run may bill'
SELECT item_kind, count(*) AS items, billing.sum(amount) AS amount
  FROM billing.ready_to_invoice WHERE firm_id = :firm
 GROUP BY item_kind ORDER BY item_kind;

\echo '6. The audit trail: every change above is in the firm''s chain, and it verifies'
SELECT valid, records_checked FROM billing.verify_audit(:firm);
-- one anchor per lane of the chain (a firm loaded by one session has one):
-- keep them outside the database, and check each later
SELECT lane, seq AS anchor_seq, encode(hash, 'hex') AS anchor_hash,
       (SELECT valid FROM billing.verify_audit(:firm, a.seq, a.hash)) AS verifies
  FROM billing.audit_anchor(:firm) a;
