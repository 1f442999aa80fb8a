-- PostgreSQL only (it announces token-version changes to every server process); an embedded
-- database has one process, which reads the version per request. Kept so both backends count
-- the same migrations.
SELECT 1;
