-- Alertmanager's notification log, the part that decides: per aggregation group and
-- contact point, the fingerprints last notified firing and resolved and when (Unix ms), so
-- a restart does not notify again what was already sent.
CREATE TABLE notification_state (
    key       TEXT    PRIMARY KEY,
    firing    TEXT    NOT NULL,
    resolved  TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL
);
