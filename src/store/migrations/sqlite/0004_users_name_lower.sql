-- Names are looked up as lower(name) = lower(?), the same query on every backend; this index
-- serves it (names are ASCII, so lower() and the column's NOCASE collation agree).
CREATE INDEX users_name_lower ON users (lower(name));
