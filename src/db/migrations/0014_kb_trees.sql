-- Issue 12: 知识库 and 常见问题 become trees given to groups as subtrees, and
-- agents get their own quick replies — 我的回复. The flat rows move into the
-- trees, nothing lost: each group with entries gets a top folder named after
-- it (given to that group); a knowledge-base folder name becomes a folder
-- below it; FAQ entries keep their order and keywords.

-- 知识库 and 常见问题 as trees (E3, E4; S3 2.1, 2.2): one tree per kind,
-- folders nested to any depth, entries (text or image) at any level. A group
-- is given one or more subtrees (S3 2.4) in `group_tree_roots`. Dates are the
-- appliance's local dates, YYYY-MM-DD: NEW is shown up to `new_until`; an
-- entry is valid from `valid_from` to `valid_to` (NULL: open end).
CREATE TABLE tree_nodes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('kb', 'faq')),
    parent_id  INTEGER REFERENCES tree_nodes (id) ON DELETE CASCADE,
    folder     INTEGER NOT NULL DEFAULT 0 CHECK (folder IN (0, 1)),
    title      TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body       TEXT    NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    image      TEXT    NOT NULL DEFAULT '',
    keywords   TEXT    NOT NULL DEFAULT '' CHECK (length(keywords) <= 200),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    new_until  TEXT    CHECK (new_until IS NULL OR length(new_until) = 10),
    valid_from TEXT    CHECK (valid_from IS NULL OR length(valid_from) = 10),
    valid_to   TEXT    CHECK (valid_to IS NULL OR length(valid_to) = 10),
    uses       INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tree_nodes_parent ON tree_nodes (kind, parent_id, position, id);

CREATE TABLE group_tree_roots (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    node_id  INTEGER NOT NULL REFERENCES tree_nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, node_id)
) STRICT;

CREATE INDEX group_tree_roots_node ON group_tree_roots (node_id);

-- Where a follower is in the FAQ menu (a folder, NULL: the top), and since when.
CREATE TABLE faq_cursors (
    follower_id INTEGER PRIMARY KEY REFERENCES followers (id) ON DELETE CASCADE,
    node_id     INTEGER REFERENCES tree_nodes (id) ON DELETE SET NULL,
    at          INTEGER NOT NULL
) STRICT;

-- 我的回复 (D6): each agent's own quick-reply groups — 常用语、开场语 … — and entries.
CREATE TABLE my_reply_groups (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX my_reply_groups_user ON my_reply_groups (user_id, position, id);

CREATE TABLE my_replies (
    id       INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES my_reply_groups (id) ON DELETE CASCADE,
    body     TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    position INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX my_replies_group ON my_replies (group_id, position, id);

-- 知识库 — a top folder per group that has entries.
CREATE TEMP TABLE m13_kb_group AS
    SELECT g.id AS group_id, g.name AS name, row_number() OVER (ORDER BY g.id) AS id
    FROM groups g WHERE EXISTS (SELECT 1 FROM kb_entries k WHERE k.group_id = g.id);
INSERT INTO tree_nodes (id, kind, parent_id, folder, title, position, created_at, updated_at)
    SELECT id, 'kb', NULL, 1, name, id - 1,
           (SELECT min(created_at) FROM kb_entries k WHERE k.group_id = m.group_id),
           (SELECT min(created_at) FROM kb_entries k WHERE k.group_id = m.group_id)
    FROM m13_kb_group m;
INSERT INTO group_tree_roots (group_id, node_id) SELECT group_id, id FROM m13_kb_group;
-- Its folders, in name order.
CREATE TEMP TABLE m13_kb_folder AS
    SELECT group_id, folder,
           (SELECT coalesce(max(id), 0) FROM tree_nodes)
               + row_number() OVER (ORDER BY group_id, folder) AS id
    FROM (SELECT DISTINCT group_id, folder FROM kb_entries WHERE folder <> '');
INSERT INTO tree_nodes (id, kind, parent_id, folder, title, position, created_at, updated_at)
    SELECT f.id, 'kb', g.id, 1, f.folder, 0,
           (SELECT min(created_at) FROM kb_entries k WHERE k.group_id = f.group_id AND k.folder = f.folder),
           (SELECT min(created_at) FROM kb_entries k WHERE k.group_id = f.group_id AND k.folder = f.folder)
    FROM m13_kb_folder f JOIN m13_kb_group g ON g.group_id = f.group_id;
-- The entries, under their folder or the group's.
INSERT INTO tree_nodes (kind, parent_id, folder, title, body, position, created_at, updated_at)
    SELECT 'kb', coalesce(f.id, g.id), 0, k.title, k.body, k.position, k.created_at, k.updated_at
    FROM kb_entries k
    JOIN m13_kb_group g ON g.group_id = k.group_id
    LEFT JOIN m13_kb_folder f ON f.group_id = k.group_id AND f.folder = k.folder
    ORDER BY k.id;

-- 常见问题 — a top folder per group that has entries, its entries in order.
CREATE TEMP TABLE m13_faq_group AS
    SELECT g.id AS group_id, g.name AS name,
           (SELECT coalesce(max(id), 0) FROM tree_nodes) + row_number() OVER (ORDER BY g.id) AS id
    FROM groups g WHERE EXISTS (SELECT 1 FROM faq_entries q WHERE q.group_id = g.id);
INSERT INTO tree_nodes (id, kind, parent_id, folder, title, position, created_at, updated_at)
    SELECT id, 'faq', NULL, 1, name, row_number() OVER (ORDER BY id) - 1,
           CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM m13_faq_group;
INSERT INTO group_tree_roots (group_id, node_id) SELECT group_id, id FROM m13_faq_group;
INSERT INTO tree_nodes (kind, parent_id, folder, title, body, keywords, position, created_at, updated_at)
    SELECT 'faq', g.id, 0, q.question, q.answer, substr(q.keywords, 1, 200), q.position,
           CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM faq_entries q JOIN m13_faq_group g ON g.group_id = q.group_id
    ORDER BY q.group_id, q.position, q.id;

DROP TABLE m13_kb_group;
DROP TABLE m13_kb_folder;
DROP TABLE m13_faq_group;
DROP TABLE kb_entries;
DROP TABLE faq_entries;
