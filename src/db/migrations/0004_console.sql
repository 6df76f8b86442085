-- Migration 4: the agent console (issue 4) — what opens a conversation, group
-- routing settings, transfers, categories, tags, marks, notes, quick replies.

-- Per account: what opens a conversation (B2).
CREATE TABLE account_settings (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    trigger_mode TEXT    NOT NULL DEFAULT 'any' CHECK (trigger_mode IN ('any', 'keywords', 'menu')),
    keywords     TEXT    NOT NULL DEFAULT '人工，转人工，客服，在吗',
    menu_key     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Per group: routing (B3), queue (B5, B6), transfer (B7) and end (B8) rules.
CREATE TABLE group_settings (
    group_id              INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    strategy              TEXT    NOT NULL DEFAULT 'round_robin' CHECK (strategy IN ('round_robin', 'least_busy', 'random')),
    familiar_days         INTEGER NOT NULL DEFAULT 7 CHECK (familiar_days BETWEEN 0 AND 90),
    require_category      INTEGER NOT NULL DEFAULT 0 CHECK (require_category IN (0, 1)),
    agents_see_queue      INTEGER NOT NULL DEFAULT 0 CHECK (agents_see_queue IN (0, 1)),
    transfer_timeout_secs INTEGER NOT NULL DEFAULT 60 CHECK (transfer_timeout_secs BETWEEN 10 AND 600),
    queue_expiry_hours    INTEGER NOT NULL DEFAULT 24 CHECK (queue_expiry_hours BETWEEN 1 AND 168),
    comfort_every_mins    INTEGER NOT NULL DEFAULT 3 CHECK (comfort_every_mins BETWEEN 1 AND 60)
) STRICT;

-- Follower fields the console edits (D7): VIP, owner (负责人), labels.
ALTER TABLE followers ADD COLUMN vip INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1));
ALTER TABLE followers ADD COLUMN owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE followers ADD COLUMN labels TEXT NOT NULL DEFAULT '';

-- Which conversation a message belongs to (NULL: before any conversation).
ALTER TABLE messages ADD COLUMN conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Queue notices sent (B5 rate limit), what the holder has read, how it ended.
ALTER TABLE conversations ADD COLUMN notice_at INTEGER;
ALTER TABLE conversations ADD COLUMN notice_position INTEGER;
ALTER TABLE conversations ADD COLUMN notices INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN read_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_message_at INTEGER;
ALTER TABLE conversations ADD COLUMN end_remark TEXT NOT NULL DEFAULT '';

-- A transfer to another agent waits for their answer (B7).
CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    from_agent      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_agent        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note            TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    decided_at      INTEGER
) STRICT;

CREATE UNIQUE INDEX transfers_one_pending ON transfers (conversation_id) WHERE state = 'pending';
CREATE INDEX transfers_to ON transfers (to_agent, state);

-- 咨询分类: a tree per group (B8).
CREATE TABLE categories (
    id        INTEGER PRIMARY KEY,
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES categories (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX categories_group ON categories (group_id, parent_id, position);

CREATE TABLE conversation_categories (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    category_id     INTEGER NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, category_id)
) STRICT, WITHOUT ROWID;

-- 会话标签: one tree for the whole system (B12, S3 1.3).
CREATE TABLE tags (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES tags (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A tag on a conversation, or on one message of it, with a remark.
CREATE TABLE taggings (
    id              INTEGER PRIMARY KEY,
    tag_id          INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    remark          TEXT    NOT NULL DEFAULT '',
    agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX taggings_tag ON taggings (tag_id, created_at);
CREATE INDEX taggings_conversation ON taggings (conversation_id);

-- 标注: a conversation marked for follow-up (B11).
CREATE TABLE marks (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    note            TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    handled_at      INTEGER
) STRICT;

CREATE INDEX marks_agent ON marks (agent_id, handled_at);

-- Internal notes in the chat: agents only, never sent to WeChat (B14).
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    author_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    body            TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX notes_follower ON notes (follower_id, created_at);

-- 知识库 / quick replies per group (D6): a folder name and entries.
CREATE TABLE kb_entries (
    id         INTEGER PRIMARY KEY,
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    folder     TEXT    NOT NULL DEFAULT '' CHECK (length(folder) <= 32),
    title      TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 64),
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX kb_entries_group ON kb_entries (group_id, folder, position);

-- Files an agent uploaded, to send again (D9).
CREATE TABLE uploads (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    group_id     INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX uploads_user ON uploads (user_id, created_at);
