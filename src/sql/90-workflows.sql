-- 90-workflows.sql: the workflows of the brief as data, attached to the
-- model's tables; the guards they use; what "complete", "billable", "ready
-- to invoice" and "approved" mean; voiding an invoice releasing its WIP;
-- delivery rules that turn a work item's delivery into billing; overdue
-- work item alerts.  doc/workflow.md draws each workflow.

INSERT INTO billing.workflow (workflow, description, shipped) VALUES
    ('wip_entry', 'Work in progress: recorded, submitted, approved, billed, or written off.', true),
    ('work_item', 'A unit of delivery, from not started to filed, accepted or amended.', true),
    ('milestone', 'A fixed-fee milestone: planned, reached, approved, invoiced.', true),
    ('engagement', 'An engagement: proposed, active, on hold, closed.', true),
    ('engagement_version', 'The terms of an engagement over a period: drafted, approved or rejected.', true),
    ('approval', 'A request for approval: pending, approved, rejected or escalated.', true),
    ('invoice', 'An invoice: drafted, reviewed, approved, finalized, sent, paid, or voided.', true),
    ('payment', 'A payment: received, posted, reconciled, or reversed.', true),
    ('client_question', 'A client''s question about an invoice: open, routed, answered, closed.', true);

INSERT INTO billing.workflow_state (workflow, state, is_initial, is_final, freezes, description, shipped)
SELECT workflow, state, is_initial, is_final, freezes, description, true
  FROM (VALUES
    ('wip_entry', 'draft', true, false, false, 'Recorded by the person who did the work; still theirs to change.'),
    ('wip_entry', 'submitted', false, false, false, 'Handed in for review.'),
    ('wip_entry', 'approved', false, false, false, 'Reviewed and accepted: billable at the next invoice.'),
    ('wip_entry', 'on_hold', false, false, false, 'Kept off invoices for a reason (client hold, dispute).'),
    ('wip_entry', 'billed', false, false, false, 'On an invoice; returns to approved only if that invoice is voided.'),
    ('wip_entry', 'written_off', false, true, false, 'Will never be billed; the reason is recorded.'),
    ('work_item', 'not_started', true, false, false, 'Planned, no work yet.'),
    ('work_item', 'in_progress', false, false, false, 'Being worked on.'),
    ('work_item', 'complete', false, false, false, 'The work is done.'),
    ('work_item', 'filed', false, false, false, 'Filed with the authority.'),
    ('work_item', 'accepted', false, false, false, 'Accepted by the authority or the client.'),
    ('work_item', 'amended', false, false, false, 'Reopened to file an amendment.'),
    ('work_item', 'cancelled', false, true, false, 'Will not be delivered.'),
    ('milestone', 'planned', true, false, false, 'Scheduled, not reached.'),
    ('milestone', 'reached', false, false, false, 'Delivered, waiting for approval to bill.'),
    ('milestone', 'approved', false, false, false, 'Approved for billing.'),
    ('milestone', 'invoiced', false, false, false, 'On an invoice; returns to approved only if that invoice is voided.'),
    ('engagement', 'proposed', true, false, false, 'Proposed to the client; no work yet.'),
    ('engagement', 'active', false, false, false, 'Work and billing under way.'),
    ('engagement', 'on_hold', false, false, false, 'Paused for a reason.'),
    ('engagement', 'closed', false, true, false, 'Finished or declined.'),
    ('engagement_version', 'draft', true, false, false, 'Terms being drafted.'),
    ('engagement_version', 'pending_approval', true, false, false, 'Waiting for a partner; a change order starts here.'),
    ('engagement_version', 'approved', false, false, false, 'In force; frozen once it has governed work or an invoice (src/sql/75-terms.sql).'),
    ('engagement_version', 'rejected', false, false, false, 'Turned down; may be reworked as a draft.'),
    ('approval', 'pending', true, false, false, 'Waiting for a decision.'),
    ('approval', 'approved', false, true, false, 'Approved.'),
    ('approval', 'rejected', false, true, false, 'Rejected; the reason is recorded.'),
    ('approval', 'escalated', false, false, false, 'Waited too long; now with a more senior reviewer.'),
    ('invoice', 'draft', true, false, false, 'Being prepared.'),
    ('invoice', 'in_review', false, false, false, 'With a reviewer.'),
    ('invoice', 'approved', false, false, false, 'Approved, not yet numbered.'),
    ('invoice', 'finalized', false, false, true, 'Numbered; its contents are frozen.'),
    ('invoice', 'sent', false, false, true, 'Sent to the client.'),
    ('invoice', 'partially_paid', false, false, true, 'Part of it is paid.'),
    ('invoice', 'paid', false, false, true, 'Paid in full.'),
    ('invoice', 'void', false, true, true, 'Cancelled; its WIP is released. Corrections are new invoices.'),
    ('payment', 'received', true, false, false, 'Recorded, allocations may change.'),
    ('payment', 'posted', false, false, true, 'Posted to the books; frozen.'),
    ('payment', 'reconciled', false, false, true, 'Matched to a bank deposit.'),
    ('payment', 'reversed', false, true, true, 'Reversed (returned, bounced); the reason is recorded.'),
    ('client_question', 'open', true, false, false, 'Asked, not yet routed.'),
    ('client_question', 'routed', false, false, false, 'With the person who can answer.'),
    ('client_question', 'answered', false, false, false, 'Answered, waiting for the client.'),
    ('client_question', 'closed', false, true, false, 'Settled.')
  ) AS s(workflow, state, is_initial, is_final, freezes, description);

-- Guards: each takes (firm_id, record id) and sees the record as it is
-- before the move.
CREATE FUNCTION billing.engagement_has_approved_terms(firm_id bigint, engagement_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.engagement_version v
                    WHERE v.firm_id OPERATOR(pg_catalog.=) $1
                      AND v.engagement_id OPERATOR(pg_catalog.=) $2
                      AND billing.state_means('engagement_version', v.state, 'approved'))
$$;
COMMENT ON FUNCTION billing.engagement_has_approved_terms(bigint, bigint) IS
    'Guard: the engagement has an approved version of its terms.';

CREATE FUNCTION billing.invoice_has_lines(firm_id bigint, invoice_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.invoice_line l
                    WHERE l.firm_id OPERATOR(pg_catalog.=) $1
                      AND l.invoice_id OPERATOR(pg_catalog.=) $2)
$$;
COMMENT ON FUNCTION billing.invoice_has_lines(bigint, bigint) IS
    'Guard: the invoice has at least one line.';

CREATE FUNCTION billing.invoice_wip_approved(firm_id bigint, invoice_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT FROM billing.invoice_line_wip lw
                         JOIN billing.wip_entry w
                           ON w.firm_id OPERATOR(pg_catalog.=) lw.firm_id
                          AND w.wip_entry_id OPERATOR(pg_catalog.=) lw.wip_entry_id
                        WHERE lw.firm_id OPERATOR(pg_catalog.=) $1
                          AND lw.invoice_id OPERATOR(pg_catalog.=) $2
                          AND NOT billing.state_means('wip_entry', w.state, 'approved'))
$$;
COMMENT ON FUNCTION billing.invoice_wip_approved(bigint, bigint) IS
    'Guard: every WIP entry on the invoice is approved.';

CREATE FUNCTION billing.invoice_has_no_payments(firm_id bigint, invoice_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT FROM billing.payment_allocation a
                         JOIN billing.payment p
                           ON p.firm_id OPERATOR(pg_catalog.=) a.firm_id
                          AND p.payment_id OPERATOR(pg_catalog.=) a.payment_id
                        WHERE a.firm_id OPERATOR(pg_catalog.=) $1
                          AND a.invoice_id OPERATOR(pg_catalog.=) $2
                          AND p.state OPERATOR(pg_catalog.<>) 'reversed')
$$;
COMMENT ON FUNCTION billing.invoice_has_no_payments(bigint, bigint) IS
    'Guard: no payment (other than a reversed one) is allocated to the invoice.';

CREATE FUNCTION billing.invoice_paid_in_full(firm_id bigint, invoice_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT pg_catalog.sum(billing.minor_units(a.amount))
                       FROM billing.payment_allocation a
                       JOIN billing.payment p
                         ON p.firm_id OPERATOR(pg_catalog.=) a.firm_id
                        AND p.payment_id OPERATOR(pg_catalog.=) a.payment_id
                      WHERE a.firm_id OPERATOR(pg_catalog.=) $1
                        AND a.invoice_id OPERATOR(pg_catalog.=) $2
                        AND p.state OPERATOR(pg_catalog.<>) 'reversed'), 0)
           OPERATOR(pg_catalog.>=)
           (SELECT billing.minor_units(i.total) FROM billing.invoice i
             WHERE i.firm_id OPERATOR(pg_catalog.=) $1
               AND i.invoice_id OPERATOR(pg_catalog.=) $2)
$$;
COMMENT ON FUNCTION billing.invoice_paid_in_full(bigint, bigint) IS
    'Guard: payments allocated to the invoice (not reversed) cover its total.';

CREATE FUNCTION billing.invoice_partly_paid(firm_id bigint, invoice_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT billing.invoice_has_no_payments($1, $2)
       AND NOT coalesce(billing.invoice_paid_in_full($1, $2), false)
$$;
COMMENT ON FUNCTION billing.invoice_partly_paid(bigint, bigint) IS
    'Guard: some but not all of the invoice''s total is covered by payments.';

CREATE FUNCTION billing.wip_on_open_invoice(firm_id bigint, wip_entry_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.invoice_line_wip lw
                     JOIN billing.invoice i
                       ON i.firm_id OPERATOR(pg_catalog.=) lw.firm_id
                      AND i.invoice_id OPERATOR(pg_catalog.=) lw.invoice_id
                    WHERE lw.firm_id OPERATOR(pg_catalog.=) $1
                      AND lw.wip_entry_id OPERATOR(pg_catalog.=) $2
                      AND i.state OPERATOR(pg_catalog.<>) 'void')
$$;
COMMENT ON FUNCTION billing.wip_on_open_invoice(bigint, bigint) IS
    'Guard: the WIP entry is on an invoice that is not void.';

CREATE FUNCTION billing.wip_released(firm_id bigint, wip_entry_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT billing.wip_on_open_invoice($1, $2)
$$;
COMMENT ON FUNCTION billing.wip_released(bigint, bigint) IS
    'Guard: every invoice the WIP entry was on has been voided.';

CREATE FUNCTION billing.milestone_on_open_invoice(firm_id bigint, milestone_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.invoice_line l
                     JOIN billing.invoice i
                       ON i.firm_id OPERATOR(pg_catalog.=) l.firm_id
                      AND i.invoice_id OPERATOR(pg_catalog.=) l.invoice_id
                    WHERE l.firm_id OPERATOR(pg_catalog.=) $1
                      AND l.milestone_id OPERATOR(pg_catalog.=) $2
                      AND i.state OPERATOR(pg_catalog.<>) 'void')
$$;
COMMENT ON FUNCTION billing.milestone_on_open_invoice(bigint, bigint) IS
    'Guard: the milestone is billed on an invoice that is not void.';

CREATE FUNCTION billing.milestone_released(firm_id bigint, milestone_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT billing.milestone_on_open_invoice($1, $2)
$$;
COMMENT ON FUNCTION billing.milestone_released(bigint, bigint) IS
    'Guard: every invoice the milestone was billed on has been voided.';

CREATE FUNCTION billing.payment_has_deposit(firm_id bigint, payment_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.payment p
                    WHERE p.firm_id OPERATOR(pg_catalog.=) $1
                      AND p.payment_id OPERATOR(pg_catalog.=) $2
                      AND p.deposit_id IS NOT NULL)
$$;
COMMENT ON FUNCTION billing.payment_has_deposit(bigint, bigint) IS
    'Guard: the payment is matched to a bank deposit (set deposit_id first, then move).';

CREATE FUNCTION billing.approval_level_met(firm_id bigint, approval_id bigint)
    RETURNS boolean LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM billing.approval a
                     JOIN billing.staff s
                       ON s.firm_id OPERATOR(pg_catalog.=) a.firm_id
                      AND s.staff_id OPERATOR(pg_catalog.=) billing.acting_staff_id($1)
                    WHERE a.firm_id OPERATOR(pg_catalog.=) $1
                      AND a.approval_id OPERATOR(pg_catalog.=) $2
                      AND s.level OPERATOR(pg_catalog.>=) a.required_level)
$$;
COMMENT ON FUNCTION billing.approval_level_met(bigint, bigint) IS
    'Guard: the acting staff member''s level is at least the level the approval requires.';

INSERT INTO billing.workflow_transition
    (workflow, from_state, to_state, min_level, billing_admin, reason_required,
     guard, guard_rule, segregation_column, description, shipped)
SELECT workflow, from_state, to_state, min_level::billing.staff_level, billing_admin, reason_required,
       guard, guard_rule, segregation_column, description, true
  FROM (VALUES
    -- WIP: the person who did the work may not approve it.
    ('wip_entry', 'draft', 'submitted', NULL, false, false, NULL, NULL, NULL, 'Hand in for review.'),
    ('wip_entry', 'submitted', 'draft', 'senior', false, false, NULL, NULL, NULL, 'Return for correction.'),
    ('wip_entry', 'submitted', 'approved', 'manager', false, false, NULL, NULL, 'staff_id', 'Approve for billing.'),
    ('wip_entry', 'submitted', 'on_hold', 'manager', false, true, NULL, NULL, NULL, 'Hold before approval.'),
    ('wip_entry', 'approved', 'on_hold', 'manager', false, true, NULL, NULL, NULL, 'Keep off invoices for now.'),
    ('wip_entry', 'on_hold', 'approved', 'manager', false, false, NULL, NULL, 'staff_id', 'Release the hold.'),
    ('wip_entry', 'approved', 'billed', NULL, false, false, 'billing.wip_on_open_invoice(bigint,bigint)',
        'the entry is on an invoice that is not void', NULL, 'Billed by an invoice.'),
    ('wip_entry', 'billed', 'approved', NULL, false, false, 'billing.wip_released(bigint,bigint)',
        'every invoice the entry was on has been voided', NULL, 'Released by a voided invoice.'),
    ('wip_entry', 'draft', 'written_off', 'manager', false, true, NULL, NULL, NULL, 'Write off.'),
    ('wip_entry', 'submitted', 'written_off', 'manager', false, true, NULL, NULL, NULL, 'Write off.'),
    ('wip_entry', 'approved', 'written_off', 'manager', false, true, NULL, NULL, NULL, 'Write off.'),
    ('wip_entry', 'on_hold', 'written_off', 'manager', false, true, NULL, NULL, NULL, 'Write off.'),
    -- Work items: delivery signals; cancelling needs a reason.
    ('work_item', 'not_started', 'in_progress', NULL, false, false, NULL, NULL, NULL, 'Start.'),
    ('work_item', 'in_progress', 'complete', NULL, false, false, NULL, NULL, NULL, 'Finish the work.'),
    ('work_item', 'complete', 'in_progress', NULL, false, true, NULL, NULL, NULL, 'Reopen.'),
    ('work_item', 'complete', 'filed', NULL, false, false, NULL, NULL, NULL, 'File with the authority.'),
    ('work_item', 'complete', 'accepted', NULL, false, false, NULL, NULL, NULL, 'Accepted by the client.'),
    ('work_item', 'filed', 'accepted', NULL, false, false, NULL, NULL, NULL, 'Accepted by the authority.'),
    ('work_item', 'filed', 'amended', 'senior', false, true, NULL, NULL, NULL, 'Reopen to amend.'),
    ('work_item', 'accepted', 'amended', 'senior', false, true, NULL, NULL, NULL, 'Reopen to amend.'),
    ('work_item', 'amended', 'filed', NULL, false, false, NULL, NULL, NULL, 'File the amendment.'),
    ('work_item', 'not_started', 'cancelled', 'manager', false, true, NULL, NULL, NULL, 'Cancel.'),
    ('work_item', 'in_progress', 'cancelled', 'manager', false, true, NULL, NULL, NULL, 'Cancel.'),
    -- Milestones.
    ('milestone', 'planned', 'reached', NULL, false, false, NULL, NULL, NULL, 'Delivered.'),
    ('milestone', 'reached', 'planned', 'manager', false, true, NULL, NULL, NULL, 'Not delivered after all.'),
    ('milestone', 'reached', 'approved', 'manager', false, false, NULL, NULL, NULL, 'Approve for billing.'),
    ('milestone', 'approved', 'invoiced', NULL, false, false, 'billing.milestone_on_open_invoice(bigint,bigint)',
        'the milestone is on an invoice that is not void', NULL, 'Billed by an invoice.'),
    ('milestone', 'invoiced', 'approved', NULL, false, false, 'billing.milestone_released(bigint,bigint)',
        'every invoice the milestone was on has been voided', NULL, 'Released by a voided invoice.'),
    -- Engagements.
    ('engagement', 'proposed', 'active', 'manager', false, false, 'billing.engagement_has_approved_terms(bigint,bigint)',
        'the engagement has approved terms', NULL, 'Start the engagement.'),
    ('engagement', 'proposed', 'closed', 'manager', false, true, NULL, NULL, NULL, 'Declined or withdrawn.'),
    ('engagement', 'active', 'on_hold', 'manager', false, true, NULL, NULL, NULL, 'Pause.'),
    ('engagement', 'on_hold', 'active', 'manager', false, false, NULL, NULL, NULL, 'Resume.'),
    ('engagement', 'active', 'closed', 'partner', false, false, NULL, NULL, NULL, 'Close.'),
    ('engagement', 'on_hold', 'closed', 'partner', false, true, NULL, NULL, NULL, 'Close while paused.'),
    -- Terms: whoever requested a version may not approve it.
    ('engagement_version', 'draft', 'pending_approval', NULL, false, false, NULL, NULL, NULL, 'Ask for approval.'),
    ('engagement_version', 'pending_approval', 'draft', NULL, false, false, NULL, NULL, NULL, 'Withdraw.'),
    ('engagement_version', 'pending_approval', 'approved', 'partner', false, false, NULL, NULL, 'requested_by', 'Approve the terms.'),
    ('engagement_version', 'pending_approval', 'rejected', 'partner', false, false, NULL, NULL, 'requested_by', 'Reject the terms (the approval records why).'),
    ('engagement_version', 'rejected', 'draft', NULL, false, false, NULL, NULL, NULL, 'Rework.'),
    -- Approvals: the requester may not decide; the decider needs the level
    -- the approval asks for.
    ('approval', 'pending', 'approved', NULL, false, false, 'billing.approval_level_met(bigint,bigint)',
        'the approver''s level is at least the level the approval requires', 'requested_by', 'Approve.'),
    ('approval', 'pending', 'rejected', NULL, false, false, 'billing.approval_level_met(bigint,bigint)',
        'the approver''s level is at least the level the approval requires', 'requested_by', 'Reject.'),
    ('approval', 'pending', 'escalated', NULL, false, false, NULL, NULL, NULL, 'Escalate after waiting too long.'),
    ('approval', 'escalated', 'approved', NULL, false, false, 'billing.approval_level_met(bigint,bigint)',
        'the approver''s level is at least the level the approval requires', 'requested_by', 'Approve.'),
    ('approval', 'escalated', 'rejected', NULL, false, false, 'billing.approval_level_met(bigint,bigint)',
        'the approver''s level is at least the level the approval requires', 'requested_by', 'Reject.'),
    -- Invoices: whoever prepared one may not approve it; billing admins
    -- finalize; voiding needs a reason and releases the WIP.
    ('invoice', 'draft', 'in_review', NULL, false, false, 'billing.invoice_has_lines(bigint,bigint)',
        'the invoice has at least one line', NULL, 'Send for review.'),
    ('invoice', 'in_review', 'draft', NULL, false, false, NULL, NULL, NULL, 'Return to the preparer.'),
    ('invoice', 'in_review', 'approved', 'manager', false, false, 'billing.invoice_wip_approved(bigint,bigint)',
        'every WIP entry on the invoice is approved', 'prepared_by', 'Approve.'),
    ('invoice', 'approved', 'draft', NULL, false, true, NULL, NULL, NULL, 'Reopen before finalizing.'),
    ('invoice', 'approved', 'finalized', NULL, true, false, 'billing.invoice_wip_approved(bigint,bigint)',
        'every WIP entry on the invoice is approved', NULL, 'Number and freeze.'),
    ('invoice', 'finalized', 'sent', NULL, false, false, NULL, NULL, NULL, 'Sent to the client.'),
    ('invoice', 'finalized', 'partially_paid', NULL, false, false, 'billing.invoice_partly_paid(bigint,bigint)',
        'payments cover part of the total', NULL, 'Paid in part before it was sent.'),
    ('invoice', 'finalized', 'paid', NULL, false, false, 'billing.invoice_paid_in_full(bigint,bigint)',
        'payments cover the total', NULL, 'Paid before it was sent.'),
    ('invoice', 'sent', 'partially_paid', NULL, false, false, 'billing.invoice_partly_paid(bigint,bigint)',
        'payments cover part of the total', NULL, 'Paid in part.'),
    ('invoice', 'sent', 'paid', NULL, false, false, 'billing.invoice_paid_in_full(bigint,bigint)',
        'payments cover the total', NULL, 'Paid in full.'),
    ('invoice', 'partially_paid', 'paid', NULL, false, false, 'billing.invoice_paid_in_full(bigint,bigint)',
        'payments cover the total', NULL, 'Paid in full.'),
    ('invoice', 'paid', 'partially_paid', NULL, true, true, 'billing.invoice_partly_paid(bigint,bigint)',
        'payments cover part of the total', NULL, 'A payment was reversed.'),
    ('invoice', 'partially_paid', 'sent', NULL, true, true, 'billing.invoice_has_no_payments(bigint,bigint)',
        'no payment is allocated to the invoice', NULL, 'Its only payment was reversed.'),
    ('invoice', 'draft', 'void', NULL, false, true, NULL, NULL, NULL, 'Abandon.'),
    ('invoice', 'in_review', 'void', NULL, false, true, NULL, NULL, NULL, 'Abandon.'),
    ('invoice', 'approved', 'void', NULL, false, true, NULL, NULL, NULL, 'Abandon.'),
    ('invoice', 'finalized', 'void', 'partner', false, true, 'billing.invoice_has_no_payments(bigint,bigint)',
        'no payment is allocated to the invoice', NULL, 'Void; correct with a new invoice.'),
    ('invoice', 'sent', 'void', 'partner', false, true, 'billing.invoice_has_no_payments(bigint,bigint)',
        'no payment is allocated to the invoice', NULL, 'Void; correct with a credit note or a new invoice.'),
    -- Payments: frozen once posted; reversals need a reason.
    ('payment', 'received', 'posted', NULL, true, false, NULL, NULL, NULL, 'Post to the books.'),
    ('payment', 'received', 'reversed', NULL, true, true, NULL, NULL, NULL, 'Returned before posting.'),
    ('payment', 'posted', 'reconciled', NULL, true, false, 'billing.payment_has_deposit(bigint,bigint)',
        'the payment is matched to a bank deposit', NULL, 'Matched to the bank.'),
    ('payment', 'posted', 'reversed', NULL, true, true, NULL, NULL, NULL, 'Reverse.'),
    ('payment', 'reconciled', 'reversed', NULL, true, true, NULL, NULL, NULL, 'Reverse.'),
    -- Client questions.
    ('client_question', 'open', 'routed', NULL, false, false, NULL, NULL, NULL, 'Route to someone who can answer.'),
    ('client_question', 'open', 'answered', NULL, false, false, NULL, NULL, NULL, 'Answer at once.'),
    ('client_question', 'routed', 'answered', NULL, false, false, NULL, NULL, NULL, 'Answer.'),
    ('client_question', 'routed', 'open', NULL, false, false, NULL, NULL, NULL, 'Send back for routing.'),
    ('client_question', 'answered', 'routed', NULL, false, false, NULL, NULL, NULL, 'The client asks again.'),
    ('client_question', 'answered', 'closed', NULL, false, false, NULL, NULL, NULL, 'Settled.'),
    ('client_question', 'open', 'closed', NULL, false, true, NULL, NULL, NULL, 'Closed without an answer.')
  ) AS t(workflow, from_state, to_state, min_level, billing_admin, reason_required,
         guard, guard_rule, segregation_column, description);

-- The meanings, defined once.
INSERT INTO billing.workflow_meaning (meaning, description, shipped) VALUES
    ('complete', 'Delivered: no more work is needed before it can be billed.', true),
    ('billable', 'Will be billed, now or later: not written off, not billed yet.', true),
    ('ready_to_invoice', 'May go on the next invoice now.', true),
    ('approved', 'A reviewer has approved it (and it has not been undone).', true);

INSERT INTO billing.workflow_state_meaning (workflow, state, meaning, shipped)
SELECT workflow, state, meaning, true
  FROM (VALUES
    ('wip_entry', 'submitted', 'billable'), ('wip_entry', 'approved', 'billable'),
    ('wip_entry', 'on_hold', 'billable'), ('wip_entry', 'approved', 'ready_to_invoice'),
    ('wip_entry', 'approved', 'approved'), ('wip_entry', 'billed', 'approved'),
    ('work_item', 'complete', 'complete'), ('work_item', 'filed', 'complete'),
    ('work_item', 'accepted', 'complete'),
    ('milestone', 'reached', 'complete'), ('milestone', 'approved', 'complete'),
    ('milestone', 'invoiced', 'complete'), ('milestone', 'reached', 'billable'),
    ('milestone', 'approved', 'billable'), ('milestone', 'approved', 'ready_to_invoice'),
    ('milestone', 'approved', 'approved'), ('milestone', 'invoiced', 'approved'),
    ('engagement', 'active', 'billable'),
    ('engagement_version', 'approved', 'approved'),
    ('approval', 'approved', 'approved'),
    ('invoice', 'approved', 'approved'), ('invoice', 'finalized', 'approved'),
    ('invoice', 'sent', 'approved'), ('invoice', 'partially_paid', 'approved'),
    ('invoice', 'paid', 'approved'), ('invoice', 'paid', 'complete'),
    ('payment', 'posted', 'approved'), ('payment', 'reconciled', 'approved'),
    ('payment', 'reconciled', 'complete'),
    ('client_question', 'closed', 'complete')
  ) AS m(workflow, state, meaning);

-- Attach them.
SELECT billing.enforce_workflow('billing.wip_entry', 'state', 'wip_entry');
SELECT billing.enforce_workflow('billing.work_item', 'state', 'work_item');
SELECT billing.enforce_workflow('billing.milestone', 'state', 'milestone');
SELECT billing.enforce_workflow('billing.engagement', 'state', 'engagement');
SELECT billing.enforce_workflow('billing.engagement_version', 'state', 'engagement_version');
SELECT billing.enforce_workflow('billing.approval', 'state', 'approval');
SELECT billing.enforce_workflow('billing.invoice', 'state', 'invoice');
SELECT billing.enforce_workflow('billing.payment', 'state', 'payment');
SELECT billing.enforce_workflow('billing.client_question', 'state', 'client_question');

-- Frozen records and their children.  A voided invoice gets its void
-- reason in the move that voids it; a posted payment is matched to its
-- deposit.  Engagement versions are frozen by the terms part once they
-- have governed work or an invoice, which is the rule the brief states.
SELECT billing.freeze_records('billing.invoice', 'invoice', 'state', NULL, '{void_reason_code,void_reason}');
SELECT billing.freeze_children('billing.invoice_line', 'billing.invoice');
SELECT billing.freeze_children('billing.invoice_line_wip', 'billing.invoice_line');
SELECT billing.freeze_children('billing.invoice_reference', 'billing.invoice');
SELECT billing.freeze_records('billing.payment', 'payment', 'state', NULL, '{deposit_id}');
SELECT billing.freeze_children('billing.payment_allocation', 'billing.payment');

-- Voiding an invoice releases what it billed: its WIP entries go back to
-- approved and its milestones to approved, each through its own workflow.
CREATE FUNCTION billing.invoice_release_on_void() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.<>) 'UPDATE' OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR TG_LEVEL OPERATOR(pg_catalog.<>) 'ROW' THEN
        RAISE EXCEPTION 'billing.invoice_release_on_void() must be fired AFTER UPDATE FOR EACH ROW'
            USING ERRCODE = 'trigger_protocol_violated';
    END IF;
    UPDATE billing.wip_entry w SET state = 'approved'
      FROM billing.invoice_line_wip lw
     WHERE lw.firm_id OPERATOR(pg_catalog.=) NEW.firm_id
       AND lw.invoice_id OPERATOR(pg_catalog.=) NEW.invoice_id
       AND w.firm_id OPERATOR(pg_catalog.=) lw.firm_id
       AND w.wip_entry_id OPERATOR(pg_catalog.=) lw.wip_entry_id
       AND w.state OPERATOR(pg_catalog.=) 'billed';
    UPDATE billing.milestone m SET state = 'approved'
      FROM billing.invoice_line l
     WHERE l.firm_id OPERATOR(pg_catalog.=) NEW.firm_id
       AND l.invoice_id OPERATOR(pg_catalog.=) NEW.invoice_id
       AND m.firm_id OPERATOR(pg_catalog.=) l.firm_id
       AND m.milestone_id OPERATOR(pg_catalog.=) l.milestone_id
       AND m.state OPERATOR(pg_catalog.=) 'invoiced';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION billing.invoice_release_on_void() IS
    'Trigger on billing.invoice: when an invoice is voided, its billed WIP and invoiced milestones return to approved.';

CREATE TRIGGER billing_invoice_release_on_void
    AFTER UPDATE OF state ON billing.invoice
    FOR EACH ROW WHEN (NEW.state = 'void' AND OLD.state IS DISTINCT FROM 'void')
    EXECUTE FUNCTION billing.invoice_release_on_void();

-- Delivery signals become billing: a firm's rules, as data.
CREATE SEQUENCE billing.delivery_rule_id_seq;

CREATE TABLE billing.delivery_rule (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    delivery_rule_id    bigint NOT NULL DEFAULT nextval('billing.delivery_rule_id_seq'),
    work_item_kind      text,
    on_state            text NOT NULL CHECK (on_state IN ('complete', 'filed', 'accepted', 'amended')),
    action              text NOT NULL CHECK (action IN ('milestone_reached', 'wip_ready_to_invoice', 'queue_for_invoice')),
    active              boolean NOT NULL DEFAULT true,
    description         text,
    PRIMARY KEY (firm_id, delivery_rule_id)
);
ALTER SEQUENCE billing.delivery_rule_id_seq OWNED BY billing.delivery_rule.delivery_rule_id;
COMMENT ON TABLE billing.delivery_rule IS
    'What billing does when a work item reaches a delivery state: mark its milestone reached, make its submitted WIP ready to invoice, or queue it for the next invoice run.';
COMMENT ON COLUMN billing.delivery_rule.firm_id IS 'The firm whose rule it is.';
COMMENT ON COLUMN billing.delivery_rule.delivery_rule_id IS 'Identifies the rule.';
COMMENT ON COLUMN billing.delivery_rule.work_item_kind IS 'Kind of work item the rule applies to (return, filing, ...); NULL for every kind.';
COMMENT ON COLUMN billing.delivery_rule.on_state IS 'The delivery state that sets the rule off: complete, filed, accepted or amended.';
COMMENT ON COLUMN billing.delivery_rule.action IS 'milestone_reached (its planned milestone becomes reached), wip_ready_to_invoice (its submitted WIP becomes approved, judged as the person moving the work item) or queue_for_invoice.';
COMMENT ON COLUMN billing.delivery_rule.active IS 'False to keep the rule without applying it.';
COMMENT ON COLUMN billing.delivery_rule.description IS 'Why the firm has the rule.';

CREATE SEQUENCE billing.invoice_queue_id_seq;

CREATE TABLE billing.invoice_queue (
    firm_id             bigint NOT NULL,
    invoice_queue_id    bigint NOT NULL DEFAULT nextval('billing.invoice_queue_id_seq'),
    engagement_id       bigint NOT NULL,
    work_item_id        bigint NOT NULL,
    delivery_rule_id    bigint,
    queued_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, invoice_queue_id),
    CONSTRAINT invoice_queue_work_item_once UNIQUE (firm_id, work_item_id),
    FOREIGN KEY (firm_id, engagement_id, work_item_id)
        REFERENCES billing.work_item (firm_id, engagement_id, work_item_id),
    FOREIGN KEY (firm_id, delivery_rule_id) REFERENCES billing.delivery_rule (firm_id, delivery_rule_id)
);
ALTER SEQUENCE billing.invoice_queue_id_seq OWNED BY billing.invoice_queue.invoice_queue_id;
COMMENT ON TABLE billing.invoice_queue IS
    'Work items waiting for the next invoice run, put there by delivery rules; the invoice run takes them off.';
COMMENT ON COLUMN billing.invoice_queue.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.invoice_queue.invoice_queue_id IS 'Identifies the entry.';
COMMENT ON COLUMN billing.invoice_queue.engagement_id IS 'The engagement to invoice.';
COMMENT ON COLUMN billing.invoice_queue.work_item_id IS 'The delivered work item.';
COMMENT ON COLUMN billing.invoice_queue.delivery_rule_id IS 'The rule that queued it.';
COMMENT ON COLUMN billing.invoice_queue.queued_at IS 'When it was queued.';

CREATE FUNCTION billing.apply_delivery_rules() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r billing.delivery_rule;
BEGIN
    IF TG_OP OPERATOR(pg_catalog.<>) 'UPDATE' OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR TG_LEVEL OPERATOR(pg_catalog.<>) 'ROW' THEN
        RAISE EXCEPTION 'billing.apply_delivery_rules() must be fired AFTER UPDATE FOR EACH ROW'
            USING ERRCODE = 'trigger_protocol_violated';
    END IF;
    FOR r IN SELECT * FROM billing.delivery_rule d
              WHERE d.firm_id OPERATOR(pg_catalog.=) NEW.firm_id AND d.active
                AND d.on_state OPERATOR(pg_catalog.=) NEW.state
                AND (d.work_item_kind IS NULL OR d.work_item_kind OPERATOR(pg_catalog.=) NEW.kind)
              ORDER BY d.delivery_rule_id
    LOOP
        IF r.action OPERATOR(pg_catalog.=) 'milestone_reached' THEN
            UPDATE billing.milestone m SET state = 'reached'
             WHERE m.firm_id OPERATOR(pg_catalog.=) NEW.firm_id
               AND m.milestone_id OPERATOR(pg_catalog.=) NEW.milestone_id
               AND m.state OPERATOR(pg_catalog.=) 'planned';
        ELSIF r.action OPERATOR(pg_catalog.=) 'wip_ready_to_invoice' THEN
            UPDATE billing.wip_entry w SET state = 'approved'
             WHERE w.firm_id OPERATOR(pg_catalog.=) NEW.firm_id
               AND w.work_item_id OPERATOR(pg_catalog.=) NEW.work_item_id
               AND w.state OPERATOR(pg_catalog.=) 'submitted';
        ELSE
            INSERT INTO billing.invoice_queue (firm_id, engagement_id, work_item_id, delivery_rule_id)
            VALUES (NEW.firm_id, NEW.engagement_id, NEW.work_item_id, r.delivery_rule_id)
            ON CONFLICT ON CONSTRAINT invoice_queue_work_item_once DO NOTHING;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION billing.apply_delivery_rules() IS
    'Trigger on billing.work_item: applies the firm''s delivery rules when a work item changes state; each move it makes is judged by its own workflow.';

CREATE TRIGGER billing_apply_delivery_rules
    AFTER UPDATE OF state ON billing.work_item
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION billing.apply_delivery_rules();

-- Overdue work items raise an alert, once until it is acknowledged.
CREATE FUNCTION billing.raise_overdue_alerts(firm_id bigint, as_of date DEFAULT CURRENT_DATE)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raised integer;
BEGIN
    -- Through billing.raise_alert, like every alert, so that it is also
    -- announced on the billing_alert channel.
    SELECT pg_catalog.count(billing.raise_alert(
           w.firm_id, 'work_item_overdue', 'billing.work_item', w.work_item_id,
           pg_catalog.format('work item %s "%s" was due on %s and is %s',
                             w.work_item_id, w.name,
                             pg_catalog.to_char(w.due_on, 'YYYY-MM-DD'), w.state),
           pg_catalog.jsonb_build_object('engagement_id', w.engagement_id, 'due_on', w.due_on,
                                         'state', w.state,
                                         'days_overdue', as_of OPERATOR(pg_catalog.-) w.due_on)))
      INTO raised
      FROM billing.work_item w
      JOIN billing.workflow_state s
        ON s.workflow OPERATOR(pg_catalog.=) 'work_item' AND s.state OPERATOR(pg_catalog.=) w.state
     WHERE w.firm_id OPERATOR(pg_catalog.=) raise_overdue_alerts.firm_id
       AND w.due_on OPERATOR(pg_catalog.<) as_of
       AND NOT s.is_final
       AND NOT billing.state_means('work_item', w.state, 'complete')
       AND NOT EXISTS (SELECT FROM billing.alert a
                        WHERE a.firm_id OPERATOR(pg_catalog.=) w.firm_id
                          AND a.kind OPERATOR(pg_catalog.=) 'work_item_overdue'
                          AND a.subject_table OPERATOR(pg_catalog.=) 'billing.work_item'
                          AND a.subject_id OPERATOR(pg_catalog.=) w.work_item_id
                          AND a.acknowledged_at IS NULL);
    RETURN raised;
END
$$;
COMMENT ON FUNCTION billing.raise_overdue_alerts(bigint, date) IS
    'Raise an alert for each work item of the firm past its due date and not complete (nor cancelled), unless one is already open; returns how many were raised. Run it daily (pg_cron, or the app).';
