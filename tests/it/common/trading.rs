//! Trading scenarios that must hold on one node or many: `nodes` are the app instances sharing one
//! database, and traders are spread over them in turn.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::{json, Value};
use sqlx::Row;

use super::app::{Client, TestApp};
use super::http_client;

/// One test per trading scenario of this module, each on fresh nodes: `$nodes` evaluates (inside
/// the test) to the `Vec<TestApp>` the scenario runs on.
macro_rules! scenario_tests {
    ($nodes:expr => { $($test:ident: $scenario:ident),* $(,)? }) => {$(
        #[actix_web::test]
        async fn $test() {
            let nodes: Vec<$crate::common::app::TestApp> = $nodes;
            let nodes: Vec<&$crate::common::app::TestApp> = nodes.iter().collect();
            $crate::common::trading::$scenario(&nodes).await;
        }
    )*};
}
pub(crate) use scenario_tests;

/// A user with a session token and a connected client.
pub struct Trader {
    pub name: String,
    pub token: String,
    pub client: Client,
}

impl Trader {
    /// Offers `item` to `to` for nothing; the ack.
    pub async fn offer(&mut self, to: &str, item: i64) -> Value {
        let offer = json!({"to": to, "give": [item]});
        self.client.ack("trade:offer", offer).await
    }
}

/// Registers `name` on `app` and connects a client as them.
pub async fn trader(app: &TestApp, name: &str) -> Trader {
    let token = app.register(name).await;
    let client = app.client(Some(&token)).await;
    Trader {
        name: name.to_string(),
        token,
        client,
    }
}

/// The ids of the items `name` owns, from the public inventory API.
pub async fn inventory(app: &TestApp, name: &str) -> Vec<i64> {
    let mut response = http_client()
        .get(app.url(&format!("/api/users/{name}/inventory")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "inventory of {name}");
    let body: Value = response.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Items in the database, and items whose owner is not a user (must be none).
pub async fn census(app: &TestApp) -> (i64, i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    let orphans: i64 =
        sqlx::query("SELECT COUNT(*) FROM items WHERE owner_id NOT IN (SELECT id FROM users)")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
    pool.close().await;
    (total, orphans)
}

/// Eight tabs of the recipient, spread over `nodes`, accept one offer at once: exactly one wins,
/// the others hear `not_active`, and the swap happened once.
pub async fn concurrent_accepts_give_one_success(nodes: &[&TestApp]) {
    let mut ann = trader(nodes[0], "ann").await;
    let bob = trader(nodes[nodes.len() - 1], "bob").await;
    let app = nodes[0];
    let (a, b) = (inventory(app, "ann").await, inventory(app, "bob").await);
    let offered = ann
        .client
        .ack(
            "trade:offer",
            json!({"to": "bob", "give": [a[0], a[1]], "want": [b[0]]}),
        )
        .await;
    let id = offered["trade"]["id"].as_i64().unwrap();
    let mut tabs = Vec::new();
    for i in 0..8 {
        tabs.push(nodes[i % nodes.len()].client(Some(&bob.token)).await);
    }
    let answers = join_all(
        tabs.iter_mut()
            .map(|tab| tab.ack("trade:accept", json!({"id": id}))),
    )
    .await;
    let successes = answers.iter().filter(|a| a["ok"] == true).count();
    assert_eq!(successes, 1, "{answers:?}");
    assert!(answers
        .iter()
        .filter(|a| a["ok"] == false)
        .all(|a| a["error"]["code"] == "not_active"));
    assert_eq!(census(app).await, (12, 0));
    assert_eq!(inventory(app, "ann").await.len(), 5);
    assert_eq!(inventory(app, "bob").await.len(), 7);
}

/// Two offers of the same item, accepted at the same moment (on different nodes when there are
/// several): one is accepted, the other becomes invalid, and the item has exactly one owner.
pub async fn shared_item_trades_give_one_accepted(nodes: &[&TestApp]) {
    let node = |i: usize| nodes[i % nodes.len()];
    let mut ann = trader(node(0), "ann").await;
    let mut bob = trader(node(0), "bob").await;
    let mut carol = trader(node(1), "carol").await;
    let app = nodes[0];
    let shared = inventory(app, "ann").await[0];
    let to_bob = ann.offer("bob", shared).await;
    let to_carol = ann.offer("carol", shared).await;
    let (first, second) = tokio::join!(
        bob.client
            .ack("trade:accept", json!({"id": to_bob["trade"]["id"]})),
        carol
            .client
            .ack("trade:accept", json!({"id": to_carol["trade"]["id"]})),
    );
    let oks = [&first, &second]
        .into_iter()
        .filter(|a| a["ok"] == true)
        .count();
    assert_eq!(oks, 1, "{first} {second}");
    let loser = if first["ok"] == true { &second } else { &first };
    assert_eq!(loser["error"]["code"], "not_active");
    assert_eq!(loser["trade"]["status"], "invalid");
    let owners = join_all(
        ["ann", "bob", "carol"]
            .map(|name| async move { inventory(app, name).await.contains(&shared) }),
    )
    .await;
    assert_eq!(
        owners.iter().filter(|owns| **owns).count(),
        1,
        "exactly one owner"
    );
    assert_eq!(census(app).await, (18, 0));
}

/// Many users, spread over `nodes`, make, accept, decline and cancel random offers at once over
/// real sockets; at the end no item was created, lost or duplicated.
pub async fn randomized_trading_conserves_every_item(nodes: &[&TestApp]) {
    use rand::seq::SliceRandom;
    use rand::Rng;

    const USERS: usize = 6;
    const ROUNDS: usize = 12;
    let app = nodes[0];
    let names: Vec<String> = (0..USERS).map(|i| format!("trader{i}")).collect();
    let mut traders = Vec::new();
    for (i, name) in names.iter().enumerate() {
        traders.push(trader(nodes[i % nodes.len()], name).await);
    }
    let (before, _) = census(app).await;
    assert_eq!(before, (USERS * 6) as i64);
    let mut accepted = 0;
    for _ in 0..ROUNDS {
        // Everyone offers something to someone, at once, from possibly stale inventories.
        let mut inventories = Vec::new();
        for name in &names {
            inventories.push(inventory(app, name).await);
        }
        let plans: Vec<Value> = (0..USERS)
            .map(|i| {
                let mut rng = rand::thread_rng();
                let j = (i + rng.gen_range(1..USERS)) % USERS;
                let (gives, wants) = (rng.gen_range(0..3), rng.gen_range(1..3));
                let give: Vec<i64> = inventories[i]
                    .choose_multiple(&mut rng, gives)
                    .copied()
                    .collect();
                let want: Vec<i64> = inventories[j]
                    .choose_multiple(&mut rng, wants)
                    .copied()
                    .collect();
                json!({"to": names[j], "give": give, "want": want})
            })
            .collect();
        let offers = join_all(
            traders
                .iter_mut()
                .zip(plans)
                .map(|(t, plan)| t.client.ack("trade:offer", plan)),
        )
        .await;
        let mut trades: Vec<(i64, String)> = offers
            .iter()
            .filter(|o| o["ok"] == true)
            .map(|o| {
                (
                    o["trade"]["id"].as_i64().unwrap(),
                    o["trade"]["to"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        trades.shuffle(&mut rand::thread_rng());
        // Recipients accept or decline, senders cancel, all at once.
        let mut by_user: Vec<Vec<(i64, &str)>> = vec![Vec::new(); USERS];
        for (id, to) in &trades {
            let event = match rand::thread_rng().gen_range(0..10) {
                0 => "trade:decline",
                1 => "trade:cancel",
                _ => "trade:accept",
            };
            let recipient = names.iter().position(|n| n == to).unwrap();
            by_user[recipient].push((*id, event));
        }
        let results = join_all(traders.iter_mut().zip(by_user).map(|(t, todo)| async move {
            let mut answers = Vec::new();
            for (id, event) in todo {
                answers.push(t.client.ack(event, json!({"id": id})).await);
            }
            answers
        }))
        .await;
        accepted += results
            .iter()
            .flatten()
            .filter(|a| a["ok"] == true && a["trade"]["status"] == "accepted")
            .count();
    }
    let (total, orphans) = census(app).await;
    assert_eq!((total, orphans), (before, 0), "items created or lost");
    let mut seen = HashSet::new();
    let mut owned = 0;
    for name in &names {
        for item in inventory(app, name).await {
            assert!(seen.insert(item), "item {item} owned twice");
            owned += 1;
        }
    }
    assert_eq!(owned, before);
    assert!(accepted > 0, "the run exercised real swaps");
}
