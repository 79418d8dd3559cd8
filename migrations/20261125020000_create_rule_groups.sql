-- Prometheus rule groups. `spec` is the group as JSON in Prometheus's rule-file shape
-- (name, interval, limit, rules[] with alert/record, expr, for, keep_firing_for, labels,
-- annotations), so rule order is kept exactly. Every change is a new row in
-- rule_group_versions; a deleted group leaves a version with spec NULL.
CREATE TABLE rule_groups (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    spec       TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    updated_by TEXT    NOT NULL
);

CREATE TABLE rule_group_versions (
    id         INTEGER PRIMARY KEY,
    group_name TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    spec       TEXT,
    author     TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    UNIQUE (group_name, version)
);
