-- demo/firm.sql: a sample firm and a month of its work, loaded by demo/run.
--
-- Harbor & Pine LLP: 36 people, 300 clients, tax, audit, bookkeeping,
-- advisory and payroll engagements under every billing model, and the WIP of
-- November 2026.  Everything is generated from a fixed seed, so every run
-- loads the same firm (no random(): values come from hashes of ids and dates).
\set ON_ERROR_STOP on
-- The firm is loaded as a migration: its records start in the states they
-- have reached, which only a superuser may do (doc/workflow.md).
SET billing.migration = on;
INSERT INTO billing.firm (name, legal_name, base_currency, time_zone)
VALUES ('Harbor & Pine', 'Harbor & Pine LLP, Certified Public Accountants', 'USD',
        'America/New_York')
RETURNING firm_id AS firm \gset

INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, code, name
  FROM (VALUES ('tax', 'Tax'), ('audit', 'Audit and assurance'),
               ('bookkeeping', 'Bookkeeping'), ('advisory', 'Advisory'),
               ('payroll', 'Payroll')) AS s(code, name);

-- People: 4 partners, 6 managers, 10 seniors, 14 staff, 2 billing admins.
INSERT INTO billing.staff (firm_id, full_name, email, level, is_billing_admin)
SELECT :firm, first || ' ' || last,
       lower(first || '.' || last) || '@harborpine.example', level,
       level = 'admin'
  FROM (SELECT n,
               (ARRAY['Avery','Blake','Casey','Dana','Emery','Finley','Gray',
                      'Harper','Indra','Jordan','Kai','Logan','Morgan','Noor',
                      'Oakley','Parker','Quinn','Reese','Sasha','Taylor','Uma',
                      'Val','Wren','Xan','Yael','Zion','Arden','Briar','Cove',
                      'Dell','Ellis','Fern','Gale','Hollis','Ira','Jules'])[n] AS first,
               (ARRAY['Abbott','Baker','Chen','Diaz','Evans','Fischer','Garcia',
                      'Hughes','Ito','Jensen','Khan','Lopez','Moreau','Novak',
                      'Okafor','Patel','Quist','Rossi','Silva','Tanaka','Ueda',
                      'Vargas','Weber','Xu','Young','Zhou','Alvarez','Brooks',
                      'Costa','Dubois','Eriksen','Flores','Grant','Haas','Iqbal',
                      'Jovanovic'])[n] AS last,
               CASE WHEN n <= 4 THEN 'partner' WHEN n <= 10 THEN 'manager'
                    WHEN n <= 20 THEN 'senior' WHEN n <= 34 THEN 'staff'
                    ELSE 'admin' END::billing.staff_level AS level
          FROM generate_series(1, 36) AS n) AS people
 ORDER BY n;

INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to)
SELECT :firm, code, label, applies_to::text[]
  FROM (VALUES
    ('scope_creep', 'Work beyond the agreed scope', '{write_down,write_up,change_order}'),
    ('client_hold', 'Held at the client''s request', '{hold}'),
    ('rework', 'Work redone because of our error', '{write_down,write_off}'),
    ('courtesy', 'Courtesy discount', '{discount,write_down}'),
    ('billing_error', 'Invoice issued in error', '{void,credit_note}'),
    ('uncollectible', 'Client will not pay', '{write_off}'),
    ('annual_rate_change', 'Annual rate change', '{change_order,rerate}'),
    ('overpayment', 'Client paid more than owed', '{refund}')) AS r(code, label, applies_to);

-- The standard rate card for 2026, one rate per level.
INSERT INTO billing.rate_card (firm_id, name, currency, description)
VALUES (:firm, 'Standard 2026', 'USD', 'Rates for all service lines from January 2026')
RETURNING rate_card_id AS rate_card \gset

INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective)
SELECT :firm, :rate_card, level::billing.staff_level, (rate || ' USD')::billing.amount,
       '[2026-01-01,2027-01-01)'
  FROM (VALUES ('partner', '450.00'), ('manager', '325.00'), ('senior', '225.00'),
               ('staff', '150.00'), ('admin', '95.00')) AS r(level, rate);

-- 300 clients: individuals, companies, trusts and nonprofits, each with a
-- billing contact.
INSERT INTO billing.client (firm_id, client_code, name, entity_type, billing_currency,
        payment_method, payment_terms_days)
SELECT :firm, format('C-%s', 1000 + n),
       CASE entity_type
           WHEN 'individual' THEN first || ' ' || last
           WHEN 'trust' THEN last || ' Family Trust'
           WHEN 'nonprofit' THEN place || ' ' || noun || ' Foundation'
           ELSE place || ' ' || noun || CASE entity_type WHEN 'partnership' THEN ' Partners'
                                                          WHEN 's_corporation' THEN ' Inc.'
                                                          ELSE ' Corp.' END
       END,
       entity_type, 'USD',
       (ARRAY['bank_transfer','card','check','portal','direct_debit'])[1 + n % 5],
       CASE WHEN entity_type = 'individual' THEN 15 ELSE 30 END
  FROM (SELECT n,
               (ARRAY['Alex','Brook','Cam','Drew','Eli','Frankie','Gabe','Hayden',
                      'Izzy','Jamie','Kris','Lee','Mel','Nico','Oli','Pat'])[1 + n % 16] AS first,
               (ARRAY['Allen','Bishop','Carter','Dunn','Ellis','Foster','Gibbs',
                      'Hale','Irwin','Joyce','Keane','Lamb','Mercer','Nash',
                      'Osborne','Pryce','Rhodes','Sutton','Thorne','Vance'])[1 + (n * 7) % 20] AS last,
               (ARRAY['Bayview','Cliffside','Dockside','Eastgate','Fairhaven',
                      'Granite','Highland','Ironwood','Juniper','Kingsway','Lakeshore',
                      'Millbrook','Northfield','Oakridge','Pinecrest'])[1 + n % 15] AS place,
               (ARRAY['Logistics','Dental','Bakery','Marine','Software','Builders',
                      'Farms','Clinic','Studios','Outfitters','Brewing','Robotics'])[1 + (n * 5) % 12] AS noun,
               CASE WHEN n % 20 < 11 THEN 'individual'
                    WHEN n % 20 < 14 THEN 'corporation'
                    WHEN n % 20 < 16 THEN 's_corporation'
                    WHEN n % 20 < 18 THEN 'partnership'
                    WHEN n % 20 = 18 THEN 'trust'
                    ELSE 'nonprofit' END AS entity_type
          FROM generate_series(1, 300) AS n) AS c
 ORDER BY n;

INSERT INTO billing.client_contact (firm_id, client_id, full_name, email,
        is_billing_contact, receives_invoices)
SELECT firm_id, client_id,
       CASE WHEN entity_type = 'individual' THEN name ELSE 'Accounts Payable' END,
       format('billing+%s@client.example', client_code), true, true
  FROM billing.client WHERE firm_id = :firm;

-- Engagements.  Every client has a tax engagement (a fixed fee for
-- individuals and trusts, hourly for the rest); companies add audits (hourly
-- with a budget cap, or on milestones), monthly bookkeeping, quarterly
-- payroll, and advisory on a retainer or a fee plus overage.
CREATE TEMPORARY TABLE demo_engagement AS
SELECT c.client_id, c.client_code, c.entity_type, e.line, e.model, e.name,
       row_number() OVER (ORDER BY c.client_id, e.line) AS n
  FROM billing.client c
 CROSS JOIN LATERAL (VALUES
        ('tax', CASE WHEN c.entity_type IN ('individual', 'trust') THEN 'fixed_fee'
                     ELSE 'hourly' END,
         CASE WHEN c.entity_type = 'individual' THEN '2025 individual income tax return'
              ELSE '2025 income tax return' END),
        ('audit', CASE WHEN c.client_id % 3 = 0 THEN 'milestone' ELSE 'hourly' END,
         '2026 financial statement audit'),
        ('bookkeeping', 'recurring', 'Monthly bookkeeping'),
        ('payroll', 'recurring', 'Quarterly payroll filings'),
        ('advisory', CASE WHEN c.client_id % 3 = 0 THEN 'retainer'
                          ELSE 'fixed_fee_plus_hourly' END,
         'Advisory services')) AS e(line, model, name)
 WHERE c.firm_id = :firm
   AND (e.line = 'tax'
        OR (e.line = 'audit' AND c.entity_type IN ('corporation', 'nonprofit') AND c.client_id % 2 = 0)
        OR (e.line = 'bookkeeping' AND c.entity_type <> 'individual' AND c.client_id % 3 <> 1)
        OR (e.line = 'payroll' AND c.entity_type IN ('corporation', 's_corporation') AND c.client_id % 4 = 0)
        OR (e.line = 'advisory' AND c.entity_type <> 'individual' AND c.client_id % 5 = 0));

INSERT INTO billing.engagement (firm_id, client_id, service_line_id, engagement_code, name,
        scope, billing_model, currency, partner_id, manager_id, starts_on, state)
SELECT :firm, d.client_id, sl.service_line_id,
       format('%s-%s', upper(left(d.line, 3)), d.client_code || '-26'), d.name,
       format('%s for the client, as set out in the engagement letter', d.name),
       d.model::billing.billing_model, 'USD',
       (SELECT staff_id FROM billing.staff WHERE firm_id = :firm AND level = 'partner'
         ORDER BY staff_id OFFSET d.n % 4 LIMIT 1),
       (SELECT staff_id FROM billing.staff WHERE firm_id = :firm AND level = 'manager'
         ORDER BY staff_id OFFSET d.n % 6 LIMIT 1),
       '2026-01-01', 'active'
  FROM demo_engagement d
  JOIN billing.service_line sl ON sl.firm_id = :firm AND sl.code = d.line
 ORDER BY d.n;

-- Version 1 of each engagement's terms: the engagement letter, prepared by
-- the manager and approved by the partner.
INSERT INTO billing.engagement_version (firm_id, engagement_id, version_number, effective,
        state, currency, rate_card_id, fixed_fee, recurring_fee, recurring_interval,
        scope_hours, retainer_amount, retainer_threshold, budget_cap, minimum_minutes,
        expense_markup_percent, payment_terms_days, requested_by, approved_by, approved_at)
SELECT e.firm_id, e.engagement_id, 1, '[2026-01-01,)', 'approved', 'USD', :rate_card,
       CASE WHEN e.billing_model IN ('fixed_fee', 'milestone', 'fixed_fee_plus_hourly')
            THEN (CASE e.billing_model WHEN 'fixed_fee' THEN 1200 + (e.engagement_id % 8) * 150
                                       WHEN 'milestone' THEN 24000 + (e.engagement_id % 5) * 3000
                                       ELSE 6000 END || '.00 USD')::billing.amount END,
       CASE WHEN e.billing_model = 'recurring'
            THEN (CASE WHEN e.name LIKE 'Monthly%' THEN 850 + (e.engagement_id % 4) * 100
                       ELSE 1500 END || '.00 USD')::billing.amount END,
       CASE WHEN e.billing_model = 'recurring'
            THEN CASE WHEN e.name LIKE 'Monthly%' THEN 'monthly' ELSE 'quarterly' END END,
       CASE WHEN e.billing_model = 'fixed_fee_plus_hourly' THEN 20 END,
       CASE WHEN e.billing_model = 'retainer' THEN '10000.00 USD'::billing.amount END,
       CASE WHEN e.billing_model = 'retainer' THEN '2500.00 USD'::billing.amount END,
       CASE WHEN e.billing_model = 'hourly' AND e.name LIKE '%audit%'
            THEN (30000 + (e.engagement_id % 6) * 5000 || '.00 USD')::billing.amount END,
       CASE WHEN e.billing_model = 'hourly' THEN 15 ELSE 0 END,
       CASE WHEN e.billing_model = 'hourly' THEN 10 ELSE 0 END,
       CASE WHEN e.name LIKE '%individual%' THEN 15 ELSE 30 END,
       e.manager_id, e.partner_id, '2026-01-02 10:00+00'
  FROM billing.engagement e
 WHERE e.firm_id = :firm
 ORDER BY e.engagement_id;

-- Milestones of fixed-fee audits: planning, fieldwork, report.
INSERT INTO billing.milestone (firm_id, engagement_id, sequence_number, name, amount, due_on, state)
SELECT e.firm_id, e.engagement_id, m.seq, m.name,
       (round(v_fee * m.share, 2) || ' USD')::billing.amount, m.due_on,
       CASE WHEN m.due_on < '2026-11-01' THEN 'approved' ELSE 'planned' END
  FROM billing.engagement e
  JOIN LATERAL (SELECT 24000 + (e.engagement_id % 5) * 3000 AS v_fee) f ON true
 CROSS JOIN (VALUES (1, 'Planning and risk assessment', 0.25, date '2026-10-15'),
                    (2, 'Fieldwork complete', 0.50, date '2026-12-15'),
                    (3, 'Audit report issued', 0.25, date '2027-02-28')) AS m(seq, name, share, due_on)
 WHERE e.firm_id = :firm AND e.billing_model = 'milestone';

-- Work items: a return per tax engagement, the November close for
-- bookkeeping, the Q4 filings for payroll, the phases of each audit, and an
-- open consultation for advisory.
INSERT INTO billing.work_item (firm_id, engagement_id, kind, name, period_start, period_end,
        due_on, milestone_id, state)
SELECT e.firm_id, e.engagement_id, w.kind, w.name, w.period_start, w.period_end, w.due_on,
       (SELECT milestone_id FROM billing.milestone m
         WHERE m.firm_id = e.firm_id AND m.engagement_id = e.engagement_id
           AND m.sequence_number = w.milestone_seq),
       w.state
  FROM billing.engagement e
  JOIN billing.service_line sl USING (firm_id, service_line_id)
 CROSS JOIN LATERAL (
        SELECT * FROM (VALUES
            ('tax', 'return', 'Income tax return, tax year 2025', date '2025-01-01', date '2025-12-31',
             date '2026-10-15' + (e.engagement_id % 60)::int, NULL::int,
             CASE WHEN e.engagement_id % 4 = 0 THEN 'filed' ELSE 'in_progress' END),
            ('bookkeeping', 'period_close', 'November 2026 close', date '2026-11-01', date '2026-11-30',
             date '2026-12-10', NULL, 'in_progress'),
            ('payroll', 'filing', 'Q4 2026 payroll filings', date '2026-10-01', date '2026-12-31',
             date '2027-01-31', NULL, 'in_progress'),
            ('audit', 'audit_phase', 'Planning', date '2026-01-01', date '2026-12-31',
             date '2026-10-15', 1, 'complete'),
            ('audit', 'audit_phase', 'Fieldwork', date '2026-01-01', date '2026-12-31',
             date '2026-12-15', 2, 'in_progress'),
            ('advisory', 'consultation', 'Advisory consultations 2026', date '2026-01-01',
             date '2026-12-31', NULL, NULL, 'in_progress')
        ) AS v(line, kind, name, period_start, period_end, due_on, milestone_seq, state)
        WHERE v.line = sl.code) AS w
 WHERE e.firm_id = :firm;

-- A month of WIP: each person records three to five entries each weekday of
-- November 2026 on engagements of the teams they belong to.  The rating
-- trigger prices each entry from the terms and rates in force that day:
-- version, increment (6 minutes), minimum, rate, markup and amount.
CREATE TEMPORARY TABLE demo_work AS
SELECT s.staff_id, s.level, d::date AS worked_on, k,
       (abs(hashint8(s.staff_id * 100000 + extract(doy FROM d)::int * 10 + k)) % 1000) / 1000.0 AS r1,
       (abs(hashint8(s.staff_id * 7919 + extract(doy FROM d)::int * 13 + k)) % 1000) / 1000.0 AS r2
  FROM billing.staff s
 CROSS JOIN generate_series('2026-11-02'::date, '2026-11-30', '1 day') AS d
 CROSS JOIN generate_series(1, 5) AS k
 WHERE s.firm_id = :firm AND s.level <> 'admin'
   AND extract(isodow FROM d) < 6
   AND k <= 3 + (s.staff_id + extract(doy FROM d)::int) % 3;

CREATE TEMPORARY TABLE demo_target AS
SELECT row_number() OVER (ORDER BY w.work_item_id) - 1 AS slot, w.firm_id, w.engagement_id,
       w.work_item_id, e.billing_model
  FROM billing.work_item w
  JOIN billing.engagement e USING (firm_id, engagement_id)
 WHERE w.firm_id = :firm AND w.state IN ('in_progress', 'not_started')
   AND e.billing_model <> 'recurring';

INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind, staff_id, worked_on,
        description, work_type, minutes, state)
SELECT t.firm_id, t.engagement_id, t.work_item_id, 'time', w.staff_id, w.worked_on,
       (ARRAY['Prepared workpapers', 'Reviewed client documents', 'Reconciled accounts',
              'Drafted return', 'Client call about open items', 'Researched treatment',
              'Reviewed workpapers', 'Updated schedules'])[1 + floor(w.r2 * 8)::int],
       CASE WHEN w.r2 < 0.85 THEN 'preparation' ELSE 'review' END,
       10 + floor(w.r2 * 170)::int,
       CASE WHEN w.worked_on < '2026-11-16' THEN 'approved'
            WHEN w.worked_on < '2026-11-25' THEN 'submitted' ELSE 'draft' END
  FROM demo_work w
  JOIN demo_target t ON t.slot = floor(w.r1 * (SELECT count(*) FROM demo_target))
 ORDER BY w.worked_on, w.staff_id, w.k;

-- Pass-through expenses: filing fees and mileage, marked up per the terms.
INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind, staff_id, worked_on,
        description, work_type, cost, state)
SELECT t.firm_id, t.engagement_id, t.work_item_id, 'expense', w.staff_id, w.worked_on,
       CASE WHEN w.r2 < 0.5 THEN 'State filing fee' ELSE 'Mileage to client site' END,
       'expense', (round((25 + w.r2 * 75)::numeric, 2) || ' USD')::billing.amount, 'approved'
  FROM demo_work w
  JOIN demo_target t ON t.slot = floor(w.r1 * (SELECT count(*) FROM demo_target))
 WHERE w.k = 1 AND w.r2 > 0.9;

-- Delivery rules: what billing does when work is delivered.  A finished
-- audit phase reaches its milestone; a filed return goes to the next
-- invoice run; a finished monthly close makes its reviewed WIP billable.
INSERT INTO billing.delivery_rule (firm_id, work_item_kind, on_state, action, description)
VALUES (:firm, 'audit_phase', 'complete', 'milestone_reached',
        'A finished audit phase makes its fixed-fee milestone reached'),
       (:firm, 'return', 'filed', 'queue_for_invoice',
        'Bill a return as soon as it is filed'),
       (:firm, 'period_close', 'complete', 'wip_ready_to_invoice',
        'A finished close makes its submitted WIP billable');
