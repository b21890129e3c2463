-- zebench schema v1 (SQLite). Timestamps are epoch milliseconds (INTEGER).
CREATE TABLE batches (
    batch_id        TEXT PRIMARY KEY NOT NULL,
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER,
    metadata        TEXT,
    total_runs      INTEGER NOT NULL DEFAULT 0,
    successful_runs INTEGER NOT NULL DEFAULT 0,
    failed_runs     INTEGER NOT NULL DEFAULT 0,
    score_sum       REAL    NOT NULL DEFAULT 0,
    score_n         INTEGER NOT NULL DEFAULT 0,
    weighted_sum    REAL    NOT NULL DEFAULT 0,
    weighted_n      INTEGER NOT NULL DEFAULT 0,
    cost_sum        REAL    NOT NULL DEFAULT 0
);
CREATE INDEX batches_created ON batches (created_at DESC, batch_id DESC);

CREATE TABLE runs (
    id                 INTEGER PRIMARY KEY,
    run_id             TEXT    NOT NULL UNIQUE,
    batch_id           TEXT    REFERENCES batches (batch_id),
    suite              TEXT    NOT NULL,
    scenario           TEXT    NOT NULL,
    tier               TEXT    NOT NULL,
    agent              TEXT    NOT NULL,
    model              TEXT,
    status             TEXT    NOT NULL,
    started_at         INTEGER NOT NULL,
    completed_at       INTEGER,
    total_score        REAL,
    weighted_score     REAL,
    success_metric     REAL,
    is_successful      BOOLEAN NOT NULL,
    metadata           TEXT,
    specialist_enabled BOOLEAN,
    specialist_name    TEXT,
    specialist_version TEXT,
    content_hash       TEXT    NOT NULL,
    received_at        INTEGER NOT NULL
);
CREATE INDEX runs_started  ON runs (started_at DESC, id DESC);
CREATE INDEX runs_batch    ON runs (batch_id, started_at, id);
CREATE INDEX runs_suite    ON runs (suite, started_at, id);
CREATE INDEX runs_scenario ON runs (scenario, started_at, id);
CREATE INDEX runs_tier     ON runs (tier, started_at, id);
CREATE INDEX runs_agent    ON runs (agent, started_at, id);
CREATE INDEX runs_model    ON runs (model, started_at, id);
CREATE INDEX runs_status   ON runs (status, started_at, id);

CREATE TABLE evaluations (
    id             INTEGER PRIMARY KEY,
    run_pk         INTEGER NOT NULL REFERENCES runs (id),
    evaluator_name TEXT    NOT NULL,
    score          REAL    NOT NULL,
    max_score      REAL    NOT NULL,
    details        TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX evaluations_run ON evaluations (run_pk, id);

CREATE TABLE telemetry (
    id            INTEGER PRIMARY KEY,
    run_pk        INTEGER NOT NULL UNIQUE REFERENCES runs (id),
    tool_calls    INTEGER,
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    cost_usd      REAL,
    duration_ms   INTEGER,
    workspace_dir TEXT
);

-- Large per-run texts live apart from the run row so listing runs stays cheap.
CREATE TABLE artifacts (
    run_pk   INTEGER NOT NULL REFERENCES runs (id),
    name     TEXT    NOT NULL,
    encoding TEXT    NOT NULL,
    size     INTEGER NOT NULL,
    body     BLOB    NOT NULL,
    PRIMARY KEY (run_pk, name)
);

-- Pre-aggregated breakdowns, maintained in the same transaction as each run insert, so the
-- overview numbers cost the same with a million runs as with ten.
CREATE TABLE rollups (
    dim             TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    runs            INTEGER NOT NULL DEFAULT 0,
    completed_runs  INTEGER NOT NULL DEFAULT 0,
    failed_runs     INTEGER NOT NULL DEFAULT 0,
    successful_runs INTEGER NOT NULL DEFAULT 0,
    score_sum       REAL    NOT NULL DEFAULT 0,
    score_n         INTEGER NOT NULL DEFAULT 0,
    weighted_sum    REAL    NOT NULL DEFAULT 0,
    weighted_n      INTEGER NOT NULL DEFAULT 0,
    weighted_min    REAL,
    weighted_max    REAL,
    cost_sum        REAL    NOT NULL DEFAULT 0,
    tokens_in       INTEGER NOT NULL DEFAULT 0,
    tokens_out      INTEGER NOT NULL DEFAULT 0,
    tool_calls      INTEGER NOT NULL DEFAULT 0,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, key)
);
