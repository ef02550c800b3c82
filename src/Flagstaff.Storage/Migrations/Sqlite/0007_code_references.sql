-- SQLite: the last scan of each repository of a project for references to its flags (flagstaff refs
-- --upload). A new upload for a repository replaces its row. The references are kept as one JSON
-- document (bounded by the server: see CodeReferenceLimits), since they are only ever read whole.
-- Numbered 0007 after 0008 existed: the runner applies every number not yet recorded, in order.
CREATE TABLE code_reference_scans (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  repository TEXT NOT NULL,
  branch TEXT,
  commit_id TEXT,
  scanned_at BIGINT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  uploaded_by TEXT NOT NULL,
  files BIGINT NOT NULL,
  flags TEXT NOT NULL,
  PRIMARY KEY (project_id, repository)
);
