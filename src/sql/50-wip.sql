-- 50-wip.sql: work in progress and the adjustments made to it.
--
-- A WIP entry is the evidence of work: time, a flat task, a pass-through
-- expense.  It always names its engagement, the version of the terms that
-- governed it and the work item it was for, and it keeps the rate it was
-- priced at, so that later changes to rates or terms never rewrite what was
-- recorded.  Composite foreign keys make sure the version and the work item
-- belong to the same engagement as the entry.

CREATE SEQUENCE billing.wip_entry_id_seq;

CREATE TABLE billing.wip_entry (
    firm_id             bigint NOT NULL,
    wip_entry_id        bigint NOT NULL DEFAULT nextval('billing.wip_entry_id_seq'),
    engagement_id       bigint NOT NULL,
    engagement_version_id bigint NOT NULL,
    work_item_id        bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('time', 'flat', 'expense')),
    staff_id            bigint NOT NULL,
    worked_on           date NOT NULL,
    description         text NOT NULL CHECK (btrim(description) <> ''),
    work_type           text,
    billable            boolean NOT NULL DEFAULT true,
    minutes             integer CHECK (minutes > 0 AND minutes <= 1440),
    billable_minutes    integer CHECK (billable_minutes >= 0),
    quantity            numeric(12,3) CHECK (quantity > 0),
    rate_id             bigint,
    engagement_rate_id  bigint,
    unit_price          billing.amount CHECK (billing.minor_units(unit_price) >= 0),
    cost                billing.amount CHECK (billing.minor_units(cost) >= 0),
    markup_percent      numeric(7,3) CHECK (markup_percent >= 0),
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) >= 0),
    state               text NOT NULL DEFAULT 'draft',
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, wip_entry_id),
    UNIQUE (firm_id, engagement_id, wip_entry_id),
    FOREIGN KEY (firm_id, engagement_id, engagement_version_id)
        REFERENCES billing.engagement_version (firm_id, engagement_id, engagement_version_id),
    FOREIGN KEY (firm_id, engagement_id, work_item_id)
        REFERENCES billing.work_item (firm_id, engagement_id, work_item_id),
    FOREIGN KEY (firm_id, staff_id) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, rate_id) REFERENCES billing.rate (firm_id, rate_id),
    FOREIGN KEY (firm_id, engagement_rate_id)
        REFERENCES billing.engagement_rate (firm_id, engagement_rate_id),
    -- What each kind must carry: time has minutes; a flat task a quantity
    -- and a unit price; an expense its cost.
    CONSTRAINT wip_entry_time_has_minutes CHECK (kind <> 'time' OR (minutes IS NOT NULL AND billable_minutes IS NOT NULL)),
    CONSTRAINT wip_entry_flat_task_has_quantity_and_price CHECK (kind <> 'flat' OR (quantity IS NOT NULL AND unit_price IS NOT NULL)),
    CONSTRAINT wip_entry_expense_has_a_cost CHECK (kind <> 'expense' OR cost IS NOT NULL),
    CONSTRAINT wip_entry_only_time_has_minutes CHECK (kind = 'time' OR (minutes IS NULL AND billable_minutes IS NULL)),
    CONSTRAINT wip_entry_has_at_most_one_rate CHECK (num_nonnulls(rate_id, engagement_rate_id) <= 1)
);
ALTER SEQUENCE billing.wip_entry_id_seq OWNED BY billing.wip_entry.wip_entry_id;

COMMENT ON TABLE billing.wip_entry IS
    'Work in progress: a time entry, a flat task or a pass-through expense, with the terms and rate that priced it. Billed at most once.';
COMMENT ON COLUMN billing.wip_entry.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.wip_entry.wip_entry_id IS 'Identifies the entry.';
COMMENT ON COLUMN billing.wip_entry.engagement_id IS 'The engagement the work was done under.';
COMMENT ON COLUMN billing.wip_entry.engagement_version_id IS 'The version of the terms in force on worked_on; it governed this entry.';
COMMENT ON COLUMN billing.wip_entry.work_item_id IS 'The work item the work was for.';
COMMENT ON COLUMN billing.wip_entry.kind IS 'time, flat (a task at a set price) or expense (a pass-through cost).';
COMMENT ON COLUMN billing.wip_entry.staff_id IS 'Who did the work or incurred the cost.';
COMMENT ON COLUMN billing.wip_entry.worked_on IS 'The day the work was done, in the firm''s calendar.';
COMMENT ON COLUMN billing.wip_entry.description IS 'What was done; the starting point of the invoice narrative.';
COMMENT ON COLUMN billing.wip_entry.work_type IS 'Kind of work (preparation, review, research, travel...); some are non-billable under the terms.';
COMMENT ON COLUMN billing.wip_entry.billable IS 'False for work recorded but never billed.';
COMMENT ON COLUMN billing.wip_entry.minutes IS 'Minutes recorded (time entries).';
COMMENT ON COLUMN billing.wip_entry.billable_minutes IS 'Minutes billed after the terms'' increment, rounding and minimum (time entries).';
COMMENT ON COLUMN billing.wip_entry.quantity IS 'Number of units (flat tasks).';
COMMENT ON COLUMN billing.wip_entry.rate_id IS 'The rate-card rate that priced the time, if one did.';
COMMENT ON COLUMN billing.wip_entry.engagement_rate_id IS 'The engagement override rate that priced the time, if one did.';
COMMENT ON COLUMN billing.wip_entry.unit_price IS 'Price of one hour (time) or one unit (flat) as resolved when recorded.';
COMMENT ON COLUMN billing.wip_entry.cost IS 'What the firm paid (expenses).';
COMMENT ON COLUMN billing.wip_entry.markup_percent IS 'Markup added to the cost under the terms (expenses).';
COMMENT ON COLUMN billing.wip_entry.amount IS 'Standard value of the entry: billable time at its rate, units at their price, or cost plus markup.';
COMMENT ON COLUMN billing.wip_entry.state IS 'Workflow state: draft, submitted, approved, on_hold, billed, written_off.';
COMMENT ON COLUMN billing.wip_entry.created_at IS 'When the entry was recorded.';

CREATE SEQUENCE billing.adjustment_id_seq;

CREATE TABLE billing.adjustment (
    firm_id             bigint NOT NULL,
    adjustment_id       bigint NOT NULL DEFAULT nextval('billing.adjustment_id_seq'),
    engagement_id       bigint NOT NULL,
    wip_entry_id        bigint,
    kind                text NOT NULL CHECK (kind IN
                            ('write_up', 'write_down', 'discount', 'write_off')),
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    reason_code         text NOT NULL,
    reason              text,
    requested_by        bigint NOT NULL,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    approved_by         bigint,
    approved_at         timestamptz,
    PRIMARY KEY (firm_id, adjustment_id),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, engagement_id, wip_entry_id)
        REFERENCES billing.wip_entry (firm_id, engagement_id, wip_entry_id),
    FOREIGN KEY (firm_id, reason_code) REFERENCES billing.reason_code (firm_id, reason_code),
    FOREIGN KEY (firm_id, requested_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, approved_by) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT adjustment_requester_cannot_approve CHECK (approved_by IS DISTINCT FROM requested_by),
    CONSTRAINT adjustment_approval_has_a_time CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
ALTER SEQUENCE billing.adjustment_id_seq OWNED BY billing.adjustment.adjustment_id;

COMMENT ON TABLE billing.adjustment IS
    'A write-up, write-down, discount or write-off of an engagement''s WIP, with its reason code and who asked for and approved it.';
COMMENT ON COLUMN billing.adjustment.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.adjustment.adjustment_id IS 'Identifies the adjustment.';
COMMENT ON COLUMN billing.adjustment.engagement_id IS 'The engagement whose billing is adjusted.';
COMMENT ON COLUMN billing.adjustment.wip_entry_id IS 'The WIP entry adjusted, when it is one entry; empty when it is spread over the engagement''s WIP on an invoice.';
COMMENT ON COLUMN billing.adjustment.kind IS 'write_up, write_down, discount or write_off.';
COMMENT ON COLUMN billing.adjustment.amount IS 'Size of the adjustment, always positive; the kind says which way it goes.';
COMMENT ON COLUMN billing.adjustment.reason_code IS 'Why, as one of the firm''s reason codes; required.';
COMMENT ON COLUMN billing.adjustment.reason IS 'Why, in words.';
COMMENT ON COLUMN billing.adjustment.requested_by IS 'Who proposed the adjustment.';
COMMENT ON COLUMN billing.adjustment.requested_at IS 'When it was proposed.';
COMMENT ON COLUMN billing.adjustment.approved_by IS 'Who approved it; never the person who proposed it.';
COMMENT ON COLUMN billing.adjustment.approved_at IS 'When it was approved.';
