-- The periodic purge deletes sessions by expiry (`DELETE ... WHERE expires_at <= ?`): without
-- this index it reads the whole table each time.
CREATE INDEX sessions_expires ON sessions (expires_at);
