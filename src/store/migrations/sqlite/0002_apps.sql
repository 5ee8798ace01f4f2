-- The apps' data: chat rooms and messages, the message board, the tweet feed.
CREATE TABLE chat_rooms (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

INSERT INTO chat_rooms (name, created_at) VALUES ('lobby', 0);

CREATE TABLE chat_messages (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    room    TEXT NOT NULL REFERENCES chat_rooms(name),
    author  TEXT NOT NULL,
    text    TEXT NOT NULL,
    at      INTEGER NOT NULL
);

CREATE INDEX chat_messages_room ON chat_messages(room, id);

CREATE TABLE board_messages (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    message TEXT NOT NULL,
    at      INTEGER NOT NULL
);

CREATE TABLE tweets (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    author TEXT NOT NULL,
    text   TEXT NOT NULL,
    at     INTEGER NOT NULL
);
