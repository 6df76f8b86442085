-- Migration 1: the initial schema (users, groups, sessions, logins, audit log).
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
