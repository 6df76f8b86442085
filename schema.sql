-- kefu: the whole current schema. A fresh install runs this file and sets
-- PRAGMA user_version to the number of files in migrations/; an older database
-- runs the migrations it has not seen. A test proves both paths give the same
-- schema. Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
    display_name  TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
    real_name     TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'admin', 'super_admin')),
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    theme         TEXT    NOT NULL DEFAULT 'light' CHECK (theme IN ('light', 'dark')),
    password_hash TEXT    NOT NULL,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- 客服组
CREATE TABLE groups (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    ident          TEXT    NOT NULL UNIQUE CHECK (length(ident) BETWEEN 1 AND 64),
    phone          TEXT    NOT NULL DEFAULT '',
    public_name    TEXT    NOT NULL DEFAULT '',
    public_visible INTEGER NOT NULL DEFAULT 1 CHECK (public_visible IN (0, 1)),
    created_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE RESTRICT,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_user ON group_members (user_id);

-- Server-side login sessions. Only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Every successful login (D1, S3 1.1).
CREATE TABLE logins (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    user_agent TEXT    NOT NULL
) STRICT;

CREATE INDEX logins_user_at ON logins (user_id, at);

-- Failed attempts, for the lockout after 5 failures per account and IP.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT    NOT NULL COLLATE NOCASE,
    ip       TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_key ON login_failures (username, ip, at);

-- Audit log of every state-changing action (E12). Never updated, never deleted
-- by the application; actor_name keeps the name even if the user is renamed.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_name TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    before     TEXT,
    after      TEXT,
    ip         TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- ---------------------------------------------------------------- WeChat channel

-- Official Accounts (E11, A11). Secrets stay here and are never shown back in full.
CREATE TABLE accounts (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    app_id             TEXT    NOT NULL UNIQUE CHECK (length(app_id) BETWEEN 1 AND 64),
    app_secret         TEXT    NOT NULL,
    token              TEXT    NOT NULL CHECK (length(token) BETWEEN 3 AND 32),
    aes_key            TEXT    NOT NULL DEFAULT '',
    prev_aes_key       TEXT    NOT NULL DEFAULT '',
    mode               TEXT    NOT NULL DEFAULT 'safe' CHECK (mode IN ('plain', 'compat', 'safe')),
    original_id        TEXT    NOT NULL DEFAULT '',
    api_base           TEXT    NOT NULL DEFAULT '',
    simulation         INTEGER NOT NULL DEFAULT 0 CHECK (simulation IN (0, 1)),
    window_hours       INTEGER NOT NULL DEFAULT 48 CHECK (window_hours BETWEEN 1 AND 720),
    quota_after_message INTEGER NOT NULL DEFAULT 5 CHECK (quota_after_message BETWEEN 0 AND 1000),
    quota_after_event  INTEGER NOT NULL DEFAULT 3 CHECK (quota_after_event BETWEEN 0 AND 1000),
    event_window_secs  INTEGER NOT NULL DEFAULT 60 CHECK (event_window_secs BETWEEN 1 AND 172800),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE account_groups (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, group_id)
) STRICT, WITHOUT ROWID;

-- The access token per account, so a restart reuses it (A8).
CREATE TABLE access_tokens (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    token      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
) STRICT;

-- Followers (A10, E13): one row per OpenID and account, created on first contact.
-- The reply budget (A7) lives here: WeChat counts two windows separately — after
-- a message (48 h) and after a menu click, follow or scan (short) — each with the
-- time of the follower's last such interaction and what was sent since.
CREATE TABLE followers (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    openid              TEXT    NOT NULL CHECK (length(openid) BETWEEN 1 AND 128),
    remark              TEXT    NOT NULL DEFAULT '',
    wx_remark           TEXT    NOT NULL DEFAULT '',
    unionid             TEXT    NOT NULL DEFAULT '',
    tags                TEXT    NOT NULL DEFAULT '[]',
    subscribe_scene     TEXT    NOT NULL DEFAULT '',
    subscribed          INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
    subscribed_at       INTEGER,
    unsubscribed_at     INTEGER,
    profile_state       TEXT    NOT NULL DEFAULT 'pending' CHECK (profile_state IN ('pending', 'fetched', 'failed')),
    profile_attempts    INTEGER NOT NULL DEFAULT 0,
    profile_next_at     INTEGER NOT NULL DEFAULT 0,
    message_at          INTEGER,
    message_sent        INTEGER NOT NULL DEFAULT 0,
    event_at            INTEGER,
    event_sent          INTEGER NOT NULL DEFAULT 0,
    first_seen_at       INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    vip                 INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    owner_id            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    labels              TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, openid)
) STRICT;

CREATE INDEX followers_profile ON followers (profile_state, profile_next_at) WHERE profile_state = 'pending';

-- Every message, both ways. Inbound pushes are stored exactly once: dedup_key
-- is 'm:<MsgId>' for messages and 'e:<OpenID>:<CreateTime>:<Event>' for events.
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id    INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    kind           TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice', 'video', 'shortvideo',
                                                    'location', 'link', 'event', 'unknown')),
    event          TEXT    NOT NULL DEFAULT '',
    content        TEXT    NOT NULL DEFAULT '',
    data           TEXT    NOT NULL DEFAULT '{}',
    raw            TEXT    NOT NULL DEFAULT '',
    dedup_key      TEXT,
    wx_msg_id      INTEGER,
    sender_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    UNIQUE (account_id, dedup_key)
) STRICT;

CREATE INDEX messages_follower ON messages (follower_id, created_at);

-- Outbound customer-service messages (A6): committed before any network call,
-- sent in order per follower, retried while transient, failed with a reason.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice')),
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error_code      INTEGER,
    error_reason    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_follower ON outbox (follower_id, id);

-- Media (A9): inbound files fetched after the push is acknowledged; the row is
-- the job, so a restart resumes what is still pending.
CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('image', 'voice', 'video', 'thumb')),
    wx_media_id     TEXT    NOT NULL DEFAULT '',
    source_url      TEXT    NOT NULL DEFAULT '',
    path            TEXT    NOT NULL DEFAULT '',
    content_type    TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX media_pending ON media (next_attempt_at) WHERE state = 'pending';
CREATE INDEX media_message ON media (message_id);

-- ---------------------------------------------------------------- Conversations

-- Per agent: status (B9), auto-accept limit (B4), round robin's memory.
CREATE TABLE agent_settings (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'busy', 'away', 'offline')),
    auto_accept      INTEGER CHECK (auto_accept IS NULL OR auto_accept IN (10, 20, 30, 40, 50)),
    last_assigned_at INTEGER,
    status_at        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A conversation (会话): queued → active → ended. At most one open per follower.
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    agent_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    vip         INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    opened_at   INTEGER NOT NULL,
    queued_at   INTEGER,
    accepted_at INTEGER,
    ended_at    INTEGER
    , notice_at INTEGER, notice_position INTEGER, notices INTEGER NOT NULL DEFAULT 0,
    read_at INTEGER, last_message_at INTEGER, end_remark TEXT NOT NULL DEFAULT '') STRICT;

CREATE UNIQUE INDEX conversations_one_open ON conversations (follower_id) WHERE state <> 'ended';
CREATE INDEX conversations_queue ON conversations (group_id, state, vip, queued_at);
CREATE INDEX conversations_agent ON conversations (agent_id, state);

-- Every step of a conversation: who, when, why (B1).
CREATE TABLE conversation_events (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    step            TEXT    NOT NULL CHECK (step IN ('open', 'accept', 'route', 'transfer_in_group',
                                                     'transfer_to_group', 'end_by_agent', 'end_by_timeout',
                                                     'abandon', 'expire', 'remove')),
    actor_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    to_agent_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    note            TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, at);

-- ---------------------------------------------------------------- Console

-- Per account: what opens a conversation (B2).
CREATE TABLE account_settings (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    trigger_mode TEXT    NOT NULL DEFAULT 'any' CHECK (trigger_mode IN ('any', 'keywords', 'menu')),
    keywords     TEXT    NOT NULL DEFAULT '人工,转人工,客服,在吗',
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
, requeue_after_mins INTEGER CHECK (requeue_after_mins IS NULL OR requeue_after_mins BETWEEN 1 AND 1440)) STRICT;

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

CREATE INDEX messages_conversation ON messages (conversation_id, id);
