-- What a team owns, so evidence is scoped to it: dashboards (by uid), rule namespaces, and
-- services (the Prometheus `job` label values of what the team runs). Rows name objects
-- that may since have gone; checks join with what exists. Two teams may own one object.
CREATE TABLE team_ownership (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL CHECK (kind IN ('dashboard', 'rule_namespace', 'service')),
    object  TEXT    NOT NULL,
    PRIMARY KEY (team_id, kind, object)
);

-- Evidence is per team now (each team's own dashboards, rules and services); results of the
-- old portal-wide checks are dropped and recomputed on the next run.
DROP TABLE evidence_results;
CREATE TABLE evidence_results (
    team_id       INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    check_name    TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('verified', 'failing', 'unverifiable')),
    detail        TEXT    NOT NULL,
    checked_at    TEXT    NOT NULL,
    failing_since TEXT,
    PRIMARY KEY (team_id, check_name)
);

-- The checklist's language follows the UI's unless the user chose one: `language` holds
-- the choice only when `language_chosen` is 1. Nobody chose before this column existed.
ALTER TABLE users ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0;
