//! Items and trades. Every change runs in one exclusive transaction (SQLite's `BEGIN IMMEDIATE`,
//! PostgreSQL's `SERIALIZABLE`, retried when it loses a race) that re-checks ownership against
//! stored state, so concurrent offers and accepts, on one node or many, can neither create, lose
//! nor duplicate an item: an item changes hands only by an owner update inside an accepted trade.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{now_ms, Dialect, Store, StoreError, UserId};

/// How many times a transaction that lost a serialization race is run again before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// The pause before the first retry; it doubles each time (plus a little jitter).
const RETRY_PAUSE: Duration = Duration::from_millis(5);

/// An item instance with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The item's own id (one instance).
    pub id: i64,
    /// The kind's display name.
    pub name: String,
    /// `common`, `uncommon`, `rare` or `legendary`.
    pub rarity: String,
    /// The kind's colour, as `#rrggbb`.
    pub color: String,
}

/// Where a trade stands. Only `Active` trades change; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeStatus {
    /// Waiting for the recipient.
    Active,
    /// The recipient accepted; the items changed hands.
    Accepted,
    /// The recipient declined.
    Declined,
    /// The sender took it back.
    Canceled,
    /// Nobody answered within its lifetime.
    Expired,
    /// An item it moves changed owner first.
    Invalid,
}

impl TradeStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Active => "active",
            TradeStatus::Accepted => "accepted",
            TradeStatus::Declined => "declined",
            TradeStatus::Canceled => "canceled",
            TradeStatus::Expired => "expired",
            TradeStatus::Invalid => "invalid",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Option<TradeStatus> {
        [
            TradeStatus::Active,
            TradeStatus::Accepted,
            TradeStatus::Declined,
            TradeStatus::Canceled,
            TradeStatus::Expired,
            TradeStatus::Invalid,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }
}

/// A trade as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trade {
    /// The trade's id.
    pub id: i64,
    /// The sender's name.
    pub from: String,
    /// The recipient's name.
    pub to: String,
    /// The sender's items that go to the recipient.
    pub give: Vec<Item>,
    /// The recipient's items that go to the sender.
    pub want: Vec<Item>,
    /// The sender's note (may be empty).
    pub note: String,
    /// Where it stands.
    pub status: TradeStatus,
    /// When it was offered (milliseconds since the epoch).
    pub created_at: i64,
    /// When an active trade expires (milliseconds since the epoch).
    pub expires_at: i64,
    /// When it last changed (milliseconds since the epoch).
    pub updated_at: i64,
}

/// A checked offer, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewTrade {
    /// Who offers.
    pub sender: UserId,
    /// The name of whom it is offered to.
    pub recipient: String,
    /// Ids of the sender's items to give.
    pub give: Vec<i64>,
    /// Ids of the recipient's items asked for.
    pub want: Vec<i64>,
    /// A note for the recipient.
    pub note: String,
    /// The client's key: the same key offers once, however often it is sent.
    pub idempotency_key: Option<String>,
    /// When it expires (milliseconds since the epoch).
    pub expires_at: i64,
}

/// What a participant does to an active trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The recipient takes it: the items are swapped.
    Accept,
    /// The recipient refuses it.
    Decline,
    /// The sender takes it back.
    Cancel,
}

/// The result of a decision: the trade, and the other trades it made invalid.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The decided trade.
    pub trade: Trade,
    /// Other active trades that moved an item this one moved.
    pub invalidated: Vec<Trade>,
}

/// Why a trade operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TradeError {
    #[error("no such user")]
    /// The other side does not exist.
    UnknownUser,
    #[error("you cannot trade with yourself")]
    /// The sender named themself.
    SelfTrade,
    #[error("you do not own every item you offer")]
    /// The sender no longer owns an item offered.
    NotOwner,
    #[error("they do not own every item you ask for")]
    /// The recipient does not own an item asked for.
    NotTheirs,
    #[error("no such trade")]
    /// No trade with that id.
    NotFound,
    #[error("only the other side of this trade can do that")]
    /// The caller is not the side that may take this decision.
    Forbidden,
    /// The trade is final; `changed_now` when this very call made it so (expired, or invalid
    /// because an item was gone), so both sides are to be told.
    #[error("this trade is {} and can no longer change", .trade.status.as_str())]
    NotActive {
        /// The trade as it stands.
        trade: Box<Trade>,
        /// True when this call made it final.
        changed_now: bool,
    },
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TradeError {
    fn from(error: sqlx::Error) -> Self {
        TradeError::Store(StoreError::Database(error))
    }
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

fn item(row: &AnyRow) -> Item {
    Item {
        id: row.get("id"),
        name: row.get("name"),
        rarity: row.get("rarity"),
        color: row.get("color"),
    }
}

/// How many of `ids` `owner` owns.
async fn count_owned(
    conn: &mut AnyConnection,
    dialect: Dialect,
    owner: UserId,
    ids: &[i64],
) -> Result<usize, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM items WHERE owner_id = $1 AND id IN ({})",
        dialect.ids_in(2)
    );
    let row = sqlx::query(&sql)
        .bind(owner)
        .bind(ids_json(ids))
        .fetch_one(conn)
        .await?;
    Ok(row.get::<i64, _>(0) as usize)
}

async fn load_trade(conn: &mut AnyConnection, id: i64) -> Result<Trade, TradeError> {
    let row = sqlx::query(
        "SELECT t.id, s.name AS sender, r.name AS recipient, t.note, t.status, t.created_at, \
         t.expires_at, t.updated_at FROM trades t JOIN users s ON s.id = t.sender_id \
         JOIN users r ON r.id = t.recipient_id WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(TradeError::NotFound)?;
    let items = sqlx::query(
        "SELECT i.id, k.name, k.rarity, k.color, ti.side FROM trade_items ti \
         JOIN items i ON i.id = ti.item_id JOIN item_kinds k ON k.id = i.kind_id \
         WHERE ti.trade_id = $1 ORDER BY i.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let side = |wanted: &str| {
        items
            .iter()
            .filter(|row| row.get::<String, _>("side") == wanted)
            .map(item)
            .collect()
    };
    Ok(Trade {
        id: row.get("id"),
        from: row.get("sender"),
        to: row.get("recipient"),
        give: side("give"),
        want: side("want"),
        note: row.get("note"),
        status: TradeStatus::parse(&row.get::<String, _>("status")).unwrap_or(TradeStatus::Invalid),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        updated_at: row.get("updated_at"),
    })
}

async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: TradeStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE trades SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends trade `id` as `status` (expired, or invalid: it can no longer be decided) and commits
/// that; the error the decision answers with.
async fn end_undecidable(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    status: TradeStatus,
) -> TradeError {
    let ended: Result<TradeError, TradeError> = async move {
        set_status(&mut tx, id, status).await?;
        let trade = Box::new(load_trade(&mut tx, id).await?);
        tx.commit().await?;
        Ok(TradeError::NotActive {
            trade,
            changed_now: true,
        })
    }
    .await;
    match ended {
        Ok(error) | Err(error) => error,
    }
}

async fn side_ids(
    conn: &mut AnyConnection,
    trade: i64,
    side: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT item_id FROM trade_items WHERE trade_id = $1 AND side = $2")
        .bind(trade)
        .bind(side)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|row| row.get(0)).collect())
}

/// Moves `ids` from `from` to `to`; fails unless every one moved.
async fn transfer(
    conn: &mut AnyConnection,
    dialect: Dialect,
    ids: &[i64],
    from: UserId,
    to: UserId,
) -> Result<bool, sqlx::Error> {
    if ids.is_empty() {
        return Ok(true);
    }
    let sql = format!(
        "UPDATE items SET owner_id = $1 WHERE owner_id = $2 AND id IN ({})",
        dialect.ids_in(3)
    );
    let moved = sqlx::query(&sql)
        .bind(to)
        .bind(from)
        .bind(ids_json(ids))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(moved as usize == ids.len())
}

impl Store {
    /// The ids of every item kind.
    pub async fn item_kinds(&self) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM item_kinds ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|row| row.get(0)).collect())
    }

    /// A user's stored name and the items they own; `None` for an unknown user.
    pub async fn inventory(&self, name: &str) -> Result<Option<(String, Vec<Item>)>, StoreError> {
        let Some(user) = self.find_user(name).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT i.id, k.name, k.rarity, k.color FROM items i \
             JOIN item_kinds k ON k.id = i.kind_id WHERE i.owner_id = $1 ORDER BY i.id",
        )
        .bind(user.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((user.name, rows.iter().map(item).collect())))
    }

    /// Stores an offer after checking, in the same transaction, that both sides own their items.
    /// With an idempotency key already used by this sender, answers the first trade instead
    /// (`false` as the second value).
    pub async fn create_trade(&self, new: &NewTrade) -> Result<(Trade, bool), TradeError> {
        self.exclusively(|| self.create_trade_once(new)).await
    }

    async fn create_trade_once(&self, new: &NewTrade) -> Result<(Trade, bool), TradeError> {
        let dialect = self.dialect;
        let mut tx = self.pool.begin_with(dialect.begin_exclusive()).await?;
        if let Some(key) = &new.idempotency_key {
            let existing =
                sqlx::query("SELECT id FROM trades WHERE sender_id = $1 AND idempotency_key = $2")
                    .bind(new.sender)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(row) = existing {
                let trade = load_trade(&mut tx, row.get(0)).await?;
                tx.commit().await?;
                return Ok((trade, false));
            }
        }
        let recipient: UserId = sqlx::query("SELECT id FROM users WHERE lower(name) = lower($1)")
            .bind(&new.recipient)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(TradeError::UnknownUser)?
            .get(0);
        if recipient == new.sender {
            return Err(TradeError::SelfTrade);
        }
        if count_owned(&mut tx, dialect, new.sender, &new.give).await? != new.give.len() {
            return Err(TradeError::NotOwner);
        }
        if count_owned(&mut tx, dialect, recipient, &new.want).await? != new.want.len() {
            return Err(TradeError::NotTheirs);
        }
        let now = now_ms();
        let id: i64 = sqlx::query(
            "INSERT INTO trades (sender_id, recipient_id, status, note, idempotency_key, \
             created_at, expires_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $5, $6, $5) \
             RETURNING id",
        )
        .bind(new.sender)
        .bind(recipient)
        .bind(&new.note)
        .bind(&new.idempotency_key)
        .bind(now)
        .bind(new.expires_at)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        for (side, ids) in [("give", &new.give), ("want", &new.want)] {
            for item in ids {
                sqlx::query(
                    "INSERT INTO trade_items (trade_id, item_id, side) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(item)
                .bind(side)
                .execute(&mut *tx)
                .await?;
            }
        }
        let trade = load_trade(&mut tx, id).await?;
        tx.commit().await?;
        Ok((trade, true))
    }

    /// Accepts, declines or cancels an active trade on behalf of `user`. Accepting re-checks
    /// ownership and swaps every item or none; other active trades that involved a moved item
    /// become invalid. An accept that finds an item gone makes the trade invalid.
    pub async fn decide(
        &self,
        id: i64,
        user: UserId,
        decision: Decision,
    ) -> Result<Settled, TradeError> {
        self.exclusively(|| self.decide_once(id, user, decision))
            .await
    }

    async fn decide_once(
        &self,
        id: i64,
        user: UserId,
        decision: Decision,
    ) -> Result<Settled, TradeError> {
        let dialect = self.dialect;
        let mut tx = self.pool.begin_with(dialect.begin_exclusive()).await?;
        let row = sqlx::query(
            "SELECT sender_id, recipient_id, status, expires_at FROM trades WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TradeError::NotFound)?;
        let (sender, recipient): (UserId, UserId) = (row.get(0), row.get(1));
        let allowed = match decision {
            Decision::Accept | Decision::Decline => user == recipient,
            Decision::Cancel => user == sender,
        };
        if !allowed {
            return Err(TradeError::Forbidden);
        }
        if row.get::<String, _>(2) != TradeStatus::Active.as_str() {
            let trade = Box::new(load_trade(&mut tx, id).await?);
            return Err(TradeError::NotActive {
                trade,
                changed_now: false,
            });
        }
        if now_ms() >= row.get::<i64, _>(3) {
            return Err(end_undecidable(tx, id, TradeStatus::Expired).await);
        }
        let mut invalidated = Vec::new();
        let status = match decision {
            Decision::Decline => TradeStatus::Declined,
            Decision::Cancel => TradeStatus::Canceled,
            Decision::Accept => {
                let give = side_ids(&mut tx, id, "give").await?;
                let want = side_ids(&mut tx, id, "want").await?;
                let still_owned = count_owned(&mut tx, dialect, sender, &give).await? == give.len()
                    && count_owned(&mut tx, dialect, recipient, &want).await? == want.len();
                if !still_owned {
                    return Err(end_undecidable(tx, id, TradeStatus::Invalid).await);
                }
                // The transaction is exclusive, so the checked owners cannot change before these
                // updates (PostgreSQL would fail the commit instead); a short move still aborts.
                if !transfer(&mut tx, dialect, &give, sender, recipient).await?
                    || !transfer(&mut tx, dialect, &want, recipient, sender).await?
                {
                    return Err(TradeError::Store(StoreError::Inconsistent(
                        "an item moved during an exclusive transaction",
                    )));
                }
                let moved: Vec<i64> = give.iter().chain(&want).copied().collect();
                let sql = format!(
                    "SELECT DISTINCT t.id FROM trades t JOIN trade_items ti ON ti.trade_id = t.id \
                     WHERE t.status = 'active' AND t.id != $1 AND ti.item_id IN ({}) ORDER BY t.id",
                    dialect.ids_in(2)
                );
                let others = sqlx::query(&sql)
                    .bind(id)
                    .bind(ids_json(&moved))
                    .fetch_all(&mut *tx)
                    .await?;
                for other in others {
                    let other: i64 = other.get(0);
                    set_status(&mut tx, other, TradeStatus::Invalid).await?;
                    invalidated.push(load_trade(&mut tx, other).await?);
                }
                TradeStatus::Accepted
            }
        };
        set_status(&mut tx, id, status).await?;
        let trade = load_trade(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Settled { trade, invalidated })
    }

    /// A user's trades, incoming and outgoing, newest first, optionally of one status.
    pub async fn trades_of(
        &self,
        user: UserId,
        status: Option<TradeStatus>,
    ) -> Result<Vec<Trade>, TradeError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT id FROM trades WHERE (sender_id = $1 OR recipient_id = $1) \
             AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT 200",
        )
        .bind(user)
        .bind(status.map(TradeStatus::as_str))
        .fetch_all(&mut *conn)
        .await?;
        let mut trades = Vec::with_capacity(rows.len());
        for row in rows {
            trades.push(load_trade(&mut conn, row.get(0)).await?);
        }
        Ok(trades)
    }

    /// Marks every active trade past its expiry as expired; answers them.
    pub async fn expire_trades(&self) -> Result<Vec<Trade>, TradeError> {
        self.exclusively(|| self.expire_trades_once()).await
    }

    async fn expire_trades_once(&self) -> Result<Vec<Trade>, TradeError> {
        let mut tx = self.pool.begin_with(self.dialect.begin_exclusive()).await?;
        let rows =
            sqlx::query("SELECT id FROM trades WHERE status = 'active' AND expires_at <= $1")
                .bind(now_ms())
                .fetch_all(&mut *tx)
                .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.get(0);
            set_status(&mut tx, id, TradeStatus::Expired).await?;
            expired.push(load_trade(&mut tx, id).await?);
        }
        tx.commit().await?;
        Ok(expired)
    }

    /// Runs `attempt` (one exclusive transaction) until it does not lose a serialization race,
    /// pausing a little longer each time; the last failure is answered after [`MAX_ATTEMPTS`].
    async fn exclusively<T, F, Fut>(&self, mut attempt: F) -> Result<T, TradeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TradeError>>,
    {
        let mut pause = RETRY_PAUSE;
        for _ in 1..MAX_ATTEMPTS {
            match attempt().await {
                Err(TradeError::Store(StoreError::Database(e))) if Dialect::must_retry(&e) => {
                    tracing::debug!(error = %e, "trade transaction lost a race, retrying");
                    let jitter = Duration::from_micros(rand::random::<u64>() % 2_000);
                    tokio::time::sleep(pause + jitter).await;
                    pause *= 2;
                }
                result => return result,
            }
        }
        attempt().await
    }
}
