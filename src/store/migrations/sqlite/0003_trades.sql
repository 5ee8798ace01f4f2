-- Items and trades. Every item has exactly one owner; trades move items only by changing owners.
CREATE TABLE item_kinds (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE,
    rarity TEXT NOT NULL CHECK (rarity IN ('common', 'uncommon', 'rare', 'legendary')),
    color  TEXT NOT NULL
);

INSERT INTO item_kinds (id, name, rarity, color) VALUES
    (1, 'Copper Coin', 'common', '#b87333'),
    (2, 'Oak Shield', 'common', '#8b5a2b'),
    (3, 'Wool Cloak', 'common', '#7a8b99'),
    (4, 'Iron Sword', 'common', '#9aa5b1'),
    (5, 'Silver Ring', 'uncommon', '#c0c0c0'),
    (6, 'Jade Amulet', 'uncommon', '#00a86b'),
    (7, 'Crystal Vial', 'uncommon', '#7fdbff'),
    (8, 'Ruby Dagger', 'rare', '#e0115f'),
    (9, 'Sapphire Crown', 'rare', '#0f52ba'),
    (10, 'Phoenix Feather', 'legendary', '#ff7f11'),
    (11, 'Dragon Scale', 'legendary', '#2e8b57'),
    (12, 'Star Map', 'rare', '#6a5acd');

CREATE TABLE items (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind_id  INTEGER NOT NULL REFERENCES item_kinds(id),
    owner_id INTEGER NOT NULL REFERENCES users(id)
);

CREATE INDEX items_owner ON items(owner_id);

CREATE TABLE trades (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id       INTEGER NOT NULL REFERENCES users(id),
    recipient_id    INTEGER NOT NULL REFERENCES users(id),
    status          TEXT NOT NULL CHECK (status IN ('active', 'accepted', 'declined', 'canceled', 'expired', 'invalid')),
    note            TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (sender_id, idempotency_key)
);

CREATE INDEX trades_sender ON trades(sender_id, status);
CREATE INDEX trades_recipient ON trades(recipient_id, status);

CREATE TABLE trade_items (
    trade_id INTEGER NOT NULL REFERENCES trades(id),
    item_id  INTEGER NOT NULL REFERENCES items(id),
    side     TEXT NOT NULL CHECK (side IN ('give', 'want')),
    PRIMARY KEY (trade_id, item_id)
);

CREATE INDEX trade_items_item ON trade_items(item_id);
