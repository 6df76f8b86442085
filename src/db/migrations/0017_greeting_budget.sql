-- The greeting — 接入语 — and the reply budget (issue 13): whether it may spend
-- a customer-service reply (always / keep one for the agent / never), and
-- whether an in-group transfer greets again.
ALTER TABLE auto_replies ADD COLUMN greeting_budget TEXT NOT NULL DEFAULT 'keep_one' CHECK (greeting_budget IN ('always', 'keep_one', 'never'));
ALTER TABLE auto_replies ADD COLUMN greeting_on_transfer INTEGER NOT NULL DEFAULT 0 CHECK (greeting_on_transfer IN (0, 1));
