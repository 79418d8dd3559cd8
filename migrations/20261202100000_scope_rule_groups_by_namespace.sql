-- Rule groups are scoped by namespace, as Prometheus scopes them by rule file and Grafana by
-- folder: two files may each hold a group of the same name. Groups written before this
-- migration land in the namespace `default`. SQLite cannot change a primary key in place, so
-- both tables are rebuilt.
CREATE TABLE rule_groups_scoped (
    namespace  TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    spec       TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    updated_by TEXT    NOT NULL,
    PRIMARY KEY (namespace, name)
);
INSERT INTO rule_groups_scoped (namespace, name, position, version, spec, updated_at, updated_by)
    SELECT 'default', name, position, version, spec, updated_at, updated_by FROM rule_groups;
DROP TABLE rule_groups;
ALTER TABLE rule_groups_scoped RENAME TO rule_groups;

CREATE TABLE rule_group_versions_scoped (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT    NOT NULL,
    group_name TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    spec       TEXT,
    author     TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    UNIQUE (namespace, group_name, version)
);
INSERT INTO rule_group_versions_scoped (id, namespace, group_name, version, spec, author, at, message)
    SELECT id, 'default', group_name, version, spec, author, at, message FROM rule_group_versions;
DROP TABLE rule_group_versions;
ALTER TABLE rule_group_versions_scoped RENAME TO rule_group_versions;
