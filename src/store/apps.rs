//! The apps' records: chat rooms and messages, board messages, tweets.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_ms, Store, StoreError};

/// A stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Its id, increasing with time.
    pub id: i64,
    /// The room it was sent in.
    pub room: String,
    /// Who sent it.
    pub user: String,
    /// What it says.
    pub text: String,
    /// When it was sent (milliseconds since the epoch).
    pub at: i64,
}

/// A stored chat room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    /// The room's name.
    pub name: String,
    /// When it was created, or last brought back into the room list (ms since the epoch).
    pub created_at: i64,
    /// Whether any message was ever sent in it.
    pub has_messages: bool,
}

/// A stored board message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardMessage {
    /// Its id, increasing with time.
    pub id: i64,
    /// The name its author gave.
    pub name: String,
    /// What it says.
    pub message: String,
    /// When it was posted (milliseconds since the epoch).
    pub at: i64,
}

/// A stored tweet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tweet {
    /// Its id, increasing with time.
    pub id: i64,
    /// Who posted it.
    pub author: String,
    /// What it says.
    pub text: String,
    /// When it was posted (milliseconds since the epoch).
    pub at: i64,
}

/// Which tweets to list, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TweetPage {
    /// The newest ones.
    Latest,
    /// Those newer than this id.
    After(i64),
    /// Those older than this id.
    Before(i64),
}

fn chat_message(row: AnyRow) -> ChatMessage {
    ChatMessage {
        id: row.get("id"),
        room: row.get("room"),
        user: row.get("author"),
        text: row.get("text"),
        at: row.get("at"),
    }
}

fn tweet(row: AnyRow) -> Tweet {
    Tweet {
        id: row.get("id"),
        author: row.get("author"),
        text: row.get("text"),
        at: row.get("at"),
    }
}

impl Store {
    /// Creates a chat room if it does not exist yet.
    pub async fn ensure_room(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_rooms (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates a chat room, or brings back one that had left the room list: either way its
    /// `created_at` becomes now, so a sweep that started earlier does not delete it.
    pub async fn create_room(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_rooms (name, created_at) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(name)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When a chat room was created (or brought back), if it exists.
    pub async fn room_created_at(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT created_at FROM chat_rooms WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    /// Every stored chat room, oldest first.
    pub async fn chat_rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.name, r.created_at, \
             CASE WHEN EXISTS (SELECT 1 FROM chat_messages m WHERE m.room = r.name) \
             THEN 1 ELSE 0 END AS has_messages \
             FROM chat_rooms r ORDER BY r.created_at, r.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| StoredRoom {
                name: row.get(0),
                created_at: row.get(1),
                has_messages: row.get::<i64, _>(2) != 0,
            })
            .collect())
    }

    /// Deletes a chat room that has no messages and was created before `before` (ms since the
    /// epoch); answers whether it did. `lobby` is never deleted.
    pub async fn delete_idle_room(&self, name: &str, before: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM chat_rooms WHERE name = $1 AND name <> 'lobby' AND created_at < $2 \
             AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.room = $1)",
        )
        .bind(name)
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Runs an `INSERT … RETURNING id` whose values are `texts`, then the time now; the new row's
    /// id and that time.
    async fn insert_stamped<'q>(
        &self,
        sql: &'q str,
        texts: &[&'q str],
    ) -> Result<(i64, i64), StoreError> {
        let at = now_ms();
        let query = texts
            .iter()
            .fold(sqlx::query(sql), |query, text| query.bind(*text));
        let row = query.bind(at).fetch_one(&self.pool).await?;
        Ok((row.get(0), at))
    }

    /// Stores a chat message.
    pub async fn add_chat_message(
        &self,
        room: &str,
        user: &str,
        text: &str,
    ) -> Result<ChatMessage, StoreError> {
        let (id, at) = self
            .insert_stamped(
                "INSERT INTO chat_messages (room, author, text, at) VALUES ($1, $2, $3, $4) \
                 RETURNING id",
                &[room, user, text],
            )
            .await?;
        Ok(ChatMessage {
            id,
            room: room.to_string(),
            user: user.to_string(),
            text: text.to_string(),
            at,
        })
    }

    /// A room's last `limit` messages after `after` (0 for all), oldest first.
    pub async fn chat_history(
        &self,
        room: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, room, author, text, at FROM chat_messages \
             WHERE room = $1 AND id > $2 ORDER BY id DESC LIMIT $3) AS page ORDER BY id",
        )
        .bind(room)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(chat_message).collect())
    }

    /// Stores a board message.
    pub async fn add_board_message(
        &self,
        name: &str,
        message: &str,
    ) -> Result<BoardMessage, StoreError> {
        let (id, at) = self
            .insert_stamped(
                "INSERT INTO board_messages (name, message, at) VALUES ($1, $2, $3) RETURNING id",
                &[name, message],
            )
            .await?;
        Ok(BoardMessage {
            id,
            name: name.to_string(),
            message: message.to_string(),
            at,
        })
    }

    /// The last `limit` board messages before `before` (all when `None`), oldest first.
    pub async fn board_messages(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<BoardMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, name, message, at FROM board_messages \
             WHERE id < $1 ORDER BY id DESC LIMIT $2) AS page ORDER BY id",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| BoardMessage {
                id: row.get("id"),
                name: row.get("name"),
                message: row.get("message"),
                at: row.get("at"),
            })
            .collect())
    }

    /// Stores a tweet.
    pub async fn add_tweet(&self, author: &str, text: &str) -> Result<Tweet, StoreError> {
        let (id, at) = self
            .insert_stamped(
                "INSERT INTO tweets (author, text, at) VALUES ($1, $2, $3) RETURNING id",
                &[author, text],
            )
            .await?;
        Ok(Tweet {
            id,
            author: author.to_string(),
            text: text.to_string(),
            at,
        })
    }

    /// A page of tweets, newest first.
    pub async fn tweets(&self, page: TweetPage, limit: u32) -> Result<Vec<Tweet>, StoreError> {
        let (low, high) = match page {
            TweetPage::Latest => (0, i64::MAX),
            TweetPage::After(id) => (id, i64::MAX),
            TweetPage::Before(id) => (0, id),
        };
        // Tweets newer than an id are the oldest of them first when limited, so none are skipped.
        let sql = if matches!(page, TweetPage::After(_)) {
            "SELECT * FROM (SELECT id, author, text, at FROM tweets WHERE id > $1 AND id < $2 \
             ORDER BY id LIMIT $3) AS page ORDER BY id DESC"
        } else {
            "SELECT id, author, text, at FROM tweets WHERE id > $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        };
        let rows = sqlx::query(sql)
            .bind(low)
            .bind(high)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(tweet).collect())
    }
}
