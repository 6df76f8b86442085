-- Migration 10: the outbox says when it is unsure (issue 11). A row is
-- committed as 'sending' before its HTTP call; a call whose answer was lost
-- (timeout, or a restart while it was in flight) makes it 'unknown', never
-- resent automatically; the agent resends it or marks it 'ignored'.
CREATE TABLE outbox_v10 (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice', 'msgmenu')),
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'ignored')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error_code      INTEGER,
    error_reason    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
INSERT INTO outbox_v10 SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v10 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_follower ON outbox (follower_id, id);
CREATE INDEX outbox_sending ON outbox (id) WHERE state = 'sending';
