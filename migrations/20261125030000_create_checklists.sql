-- Checklist templates (versioned; items are never deleted, only marked removed, so the
-- history teams recorded for them stays), per-team item states with their history, and
-- the stored results of the evidence checks.

ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'de' CHECK (language IN ('de', 'en'));

CREATE TABLE checklist_templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE checklist_sections (
    id          INTEGER PRIMARY KEY,
    template_id INTEGER NOT NULL REFERENCES checklist_templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    title_de    TEXT    NOT NULL,
    title_en    TEXT    NOT NULL,
    removed_at  TEXT
);

CREATE TABLE checklist_items (
    id             INTEGER PRIMARY KEY,
    section_id     INTEGER NOT NULL REFERENCES checklist_sections (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    title_de       TEXT    NOT NULL,
    detail_de      TEXT    NOT NULL,
    title_en       TEXT    NOT NULL,
    detail_en      TEXT    NOT NULL,
    evidence_check TEXT,
    removed_at     TEXT
);

CREATE TABLE checklist_template_versions (
    id          INTEGER PRIMARY KEY,
    template_id INTEGER NOT NULL REFERENCES checklist_templates (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    snapshot    TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    UNIQUE (template_id, version)
);

CREATE TABLE team_item_states (
    team_id        INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    item_id        INTEGER NOT NULL REFERENCES checklist_items (id),
    state          TEXT    NOT NULL DEFAULT 'open'
                   CHECK (state IN ('open', 'in_progress', 'done', 'not_applicable')),
    reason         TEXT    NOT NULL DEFAULT '',
    owner_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    due_date       TEXT,
    note           TEXT    NOT NULL DEFAULT '',
    evidence_links TEXT    NOT NULL DEFAULT '[]',
    updated_at     TEXT    NOT NULL,
    updated_by     TEXT    NOT NULL,
    PRIMARY KEY (team_id, item_id)
);

CREATE TABLE team_item_history (
    id      INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES checklist_items (id),
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL,
    before  TEXT    NOT NULL,
    after   TEXT    NOT NULL
);
CREATE INDEX team_item_history_item ON team_item_history (team_id, item_id);

CREATE TABLE evidence_results (
    check_name    TEXT PRIMARY KEY,
    status        TEXT NOT NULL CHECK (status IN ('verified', 'failing', 'unverifiable')),
    detail        TEXT NOT NULL,
    checked_at    TEXT NOT NULL,
    failing_since TEXT
);

-- The seed's "Monitoring-Checkliste": 5 sections, titles and explanations as written there.
INSERT INTO checklist_templates (id, name, version, created_at, updated_at)
VALUES (1, 'Monitoring-Checkliste', 1, '2026-11-25T00:00:00.000Z', '2026-11-25T00:00:00.000Z');

INSERT INTO checklist_sections (id, template_id, position, title_de, title_en) VALUES
    (1, 1, 0, 'Metriken', 'Metrics'),
    (2, 1, 1, 'Logging', 'Logging'),
    (3, 1, 2, 'Tracing', 'Tracing'),
    (4, 1, 3, 'Alerting', 'Alerting'),
    (5, 1, 4, 'Dashboards', 'Dashboards');

INSERT INTO checklist_items (id, section_id, position, title_de, detail_de, title_en, detail_en, evidence_check) VALUES
    (1, 1, 0, 'System-Metriken', '(CPU, Memory, Disk, Network) erfasst', 'System metrics', '(CPU, memory, disk, network) collected', 'system_metrics'),
    (2, 1, 1, 'Application-Metriken', '(Requests, Errors, Latency) implementiert', 'Application metrics', '(requests, errors, latency) implemented', NULL),
    (3, 1, 2, 'Business-Metriken', '(User Actions, Tasks) definiert', 'Business metrics', '(user actions, tasks) defined', NULL),
    (4, 1, 3, 'Custom-Metriken', 'für spezifische Use Cases erstellt', 'Custom metrics', 'created for specific use cases', 'custom_metrics'),
    (5, 2, 0, 'Strukturiertes Logging', 'implementiert', 'Structured logging', 'implemented', NULL),
    (6, 2, 1, 'Correlation-IDs', 'für Request-Tracking aktiviert', 'Correlation IDs', 'enabled for request tracking', 'correlation_id_logs'),
    (7, 2, 2, 'Log-Aggregation', 'konfiguriert', 'Log aggregation', 'configured', NULL),
    (8, 2, 3, 'Log-Retention', 'definiert', 'Log retention', 'defined', NULL),
    (9, 3, 0, 'Distributed Tracing', 'aktiviert', 'Distributed tracing', 'enabled', 'recent_spans'),
    (10, 3, 1, 'Service-Dependencies', 'visualisiert', 'Service dependencies', 'visualised', NULL),
    (11, 3, 2, 'Performance-Bottlenecks', 'identifiziert', 'Performance bottlenecks', 'identified', NULL),
    (12, 4, 0, 'Alert-Regeln', 'definiert', 'Alert rules', 'defined', 'alert_rules_defined'),
    (13, 4, 1, 'Notification-Channels', 'konfiguriert', 'Notification channels', 'configured', 'notification_channel_tested'),
    (14, 4, 2, 'Escalation-Policies', 'implementiert', 'Escalation policies', 'implemented', NULL),
    (15, 4, 3, 'Alert-Fatigue', 'vermieden', 'Alert fatigue', 'avoided', NULL),
    (16, 5, 0, 'System-Overview', 'Dashboard erstellt', 'System overview', 'dashboard created', 'overview_dashboard'),
    (17, 5, 1, 'Application-Performance', 'Dashboard konfiguriert', 'Application performance', 'dashboard configured', NULL),
    (18, 5, 2, 'Business-KPIs', 'Dashboard implementiert', 'Business KPIs', 'dashboard implemented', NULL),
    (19, 5, 3, 'Security-Monitoring', 'Dashboard aktiviert', 'Security monitoring', 'dashboard enabled', NULL);
