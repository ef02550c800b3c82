-- PostgreSQL: identities at an OpenID Connect provider linked to members, by the provider's issuer and
-- the subject it gives the person (never by e-mail alone, which a provider may let people change).
-- Removing a member removes its links.
CREATE TABLE external_logins (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_logins_account ON external_logins(account_id);
