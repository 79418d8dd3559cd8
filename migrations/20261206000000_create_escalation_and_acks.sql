-- Escalation policies (steps per severity, each a contact point after a delay), what each
-- firing alert has been escalated to so far (so a restart does not send a step again),
-- acknowledgements (who, when, how), the single-use acknowledgement links already used,
-- and the key that signs those links (random, made once here, never shown).
CREATE TABLE escalation_policies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    -- Alertmanager matchers as a JSON list of strings; empty: every alert.
    matchers     TEXT    NOT NULL,
    -- {"critical": [{"contact_point": "…", "after": "10m"}, …], …} as JSON.
    steps        TEXT    NOT NULL,
    ack_link_ttl TEXT    NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TEXT    NOT NULL,
    updated_by   TEXT    NOT NULL
);

CREATE TABLE escalation_progress (
    fingerprint TEXT    NOT NULL,
    active_at   INTEGER NOT NULL,
    policy_id   INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, active_at, policy_id, step)
);

CREATE TABLE alert_acks (
    fingerprint     TEXT    PRIMARY KEY,
    -- The episode acknowledged: the alert's activeAt (Unix ms).
    active_at       INTEGER NOT NULL,
    labels          TEXT    NOT NULL,
    acknowledged_by TEXT    NOT NULL,
    acknowledged_at TEXT    NOT NULL,
    -- `api` or `link`.
    via             TEXT    NOT NULL
);

CREATE TABLE ack_link_uses (
    nonce   TEXT PRIMARY KEY,
    used_at TEXT NOT NULL
);

CREATE TABLE ack_link_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB    NOT NULL
);
INSERT INTO ack_link_key (id, key) VALUES (1, randomblob(32));
