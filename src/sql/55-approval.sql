-- 55-approval.sql: who must review what, and the reviews themselves.
--
-- Thresholds are data: an approval rule says which subjects (and which
-- reason codes, above which amount) need a reviewer of which level, and when
-- an unanswered request escalates.  An approval points at its subject with a
-- real foreign key per kind of subject, so a request can never name a record
-- that does not exist.

CREATE SEQUENCE billing.approval_rule_id_seq;

CREATE TABLE billing.approval_rule (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    approval_rule_id    bigint NOT NULL DEFAULT nextval('billing.approval_rule_id_seq'),
    subject             text NOT NULL CHECK (subject IN
                            ('adjustment', 'invoice', 'engagement_version',
                             'wip_entry', 'refund')),
    reason_code         text,
    min_amount          billing.amount CHECK (billing.minor_units(min_amount) >= 0),
    approver_level      billing.staff_level NOT NULL,
    escalate_after      interval CHECK (escalate_after > interval '0'),
    escalate_to_level   billing.staff_level,
    active              boolean NOT NULL DEFAULT true,
    PRIMARY KEY (firm_id, approval_rule_id),
    FOREIGN KEY (firm_id, reason_code) REFERENCES billing.reason_code (firm_id, reason_code),
    CONSTRAINT approval_rule_escalation_is_complete CHECK ((escalate_after IS NULL) = (escalate_to_level IS NULL)),
    CONSTRAINT approval_rule_escalates_upward CHECK (escalate_to_level IS NULL OR escalate_to_level > approver_level)
);
ALTER SEQUENCE billing.approval_rule_id_seq OWNED BY billing.approval_rule.approval_rule_id;

COMMENT ON TABLE billing.approval_rule IS
    'A rule that routes a kind of record to a reviewer: which subject, which reason code, from which amount, to which level, and when it escalates.';
COMMENT ON COLUMN billing.approval_rule.firm_id IS 'The firm whose rule it is.';
COMMENT ON COLUMN billing.approval_rule.approval_rule_id IS 'Identifies the rule.';
COMMENT ON COLUMN billing.approval_rule.subject IS 'What it applies to: adjustment, invoice, engagement_version, wip_entry, refund.';
COMMENT ON COLUMN billing.approval_rule.reason_code IS 'Only records with this reason code; empty for any.';
COMMENT ON COLUMN billing.approval_rule.min_amount IS 'Only records of at least this amount; empty for any amount.';
COMMENT ON COLUMN billing.approval_rule.approver_level IS 'The least staff level that may approve.';
COMMENT ON COLUMN billing.approval_rule.escalate_after IS 'How long a request may wait before it escalates; empty for never.';
COMMENT ON COLUMN billing.approval_rule.escalate_to_level IS 'The level an escalated request goes to.';
COMMENT ON COLUMN billing.approval_rule.active IS 'False for a rule no longer applied.';

CREATE SEQUENCE billing.approval_id_seq;

CREATE TABLE billing.approval (
    firm_id             bigint NOT NULL,
    approval_id         bigint NOT NULL DEFAULT nextval('billing.approval_id_seq'),
    approval_rule_id    bigint,
    adjustment_id       bigint,
    invoice_id          bigint,
    engagement_version_id bigint,
    wip_entry_id        bigint,
    refund_id           bigint,
    required_level      billing.staff_level NOT NULL,
    requested_by        bigint NOT NULL,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    assigned_to         bigint,
    decided_by          bigint,
    decided_at          timestamptz,
    decision_note       text,
    state               text NOT NULL DEFAULT 'pending',
    PRIMARY KEY (firm_id, approval_id),
    FOREIGN KEY (firm_id, approval_rule_id)
        REFERENCES billing.approval_rule (firm_id, approval_rule_id),
    FOREIGN KEY (firm_id, adjustment_id) REFERENCES billing.adjustment (firm_id, adjustment_id),
    FOREIGN KEY (firm_id, engagement_version_id)
        REFERENCES billing.engagement_version (firm_id, engagement_version_id),
    FOREIGN KEY (firm_id, wip_entry_id) REFERENCES billing.wip_entry (firm_id, wip_entry_id),
    FOREIGN KEY (firm_id, requested_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, assigned_to) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, decided_by) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT approval_has_one_subject CHECK (num_nonnulls(adjustment_id, invoice_id, engagement_version_id,
                        wip_entry_id, refund_id) = 1),
    CONSTRAINT approval_requester_cannot_decide CHECK (decided_by IS DISTINCT FROM requested_by),
    CONSTRAINT approval_decision_has_a_time CHECK ((decided_by IS NULL) = (decided_at IS NULL))
);
ALTER SEQUENCE billing.approval_id_seq OWNED BY billing.approval.approval_id;

COMMENT ON TABLE billing.approval IS
    'A request for review of one record (an adjustment, invoice, change order, WIP entry or refund) and its outcome. The person who asked never decides.';
COMMENT ON COLUMN billing.approval.firm_id IS 'The firm of the record under review.';
COMMENT ON COLUMN billing.approval.approval_id IS 'Identifies the request.';
COMMENT ON COLUMN billing.approval.approval_rule_id IS 'The rule that routed it, if a rule did.';
COMMENT ON COLUMN billing.approval.adjustment_id IS 'The adjustment under review, when that is the subject.';
COMMENT ON COLUMN billing.approval.invoice_id IS 'The invoice under review, when that is the subject.';
COMMENT ON COLUMN billing.approval.engagement_version_id IS 'The change order (new terms) under review, when that is the subject.';
COMMENT ON COLUMN billing.approval.wip_entry_id IS 'The WIP entry under review (over budget, say), when that is the subject.';
COMMENT ON COLUMN billing.approval.refund_id IS 'The refund under review, when that is the subject.';
COMMENT ON COLUMN billing.approval.required_level IS 'The least staff level that may decide.';
COMMENT ON COLUMN billing.approval.requested_by IS 'Who asked for the review; may not decide it.';
COMMENT ON COLUMN billing.approval.requested_at IS 'When it entered the review queue.';
COMMENT ON COLUMN billing.approval.assigned_to IS 'The reviewer whose queue it is in, if assigned to one person.';
COMMENT ON COLUMN billing.approval.decided_by IS 'Who approved or rejected it.';
COMMENT ON COLUMN billing.approval.decided_at IS 'When it was decided; with requested_at, the approval latency.';
COMMENT ON COLUMN billing.approval.decision_note IS 'What the reviewer said.';
COMMENT ON COLUMN billing.approval.state IS 'Workflow state: pending, approved, rejected, escalated.';
