-- 40-engagement.sql: engagements, their versions of terms, and rate cards.
--
-- The terms that govern billing live on engagement_version, never on the
-- engagement itself: terms change mid-year, and "which terms governed this
-- invoice?" must keep one answer after they do.  Approved versions of one
-- engagement never overlap (an exclusion constraint), and a version that
-- governed WIP or an invoice is never edited.

CREATE TYPE billing.billing_model AS ENUM
    ('hourly', 'fixed_fee', 'milestone', 'recurring', 'retainer',
     'fixed_fee_plus_hourly');
COMMENT ON TYPE billing.billing_model IS
    'How an engagement is billed: hourly (time and materials), fixed_fee, milestone (fixed fee in scheduled parts), recurring (a fee per period), retainer (drawn down from deposits), fixed_fee_plus_hourly (a fee for a scope of hours, hourly beyond it).';

CREATE SEQUENCE billing.engagement_id_seq;

CREATE TABLE billing.engagement (
    firm_id             bigint NOT NULL,
    engagement_id       bigint NOT NULL DEFAULT nextval('billing.engagement_id_seq'),
    client_id           bigint NOT NULL,
    service_line_id     bigint NOT NULL,
    engagement_code     text NOT NULL CHECK (btrim(engagement_code) <> ''),
    name                text NOT NULL CHECK (btrim(name) <> ''),
    scope               text,
    billing_model       billing.billing_model NOT NULL,
    currency            char(3) NOT NULL REFERENCES billing.currency,
    partner_id          bigint NOT NULL,
    manager_id          bigint,
    starts_on           date NOT NULL,
    ends_on             date,
    state               text NOT NULL DEFAULT 'proposed',
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, engagement_id),
    UNIQUE (firm_id, engagement_code),
    UNIQUE (firm_id, client_id, engagement_id),
    FOREIGN KEY (firm_id, client_id) REFERENCES billing.client (firm_id, client_id),
    FOREIGN KEY (firm_id, service_line_id)
        REFERENCES billing.service_line (firm_id, service_line_id),
    FOREIGN KEY (firm_id, partner_id) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, manager_id) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT engagement_ends_after_it_starts CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
ALTER SEQUENCE billing.engagement_id_seq OWNED BY billing.engagement.engagement_id;

COMMENT ON TABLE billing.engagement IS
    'Work the firm does for a client under an engagement letter: a service line, a scope, a billing model and a period.';
COMMENT ON COLUMN billing.engagement.firm_id IS 'The firm doing the work.';
COMMENT ON COLUMN billing.engagement.engagement_id IS 'Identifies the engagement.';
COMMENT ON COLUMN billing.engagement.client_id IS 'The client the work is for.';
COMMENT ON COLUMN billing.engagement.service_line_id IS 'The service line the work belongs to (tax, audit, ...).';
COMMENT ON COLUMN billing.engagement.engagement_code IS 'The firm''s own code for the engagement, unique in the firm.';
COMMENT ON COLUMN billing.engagement.name IS 'Name shown on invoices and reports, such as "2026 individual tax return".';
COMMENT ON COLUMN billing.engagement.scope IS 'What the engagement letter covers, in words.';
COMMENT ON COLUMN billing.engagement.billing_model IS 'How the engagement is billed; see the type billing.billing_model.';
COMMENT ON COLUMN billing.engagement.currency IS 'ISO 4217 code of the currency all its amounts are in.';
COMMENT ON COLUMN billing.engagement.partner_id IS 'The engagement partner, who answers for it and approves what needs a partner.';
COMMENT ON COLUMN billing.engagement.manager_id IS 'The engagement manager, first reviewer of its WIP and invoices.';
COMMENT ON COLUMN billing.engagement.starts_on IS 'First day work may be recorded.';
COMMENT ON COLUMN billing.engagement.ends_on IS 'Last day work may be recorded; empty while open-ended.';
COMMENT ON COLUMN billing.engagement.state IS 'Workflow state: proposed, active, on_hold, closed.';
COMMENT ON COLUMN billing.engagement.created_at IS 'When the engagement was created in billing.';

CREATE SEQUENCE billing.rate_card_id_seq;

CREATE TABLE billing.rate_card (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    rate_card_id        bigint NOT NULL DEFAULT nextval('billing.rate_card_id_seq'),
    name                text NOT NULL CHECK (btrim(name) <> ''),
    currency            char(3) NOT NULL REFERENCES billing.currency,
    description         text,
    PRIMARY KEY (firm_id, rate_card_id),
    UNIQUE (firm_id, name)
);
ALTER SEQUENCE billing.rate_card_id_seq OWNED BY billing.rate_card.rate_card_id;

COMMENT ON TABLE billing.rate_card IS
    'A named set of hourly rates (standard, nonprofit, audit...) that engagement versions bill time at.';
COMMENT ON COLUMN billing.rate_card.firm_id IS 'The firm the rate card belongs to.';
COMMENT ON COLUMN billing.rate_card.rate_card_id IS 'Identifies the rate card.';
COMMENT ON COLUMN billing.rate_card.name IS 'Name, unique in the firm.';
COMMENT ON COLUMN billing.rate_card.currency IS 'ISO 4217 code of the currency of all its rates.';
COMMENT ON COLUMN billing.rate_card.description IS 'What the card is for.';

CREATE SEQUENCE billing.rate_id_seq;

CREATE TABLE billing.rate (
    firm_id             bigint NOT NULL,
    rate_id             bigint NOT NULL DEFAULT nextval('billing.rate_id_seq'),
    rate_card_id        bigint NOT NULL,
    level               billing.staff_level,
    staff_id            bigint,
    hourly_rate         billing.amount NOT NULL CHECK (billing.minor_units(hourly_rate) >= 0),
    effective           daterange NOT NULL CHECK (NOT isempty(effective)),
    PRIMARY KEY (firm_id, rate_id),
    FOREIGN KEY (firm_id, rate_card_id) REFERENCES billing.rate_card (firm_id, rate_card_id),
    FOREIGN KEY (firm_id, staff_id) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT rate_is_for_a_level_or_a_person CHECK (num_nonnulls(level, staff_id) = 1),
    CONSTRAINT rate_periods_of_a_level_do_not_overlap EXCLUDE USING gist (firm_id WITH =, rate_card_id WITH =, level WITH =,
                        effective WITH &&) WHERE (level IS NOT NULL),
    CONSTRAINT rate_periods_of_a_person_do_not_overlap EXCLUDE USING gist (firm_id WITH =, rate_card_id WITH =, staff_id WITH =,
                        effective WITH &&) WHERE (staff_id IS NOT NULL)
);
ALTER SEQUENCE billing.rate_id_seq OWNED BY billing.rate.rate_id;

COMMENT ON TABLE billing.rate IS
    'An hourly rate on a rate card, for a staff level or one person, over an effective period; periods for the same level or person never overlap.';
COMMENT ON COLUMN billing.rate.firm_id IS 'The firm the rate belongs to.';
COMMENT ON COLUMN billing.rate.rate_id IS 'Identifies the rate; stored on each WIP entry it priced.';
COMMENT ON COLUMN billing.rate.rate_card_id IS 'The rate card the rate is on.';
COMMENT ON COLUMN billing.rate.level IS 'The staff level the rate applies to; empty for a person''s own rate.';
COMMENT ON COLUMN billing.rate.staff_id IS 'The person the rate applies to; a person''s rate wins over their level''s.';
COMMENT ON COLUMN billing.rate.hourly_rate IS 'Price of one hour, in the rate card''s currency.';
COMMENT ON COLUMN billing.rate.effective IS 'Dates the rate applies to work done on, such as [2026-01-01,2027-01-01).';

CREATE SEQUENCE billing.engagement_version_id_seq;

CREATE TABLE billing.engagement_version (
    firm_id             bigint NOT NULL,
    engagement_version_id bigint NOT NULL DEFAULT nextval('billing.engagement_version_id_seq'),
    engagement_id       bigint NOT NULL,
    version_number      integer NOT NULL CHECK (version_number > 0),
    effective           daterange NOT NULL CHECK (NOT isempty(effective)),
    state               text NOT NULL DEFAULT 'draft',
    currency            char(3) NOT NULL REFERENCES billing.currency,
    rate_card_id        bigint,
    fixed_fee           billing.amount CHECK (billing.minor_units(fixed_fee) >= 0),
    recurring_fee       billing.amount CHECK (billing.minor_units(recurring_fee) >= 0),
    recurring_interval  text CHECK (recurring_interval IN ('monthly', 'quarterly', 'annually')),
    scope_hours         numeric(10,2) CHECK (scope_hours > 0),
    retainer_amount     billing.amount CHECK (billing.minor_units(retainer_amount) >= 0),
    retainer_threshold  billing.amount CHECK (billing.minor_units(retainer_threshold) >= 0),
    retainer_overdraw_limit billing.amount CHECK (billing.minor_units(retainer_overdraw_limit) >= 0),
    budget_cap          billing.amount CHECK (billing.minor_units(budget_cap) > 0),
    budget_alert_percents numeric[] NOT NULL DEFAULT '{75,90,100}'
                        CHECK (0 < ALL (budget_alert_percents)),
    increment_minutes   integer NOT NULL DEFAULT 6
                        CHECK (increment_minutes BETWEEN 1 AND 60 AND 60 % increment_minutes = 0),
    time_rounding       text NOT NULL DEFAULT 'up' CHECK (time_rounding IN ('up', 'nearest', 'down')),
    minimum_minutes     integer NOT NULL DEFAULT 0 CHECK (minimum_minutes >= 0),
    non_billable_work_types text[] NOT NULL DEFAULT '{}',
    expense_markup_percent numeric(7,3) NOT NULL DEFAULT 0 CHECK (expense_markup_percent >= 0),
    payment_terms_days  integer NOT NULL DEFAULT 30 CHECK (payment_terms_days BETWEEN 0 AND 365),
    reason_code         text,
    change_reason       text,
    requested_by        bigint NOT NULL,
    approved_by         bigint,
    approved_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, engagement_version_id),
    UNIQUE (firm_id, engagement_id, engagement_version_id),
    UNIQUE (firm_id, engagement_id, version_number),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, rate_card_id) REFERENCES billing.rate_card (firm_id, rate_card_id),
    FOREIGN KEY (firm_id, requested_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, approved_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, reason_code) REFERENCES billing.reason_code (firm_id, reason_code),
    CONSTRAINT engagement_version_preparer_cannot_approve CHECK (approved_by IS DISTINCT FROM requested_by),
    CONSTRAINT engagement_version_change_needs_a_reason CHECK (version_number = 1 OR change_reason IS NOT NULL),
    CONSTRAINT engagement_version_fixed_fee_in_its_currency CHECK (billing.currency_code(fixed_fee) IS NULL OR billing.currency_code(fixed_fee) = currency),
    CONSTRAINT engagement_version_recurring_fee_in_its_currency CHECK (billing.currency_code(recurring_fee) IS NULL OR billing.currency_code(recurring_fee) = currency),
    CONSTRAINT engagement_version_retainer_in_its_currency CHECK (billing.currency_code(retainer_amount) IS NULL OR billing.currency_code(retainer_amount) = currency),
    CONSTRAINT engagement_version_retainer_threshold_in_its_currency CHECK (billing.currency_code(retainer_threshold) IS NULL OR billing.currency_code(retainer_threshold) = currency),
    CONSTRAINT engagement_version_overdraw_limit_in_its_currency CHECK (billing.currency_code(retainer_overdraw_limit) IS NULL OR billing.currency_code(retainer_overdraw_limit) = currency),
    CONSTRAINT engagement_version_budget_cap_in_its_currency CHECK (billing.currency_code(budget_cap) IS NULL OR billing.currency_code(budget_cap) = currency),
    CONSTRAINT engagement_version_recurring_fee_has_an_interval CHECK ((recurring_fee IS NULL) = (recurring_interval IS NULL)),
    CONSTRAINT engagement_version_approved_periods_do_not_overlap EXCLUDE USING gist (firm_id WITH =, engagement_id WITH =, effective WITH &&)
        WHERE (state = 'approved')
);
ALTER SEQUENCE billing.engagement_version_id_seq OWNED BY billing.engagement_version.engagement_version_id;

COMMENT ON TABLE billing.engagement_version IS
    'The terms of an engagement in force over a period. A change order makes a new version with a reason and an approval; approved versions never overlap, and a version that governed WIP or an invoice is never edited.';
COMMENT ON COLUMN billing.engagement_version.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.engagement_version.engagement_version_id IS 'Identifies the version; stored on each WIP entry it governed.';
COMMENT ON COLUMN billing.engagement_version.engagement_id IS 'The engagement whose terms these are.';
COMMENT ON COLUMN billing.engagement_version.version_number IS '1 for the engagement letter, then one more for each change order.';
COMMENT ON COLUMN billing.engagement_version.effective IS 'Dates of work these terms govern, such as [2026-01-01,2026-07-01).';
COMMENT ON COLUMN billing.engagement_version.state IS 'Workflow state: draft, pending_approval, approved, rejected. Only approved versions govern work.';
COMMENT ON COLUMN billing.engagement_version.currency IS 'ISO 4217 code of every amount of these terms; the engagement''s currency.';
COMMENT ON COLUMN billing.engagement_version.rate_card_id IS 'The rate card time is billed at; empty for terms without hourly work.';
COMMENT ON COLUMN billing.engagement_version.fixed_fee IS 'The fixed fee for the scope (fixed_fee, milestone and fixed_fee_plus_hourly models).';
COMMENT ON COLUMN billing.engagement_version.recurring_fee IS 'The fee billed each period (recurring model).';
COMMENT ON COLUMN billing.engagement_version.recurring_interval IS 'The period of the recurring fee: monthly, quarterly, annually.';
COMMENT ON COLUMN billing.engagement_version.scope_hours IS 'Hours the fixed fee covers; time beyond them is billed hourly (fixed_fee_plus_hourly).';
COMMENT ON COLUMN billing.engagement_version.retainer_amount IS 'The retainer the client keeps on deposit (retainer model).';
COMMENT ON COLUMN billing.engagement_version.retainer_threshold IS 'Balance below which a replenishment is requested.';
COMMENT ON COLUMN billing.engagement_version.retainer_overdraw_limit IS 'How far below zero draws may take the retainer balance; empty means not at all.';
COMMENT ON COLUMN billing.engagement_version.budget_cap IS 'Not-to-exceed amount for the engagement''s billable work; empty for no cap.';
COMMENT ON COLUMN billing.engagement_version.budget_alert_percents IS 'Percentages of the budget cap at which an alert is raised, such as {75,90,100}.';
COMMENT ON COLUMN billing.engagement_version.increment_minutes IS 'Time is billed in steps of this many minutes (6 = 0.1 hour, 15 = 0.25 hour).';
COMMENT ON COLUMN billing.engagement_version.time_rounding IS 'How recorded minutes round to the increment: up, nearest, down.';
COMMENT ON COLUMN billing.engagement_version.minimum_minutes IS 'The least time billed for any time entry.';
COMMENT ON COLUMN billing.engagement_version.non_billable_work_types IS 'Work types recorded as time but never billed, such as {training,admin}.';
COMMENT ON COLUMN billing.engagement_version.expense_markup_percent IS 'Percentage added to pass-through expenses.';
COMMENT ON COLUMN billing.engagement_version.payment_terms_days IS 'Days from invoice date to due date.';
COMMENT ON COLUMN billing.engagement_version.reason_code IS 'Reason code of the change order that made this version.';
COMMENT ON COLUMN billing.engagement_version.change_reason IS 'Why the terms changed, in words; required from version 2 on.';
COMMENT ON COLUMN billing.engagement_version.requested_by IS 'Who prepared the terms or the change order.';
COMMENT ON COLUMN billing.engagement_version.approved_by IS 'Who approved them; never the person who prepared them.';
COMMENT ON COLUMN billing.engagement_version.approved_at IS 'When they were approved.';
COMMENT ON COLUMN billing.engagement_version.created_at IS 'When the version was created.';

CREATE SEQUENCE billing.engagement_rate_id_seq;

CREATE TABLE billing.engagement_rate (
    firm_id             bigint NOT NULL,
    engagement_rate_id  bigint NOT NULL DEFAULT nextval('billing.engagement_rate_id_seq'),
    engagement_id       bigint NOT NULL,
    level               billing.staff_level,
    staff_id            bigint,
    hourly_rate         billing.amount NOT NULL CHECK (billing.minor_units(hourly_rate) >= 0),
    effective           daterange NOT NULL CHECK (NOT isempty(effective)),
    reason              text NOT NULL CHECK (btrim(reason) <> ''),
    PRIMARY KEY (firm_id, engagement_rate_id),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, staff_id) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT engagement_rate_is_for_a_level_or_a_person CHECK (num_nonnulls(level, staff_id) = 1),
    CONSTRAINT engagement_rate_periods_of_a_level_do_not_overlap EXCLUDE USING gist (firm_id WITH =, engagement_id WITH =, level WITH =,
                        effective WITH &&) WHERE (level IS NOT NULL),
    CONSTRAINT engagement_rate_periods_of_a_person_do_not_overlap EXCLUDE USING gist (firm_id WITH =, engagement_id WITH =, staff_id WITH =,
                        effective WITH &&) WHERE (staff_id IS NOT NULL)
);
ALTER SEQUENCE billing.engagement_rate_id_seq OWNED BY billing.engagement_rate.engagement_rate_id;

COMMENT ON TABLE billing.engagement_rate IS
    'A rate agreed for one engagement that overrides its rate card, for a level or a person, over an effective period.';
COMMENT ON COLUMN billing.engagement_rate.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.engagement_rate.engagement_rate_id IS 'Identifies the override.';
COMMENT ON COLUMN billing.engagement_rate.engagement_id IS 'The engagement the override applies to.';
COMMENT ON COLUMN billing.engagement_rate.level IS 'The staff level it applies to; empty for a person''s rate.';
COMMENT ON COLUMN billing.engagement_rate.staff_id IS 'The person it applies to.';
COMMENT ON COLUMN billing.engagement_rate.hourly_rate IS 'Price of one hour on this engagement.';
COMMENT ON COLUMN billing.engagement_rate.effective IS 'Dates of work it applies to.';
COMMENT ON COLUMN billing.engagement_rate.reason IS 'Why this engagement has its own rate (agreed in the engagement letter, a courtesy...).';
