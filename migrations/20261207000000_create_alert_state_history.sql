-- Every state change of every alert of an alerting rule (pending, firing, resolved, or a
-- pending alert that went away: inactive), written by evaluation; bounded by age and by a
-- count per rule (`alerting::history`). `at` is Unix milliseconds; `labels` a JSON object;
-- `value` as Prometheus's API writes it. Kept by rule name, so a rule's history survives
-- edits of its group.
CREATE TABLE alert_state_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace   TEXT    NOT NULL,
    group_name  TEXT    NOT NULL,
    rule_name   TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    from_state  TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    labels      TEXT    NOT NULL,
    value       TEXT    NOT NULL
);
CREATE INDEX alert_state_history_by_rule ON alert_state_history (namespace, group_name, rule_name, at);
CREATE INDEX alert_state_history_by_time ON alert_state_history (at);
