//! Two Agora nodes sharing one Redis and one database behave as one hub for the apps.

mod common;

use common::app::spawn_app_with;
use common::http_client;
use serde_json::{json, Value};

const REDIS: &str = "redis://127.0.0.1:6379";

#[actix_web::test]
async fn board_messages_and_trade_offers_cross_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/shared.db", dir.path().display());
    let node_a = spawn_app_with(|s| {
        s.redis_url = Some(REDIS.into());
        s.database_url = database.clone();
    })
    .await;
    let node_b = spawn_app_with(|s| {
        s.redis_url = Some(REDIS.into());
        s.database_url = database.clone();
    })
    .await;
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
