-- PostgreSQL: migration flags' settings, and the measurements SDKs report for them, summed per
-- 10-second window (counts per side, and latency histograms bucket by bucket).
ALTER TABLE flags ADD COLUMN migration TEXT;

CREATE TABLE migration_windows (
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  flag_key TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  stage TEXT NOT NULL,
  operation TEXT NOT NULL,
  old_invoked BIGINT NOT NULL,
  old_errors BIGINT NOT NULL,
  new_invoked BIGINT NOT NULL,
  new_errors BIGINT NOT NULL,
  compared BIGINT NOT NULL,
  inconsistent BIGINT NOT NULL,
  failed_writes BIGINT NOT NULL,
  PRIMARY KEY (environment_id, flag_key, window_start, stage, operation)
);
CREATE INDEX migration_windows_start ON migration_windows(window_start);

CREATE TABLE migration_latency (
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  flag_key TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  stage TEXT NOT NULL,
  operation TEXT NOT NULL,
  side TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (environment_id, flag_key, window_start, stage, operation, side, bucket)
);
CREATE INDEX migration_latency_start ON migration_latency(window_start);
