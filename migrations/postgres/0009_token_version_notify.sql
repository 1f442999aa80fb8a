-- Every change of a user's token version, and every deleted user, is announced on
-- `classify_token_version` (the payload is the user id), so a server process that keeps users'
-- versions (server/src/auth/versions.rs) drops its copy at once, whichever code or person made
-- the change.
CREATE FUNCTION classify_token_version_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('classify_token_version', OLD.id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_token_version_changed
    AFTER UPDATE OF token_version OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION classify_token_version_changed();
