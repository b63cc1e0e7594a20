-- 69-alert.sql: alerts for people and events for other systems.
--
-- Both are rows written in the transaction that caused them, so they vanish
-- when it rolls back and a consumer never hears of something that did not
-- happen.  integration_event is an outbox: the durable way out for other
-- systems, which read it in order and record how far they got.  (NOTIFY
-- alone is not durable and does not reach a listener from a Citus worker.)

CREATE SEQUENCE billing.alert_id_seq;

CREATE TABLE billing.alert (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    alert_id            bigint NOT NULL DEFAULT nextval('billing.alert_id_seq'),
    kind                text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    subject_table       text NOT NULL,
    subject_id          bigint NOT NULL,
    message             text NOT NULL,
    details             jsonb NOT NULL DEFAULT '{}',
    raised_at           timestamptz NOT NULL DEFAULT now(),
    acknowledged_by     bigint,
    acknowledged_at     timestamptz,
    PRIMARY KEY (firm_id, alert_id),
    FOREIGN KEY (firm_id, acknowledged_by) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT alert_acknowledgement_has_a_time CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL))
);
ALTER SEQUENCE billing.alert_id_seq OWNED BY billing.alert.alert_id;

COMMENT ON TABLE billing.alert IS
    'Something a person must look at: a budget threshold crossed, a retainer below its threshold, an overdue work item, an escalated approval.';
COMMENT ON COLUMN billing.alert.firm_id IS 'The firm alerted.';
COMMENT ON COLUMN billing.alert.alert_id IS 'Identifies the alert.';
COMMENT ON COLUMN billing.alert.kind IS 'What happened, such as budget_threshold, retainer_threshold, work_item_overdue, approval_escalated.';
COMMENT ON COLUMN billing.alert.subject_table IS 'The table of the record the alert is about, such as billing.engagement.';
COMMENT ON COLUMN billing.alert.subject_id IS 'The id of that record.';
COMMENT ON COLUMN billing.alert.message IS 'What happened, in a sentence for a person.';
COMMENT ON COLUMN billing.alert.details IS 'The figures behind it, for programs.';
COMMENT ON COLUMN billing.alert.raised_at IS 'When it was raised.';
COMMENT ON COLUMN billing.alert.acknowledged_by IS 'Who acknowledged it.';
COMMENT ON COLUMN billing.alert.acknowledged_at IS 'When it was acknowledged.';

CREATE SEQUENCE billing.integration_event_id_seq;

CREATE TABLE billing.integration_event (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    integration_event_id bigint NOT NULL DEFAULT nextval('billing.integration_event_id_seq'),
    topic               text NOT NULL CHECK (topic ~ '^[a-z][a-z0-9_.]*$'),
    subject_table       text NOT NULL,
    subject_id          bigint NOT NULL,
    payload             jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, integration_event_id)
);
ALTER SEQUENCE billing.integration_event_id_seq OWNED BY billing.integration_event.integration_event_id;

COMMENT ON TABLE billing.integration_event IS
    'Outbox of events for other systems (invoice.finalized, payment.posted...), written in the transaction that caused them; consumers read it in id order.';
COMMENT ON COLUMN billing.integration_event.firm_id IS 'The firm the event belongs to.';
COMMENT ON COLUMN billing.integration_event.integration_event_id IS 'Identifies the event; increases in commit order within a session, so consumers read by id.';
COMMENT ON COLUMN billing.integration_event.topic IS 'What happened, such as invoice.finalized or payment.posted.';
COMMENT ON COLUMN billing.integration_event.subject_table IS 'The table of the record concerned.';
COMMENT ON COLUMN billing.integration_event.subject_id IS 'The id of that record.';
COMMENT ON COLUMN billing.integration_event.payload IS 'What a consumer needs to act without reading back.';
COMMENT ON COLUMN billing.integration_event.created_at IS 'When the event was written.';
