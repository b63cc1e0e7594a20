-- 45-work.sql: the units of delivery (work items) and fixed-fee milestones.
--
-- A work item is what the client is promised: a return, a period's close, a
-- filing.  Its delivery signals (complete, filed, accepted, amended) are what
-- make billing happen: a filed return makes its milestone reached or its WIP
-- ready to invoice.

CREATE SEQUENCE billing.milestone_id_seq;

CREATE TABLE billing.milestone (
    firm_id             bigint NOT NULL,
    milestone_id        bigint NOT NULL DEFAULT nextval('billing.milestone_id_seq'),
    engagement_id       bigint NOT NULL,
    sequence_number     integer NOT NULL CHECK (sequence_number > 0),
    name                text NOT NULL CHECK (btrim(name) <> ''),
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) >= 0),
    due_on              date,
    state               text NOT NULL DEFAULT 'planned',
    PRIMARY KEY (firm_id, milestone_id),
    UNIQUE (firm_id, engagement_id, milestone_id),
    UNIQUE (firm_id, engagement_id, sequence_number),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id)
);
ALTER SEQUENCE billing.milestone_id_seq OWNED BY billing.milestone.milestone_id;

COMMENT ON TABLE billing.milestone IS
    'A scheduled part of a fixed fee that becomes billable when it is reached and approved.';
COMMENT ON COLUMN billing.milestone.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.milestone.milestone_id IS 'Identifies the milestone.';
COMMENT ON COLUMN billing.milestone.engagement_id IS 'The engagement whose fee it is part of.';
COMMENT ON COLUMN billing.milestone.sequence_number IS 'Order of the milestone in the engagement''s schedule.';
COMMENT ON COLUMN billing.milestone.name IS 'What is delivered, such as "Fieldwork complete".';
COMMENT ON COLUMN billing.milestone.amount IS 'The part of the fixed fee billed when it is approved.';
COMMENT ON COLUMN billing.milestone.due_on IS 'When it is planned to be reached.';
COMMENT ON COLUMN billing.milestone.state IS 'Workflow state: planned, reached, approved, invoiced.';

CREATE SEQUENCE billing.work_item_id_seq;

CREATE TABLE billing.work_item (
    firm_id             bigint NOT NULL,
    work_item_id        bigint NOT NULL DEFAULT nextval('billing.work_item_id_seq'),
    engagement_id       bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN
                            ('return', 'period_close', 'filing', 'review',
                             'audit_phase', 'consultation', 'other')),
    name                text NOT NULL CHECK (btrim(name) <> ''),
    period_start        date,
    period_end          date,
    due_on              date,
    milestone_id        bigint,
    state               text NOT NULL DEFAULT 'not_started',
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, work_item_id),
    UNIQUE (firm_id, engagement_id, work_item_id),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, engagement_id, milestone_id)
        REFERENCES billing.milestone (firm_id, engagement_id, milestone_id),
    CONSTRAINT work_item_period_ends_after_it_starts CHECK (period_end IS NULL OR period_start IS NULL OR period_end >= period_start)
);
ALTER SEQUENCE billing.work_item_id_seq OWNED BY billing.work_item.work_item_id;

COMMENT ON TABLE billing.work_item IS
    'A unit of delivery: a return, a period''s close, a filing. WIP is recorded against it, and its delivery signals can trigger billing.';
COMMENT ON COLUMN billing.work_item.firm_id IS 'The firm of the engagement.';
COMMENT ON COLUMN billing.work_item.work_item_id IS 'Identifies the work item.';
COMMENT ON COLUMN billing.work_item.engagement_id IS 'The engagement it is delivered under.';
COMMENT ON COLUMN billing.work_item.kind IS 'What it is: return, period_close, filing, review, audit_phase, consultation, other.';
COMMENT ON COLUMN billing.work_item.name IS 'Name, such as "Form 1040, tax year 2025" or "March 2026 close".';
COMMENT ON COLUMN billing.work_item.period_start IS 'First day of the period the work covers.';
COMMENT ON COLUMN billing.work_item.period_end IS 'Last day of the period the work covers.';
COMMENT ON COLUMN billing.work_item.due_on IS 'When it is due to the client or the authority; an overdue item raises an alert.';
COMMENT ON COLUMN billing.work_item.milestone_id IS 'The fixed-fee milestone its delivery reaches, if any.';
COMMENT ON COLUMN billing.work_item.state IS 'Workflow state: not_started, in_progress, complete, filed, accepted, amended, cancelled.';
COMMENT ON COLUMN billing.work_item.created_at IS 'When the work item was created.';

CREATE TABLE billing.work_item_assignee (
    firm_id             bigint NOT NULL,
    work_item_id        bigint NOT NULL,
    staff_id            bigint NOT NULL,
    role                text NOT NULL CHECK (role IN ('preparer', 'reviewer', 'signer')),
    PRIMARY KEY (firm_id, work_item_id, staff_id, role),
    FOREIGN KEY (firm_id, work_item_id) REFERENCES billing.work_item (firm_id, work_item_id),
    FOREIGN KEY (firm_id, staff_id) REFERENCES billing.staff (firm_id, staff_id)
);

COMMENT ON TABLE billing.work_item_assignee IS
    'Who is assigned to a work item, and as what: preparer, reviewer or signer.';
COMMENT ON COLUMN billing.work_item_assignee.firm_id IS 'The firm of the work item.';
COMMENT ON COLUMN billing.work_item_assignee.work_item_id IS 'The work item.';
COMMENT ON COLUMN billing.work_item_assignee.staff_id IS 'The person assigned.';
COMMENT ON COLUMN billing.work_item_assignee.role IS 'What they do on it: preparer, reviewer, signer.';
