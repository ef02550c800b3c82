-- PostgreSQL: webhooks of a project (optionally of one environment), and their outbox. A delivery is
-- written in the same transaction as the change it reports, so a change and its news commit together
-- or not at all; a node sends it later, taking a lease on the row so that no other node sends it at
-- the same time. The secret is sealed with the server key.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment_id TEXT REFERENCES environments(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  format TEXT NOT NULL,
  secret TEXT NOT NULL,
  enabled BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_project ON webhooks(project_id);

CREATE TABLE webhook_deliveries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_attempt_at BIGINT,
  last_status BIGINT,
  last_error TEXT,
  delivered_at BIGINT,
  lease_holder TEXT,
  lease_until BIGINT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
-- The head of each webhook's queue: its oldest pending delivery.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, state, id);
