-- 消息管理 (issue 12): a full-text index of message text. Terms are made in
-- Rust (engine::search: CJK unigrams and bigrams, Latin and digit words) and
-- stored space-separated (the `ascii` tokenizer only splits them
-- at the spaces: every non-ASCII character is part of a term); the table keeps no copy of the text (contentless)
-- and no positions (detail=none), only which message has which term. Rows are
-- added with their message, in the same transaction; this migration's Rust
-- step (db::search::backfill) indexes the messages already stored.
CREATE VIRTUAL TABLE message_terms USING fts5 (terms, content = '', detail = none, tokenize = 'ascii');
