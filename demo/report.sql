-- demo/report.sql: what the demo loaded.
\pset footer off
SELECT f.name AS firm,
       (SELECT count(*) FROM billing.staff s WHERE s.firm_id = f.firm_id) AS staff,
       (SELECT count(*) FROM billing.client c WHERE c.firm_id = f.firm_id) AS clients,
       (SELECT count(*) FROM billing.engagement e WHERE e.firm_id = f.firm_id) AS engagements,
       (SELECT count(*) FROM billing.work_item w WHERE w.firm_id = f.firm_id) AS work_items,
       (SELECT count(*) FROM billing.wip_entry w WHERE w.firm_id = f.firm_id) AS wip_entries
  FROM billing.firm f ORDER BY f.firm_id;

SELECT sl.name AS service_line, e.billing_model, count(DISTINCT e.engagement_id) AS engagements,
       count(w.wip_entry_id) AS wip_entries,
       round(sum(w.billable_minutes) / 60.0, 1) AS billable_hours,
       count(*) FILTER (WHERE w.kind = 'expense') AS expenses,
       billing.sum(w.amount) AS wip_value
  FROM billing.engagement e
  JOIN billing.service_line sl USING (firm_id, service_line_id)
  LEFT JOIN billing.wip_entry w USING (firm_id, engagement_id)
 GROUP BY sl.name, e.billing_model
 ORDER BY 1, 2;

SELECT w.state AS wip_state, count(*) AS entries, billing.sum(w.amount) AS value
  FROM billing.wip_entry w GROUP BY w.state ORDER BY 1;
