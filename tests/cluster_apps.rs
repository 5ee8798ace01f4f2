//! Agora nodes sharing one Redis and one PostgreSQL database behave as one hub for the apps:
//! live events cross nodes, and the trade invariants hold when the racing requests arrive on
//! different nodes.

mod common;

use common::app::{spawn_app_with_postgres, spawn_node_beside, TestApp};
use common::http_client;
use common::trading;
use serde_json::{json, Value};

const REDIS: &str = "redis://127.0.0.1:6379";

/// Two nodes on one fresh PostgreSQL database and the local Redis.
async fn two_nodes() -> (TestApp, TestApp) {
    let node_a = spawn_app_with_postgres(|s| s.redis_url = Some(REDIS.into())).await;
    let node_b = spawn_node_beside(&node_a, |s| s.redis_url = Some(REDIS.into())).await;
    (node_a, node_b)
}

#[actix_web::test]
async fn board_messages_and_trade_offers_cross_nodes() {
    let (node_a, node_b) = two_nodes().await;
    let mut ready = http_client()
        .get(node_a.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.json::<Value>().await.unwrap()["cluster"], "ok");

    let ann_token = node_a.register("ann").await;
    let bob_token = node_b.register("bob").await;
    let mut ann = node_a.client(Some(&ann_token)).await;
    let mut bob = node_b.client(Some(&bob_token)).await;

    let (status, posted) = node_a
        .post_json("/messages", json!({"name": "ann", "message": "across"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(bob.event("message").await["id"], posted["id"]);
    assert_eq!(ann.event("message").await["id"], posted["id"]);

    let mut response = http_client()
        .get(node_b.url("/api/users/ann/inventory"))
        .send()
        .await
        .unwrap();
    let items: Value = response.json().await.unwrap();
    let item = items["items"][0]["id"].clone();
    let offered = ann
        .ack("trade:offer", json!({"to": "bob", "give": [item]}))
        .await;
    assert_eq!(offered["ok"], true, "{offered}");
    assert_eq!(bob.event("trade:offer").await["id"], offered["trade"]["id"]);
    let accepted = bob
        .ack("trade:accept", json!({"id": offered["trade"]["id"]}))
        .await;
    assert_eq!(accepted["trade"]["status"], "accepted");
}

#[actix_web::test]
async fn concurrent_accepts_on_two_nodes_give_one_success() {
    let (node_a, node_b) = two_nodes().await;
    trading::concurrent_accepts_give_one_success(&[&node_a, &node_b]).await;
}

#[actix_web::test]
async fn one_item_offered_twice_and_accepted_on_two_nodes_moves_once() {
    let (node_a, node_b) = two_nodes().await;
    trading::shared_item_trades_give_one_accepted(&[&node_a, &node_b]).await;
}

#[actix_web::test]
async fn randomized_trading_across_two_nodes_conserves_every_item() {
    let (node_a, node_b) = two_nodes().await;
    trading::randomized_trading_conserves_every_item(&[&node_a, &node_b]).await;
}
