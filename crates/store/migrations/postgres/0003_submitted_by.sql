-- The name of the API key that submitted each run (NULL for local-mode submissions and for
-- runs stored before keys had names). Recorded for audit; not part of the run's content.
ALTER TABLE runs ADD COLUMN submitted_by TEXT;
