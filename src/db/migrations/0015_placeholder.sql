-- Placeholder on branch h-fts only: main's migration 15 (users.locale) takes
-- this place when the branch is merged.
SELECT 1;
