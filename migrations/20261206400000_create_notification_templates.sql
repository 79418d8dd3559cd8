-- Notification templates: Go text/template files of {{ define }} blocks, as Alertmanager's
-- `templates:` files; a define named like a built-in message part (slack.default.title, …)
-- replaces it. Versioned for optimistic locking; changes are audited.
CREATE TABLE notification_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    body        TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL
);
