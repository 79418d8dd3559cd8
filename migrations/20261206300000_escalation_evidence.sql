-- "Escalation-Policies implementiert" of the seed's checklist gets its evidence check now
-- that escalation policies exist (unless an admin already chose another check for it).
UPDATE checklist_items SET evidence_check = 'escalation_policy_defined'
WHERE id = 14 AND evidence_check IS NULL;
