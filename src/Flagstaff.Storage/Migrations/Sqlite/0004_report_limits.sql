-- SQLite: what usage reports may add is bounded. Context properties say whether they were
-- learned from reports (the per-project limit counts those, and an admin can remove them in bulk);
-- what reports carried past a limit is counted per project and reason.
ALTER TABLE context_properties ADD COLUMN learned BIGINT NOT NULL DEFAULT 0;

-- Existing properties that reports created and nobody defined or changed by hand (no history entry).
UPDATE context_properties SET learned = 1
WHERE first_seen IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM audit_log a
                  WHERE a.project_id = context_properties.project_id AND a.resource_type = 'context-property' AND a.resource_key = context_properties.key);

CREATE INDEX context_properties_learned ON context_properties(project_id, learned);

CREATE TABLE report_drops (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  reason TEXT NOT NULL,
  count BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, reason)
);
