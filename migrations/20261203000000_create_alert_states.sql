-- Active alerts of each alerting rule, so a restart continues where evaluation stopped
-- (pending alerts keep their `for` progress, firing ones their activeAt). One row per rule;
-- `alerts` is a JSON array of {labels, annotations, state, value, active_at, fired_at,
-- resolved_at, keep_firing_since} with times in Unix milliseconds.
CREATE TABLE alert_states (
    namespace   TEXT    NOT NULL,
    group_name  TEXT    NOT NULL,
    rule_index  INTEGER NOT NULL,
    rule_name   TEXT    NOT NULL,
    alerts      TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (namespace, group_name, rule_index)
);
