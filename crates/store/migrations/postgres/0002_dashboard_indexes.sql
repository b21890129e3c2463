-- zebench schema v2 (PostgreSQL): indexes only.
-- Every run column the dashboard grid (`Store::grid`) and the breakdowns aggregate, led by the
-- start time, so time-range grids can be answered by an index-only scan; kept in step with
-- the SQLite schema.
CREATE INDEX runs_grid ON runs (started_at, suite, scenario, tier, agent, model, batch_id,
    status) INCLUDE (weighted_score, total_score, is_successful, id);
-- (No counterpart of SQLite's `evaluations_hist`: PostgreSQL aggregates the histogram by hashing
-- and could not answer it from an expression index alone.)
