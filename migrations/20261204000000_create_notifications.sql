-- Notifications: contact points (secrets sealed as data sources seal theirs), the one
-- notification policy (routing tree and inhibition rules, versioned), silences in
-- Alertmanager's v2 shape, and the log of every notification sent or failed.
CREATE TABLE contact_points (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    type          TEXT    NOT NULL,
    -- The type's settings without secrets, as JSON.
    settings      TEXT    NOT NULL,
    -- The secret fields ({"url"} of Slack, {"password"} of e-mail) as sealed JSON.
    secret        TEXT,
    send_resolved INTEGER NOT NULL DEFAULT 1,
    provisioned   INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TEXT    NOT NULL,
    updated_by    TEXT    NOT NULL
);

CREATE TABLE notification_policy (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,
    spec        TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL
);

CREATE TABLE silences (
    id          TEXT    PRIMARY KEY,
    matchers    TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,
    ends_at     TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    comment     TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE notification_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    receiver    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    group_key   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    alerts      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    answer      TEXT    NOT NULL
);
