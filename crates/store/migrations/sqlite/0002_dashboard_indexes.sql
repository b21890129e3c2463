-- zebench schema v2 (SQLite): indexes only.
-- Every run column the dashboard grid (`Store::grid`) and the breakdowns aggregate, led by the
-- start time: unfiltered grids read this index instead of the much wider table rows (metadata),
-- time-range grids read a slice of it, and new runs append at its end.
CREATE INDEX runs_grid ON runs (started_at, suite, scenario, tier, agent, model, batch_id,
    status, weighted_score, total_score, is_successful);
