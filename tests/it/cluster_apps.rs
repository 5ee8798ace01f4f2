//! Agora nodes sharing one Redis and one PostgreSQL database behave as one hub for the apps:
//! live events cross nodes, and the trade invariants hold when the racing requests arrive on
//! different nodes.

use std::time::Duration;

use agora::config::Settings;

use crate::common::app::{
    spawn_app_with_postgres, spawn_node_beside, spawn_process_beside, Client, TestApp,
};
use crate::common::http_client;
use crate::common::redis_proxy::Proxy;
use crate::common::trading;
use serde_json::{json, Value};

const REDIS: &str = "redis://127.0.0.1:6379";

/// A channel prefix of a test's own, so tests running at once on one Redis are separate clusters.
fn fresh_key() -> String {
    format!("agora-test-{:016x}", rand::random::<u64>())
}

/// Settings for a node of the cluster `key` on the local Redis.
fn in_cluster(key: &str) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        s.redis_url = Some(REDIS.into());
        s.redis_key = key.to_string();
    }
}

/// Two nodes of a cluster of their own, on one fresh PostgreSQL database.
async fn two_nodes() -> (TestApp, TestApp) {
    let key = fresh_key();
    let node_a = spawn_app_with_postgres(in_cluster(&key)).await;
    let node_b = spawn_node_beside(&node_a, in_cluster(&key)).await;
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

    let (_, items) = node_b.get_json("/api/users/ann/inventory", None).await;
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

trading::scenario_tests!(Vec::from(<[TestApp; 2]>::from(two_nodes().await)) => {
    concurrent_accepts_on_two_nodes_give_one_success: concurrent_accepts_give_one_success,
    one_item_offered_twice_and_accepted_on_two_nodes_moves_once:
        shared_item_trades_give_one_accepted,
    randomized_trading_across_two_nodes_conserves_every_item:
        randomized_trading_conserves_every_item,
});

/// Chat members, presence events, member counts and the online list span the nodes: a user with
/// tabs on two nodes is present until the last of them leaves.
#[actix_web::test]
async fn presence_spans_nodes_and_follows_the_last_tab() {
    let (node_a, node_b) = two_nodes().await;
    let ann_token = node_a.register("ann").await;
    let bob_token = node_a.register("bob").await;
    let mut ann_a = node_a.client(Some(&ann_token)).await;
    let mut bob = node_b.client(Some(&bob_token)).await;
    // Online lists from both nodes' arrivals may cross; the last one is the whole truth.
    online_list_becomes(&mut bob, json!(["ann", "bob"])).await;

    let first = bob.join("den").await;
    assert_eq!(first["members"], json!(["bob"]), "{first}");
    let joined = ann_a.join("den").await;
    assert_eq!(joined["members"], json!(["ann", "bob"]), "{joined}");
    let arrival = bob.event("chat:presence").await;
    assert_eq!(
        (&arrival["user"], &arrival["online"]),
        (&json!("ann"), &json!(true))
    );
    let rooms = bob.ack("chat:rooms", json!({})).await;
    let den = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|room| room["name"] == "den")
        .cloned()
        .unwrap();
    assert_eq!(den["members"], 2, "{rooms}");

    // A second tab of Ann's, on the other node: she was there already, nobody is told.
    let mut ann_b = node_b.client(Some(&ann_token)).await;
    let second = ann_b.join("den").await;
    assert_eq!(second["members"], json!(["ann", "bob"]));
    assert!(
        bob.quiet("chat:presence", Duration::from_millis(300)).await,
        "Ann was in the room already"
    );
    assert_eq!(
        ann_a.ack("chat:leave", json!({"room": "den"})).await["ok"],
        true
    );
    assert!(
        bob.quiet("chat:presence", Duration::from_millis(300)).await,
        "Ann is still in the room through her other tab"
    );
    drop(ann_b);
    let departure = bob.event("chat:presence").await;
    assert_eq!(
        (&departure["user"], &departure["online"]),
        (&json!("ann"), &json!(false))
    );
    drop(ann_a);
    online_list_becomes(&mut bob, json!(["bob"])).await;
}

/// Reads `online` events until one lists exactly `users`.
async fn online_list_becomes(client: &mut Client, users: Value) {
    loop {
        if client.event("online").await["users"] == users {
            return;
        }
    }
}

/// A node dies (SIGKILL): its clients reconnect to the surviving node (as a load balancer would
/// send them), re-join their room with the id of the last message they saw, get what they
/// missed, and carry on with the users who were on the other node all along.
#[actix_web::test]
async fn clients_of_a_dead_node_carry_on_at_another() {
    let key = fresh_key();
    let survivor = spawn_app_with_postgres(in_cluster(&key)).await;
    let mut doomed =
        spawn_process_beside(&survivor, &["--redis-url", REDIS, "--redis-key", &key]).await;
    let ann_token = survivor.register("ann").await;
    let bob_token = survivor.register("bob").await;
    let mut ann = doomed.client(Some(&ann_token)).await;
    let mut bob = survivor.client(Some(&bob_token)).await;
    for client in [&mut ann, &mut bob] {
        let joined = client.join("den").await;
        assert_eq!(joined["ok"], true, "{joined}");
    }
    let sent = ann.say("den", "from the doomed node").await;
    let last_seen = sent["message"]["id"].as_i64().unwrap();
    assert_eq!(bob.event("chat:message").await["id"], last_seen);

    doomed.kill();
    // The dead node's client sees its connection end (after whatever was already in flight).
    ann.ws.expect_close().await;
    let missed = bob.say("den", "while you were away").await;
    assert_eq!(missed["ok"], true, "{missed}");

    let mut ann = survivor.client(Some(&ann_token)).await;
    let rejoined = ann
        .ack("chat:join", json!({"room": "den", "after": last_seen}))
        .await;
    let history: Vec<&str> = rejoined["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["while you were away"]);
    // Ann joined before Bob, so this is the survivor announcing her arrival there.
    let presence = bob.event("chat:presence").await;
    assert_eq!(
        (&presence["user"], &presence["online"]),
        (&json!("ann"), &json!(true))
    );
    ann.say("den", "back").await;
    assert_eq!(bob.event("chat:message").await["text"], "back");
    bob.say("den", "welcome back").await;
    assert_eq!(ann.event("chat:message").await["text"], "welcome back");
}

/// Redis goes away under a node: `/readyz` answers 503 naming the cluster link and `/metrics`
/// shows it down, local clients are still served, and both recover when Redis is back.
#[actix_web::test]
async fn a_redis_outage_shows_in_readyz_and_metrics_and_heals() {
    let mut proxy = Proxy::start().await;
    let url = proxy.url();
    let key = fresh_key();
    let node = spawn_app_with_postgres(|s| {
        s.redis_url = Some(url);
        s.redis_key = key;
    })
    .await;
    let mut reader = node.client(None).await;
    assert_eq!(readiness(&node).await, (200, "ok".to_string()));

    proxy.cut().await;
    expect_cluster_link(&node, false).await;
    let (posted, _) = node
        .post_json("/messages", json!({"name": "ann", "message": "still here"}))
        .await;
    assert_eq!(posted, 201);
    assert_eq!(reader.event("message").await["message"], "still here");

    proxy.restore().await;
    expect_cluster_link(&node, true).await;
}

/// `/readyz`: its status and what it says of the cluster link.
/// Waits until `/readyz` reports the Redis link up (200, `ok`) or down (503, `unreachable`), and
/// checks that the `agora_cluster_connected` gauge agrees.
async fn expect_cluster_link(node: &TestApp, up: bool) {
    let expected = if up {
        (200, "ok")
    } else {
        (503, "unreachable")
    };
    let (status, cluster) = eventually_ready_as(node, expected.0).await;
    assert_eq!((status, cluster.as_str()), expected);
    let gauge = metric_line(node, "agora_cluster_connected").await;
    assert!(gauge.ends_with(if up { " 1" } else { " 0" }), "{gauge}");
}

async fn readiness(node: &TestApp) -> (u16, String) {
    let mut response = http_client().get(node.url("/readyz")).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    (
        response.status().as_u16(),
        body["cluster"].as_str().unwrap_or_default().to_string(),
    )
}

/// Polls `/readyz` until it answers `status` (reconnecting takes a backoff step or two).
async fn eventually_ready_as(node: &TestApp, status: u16) -> (u16, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let answer = readiness(node).await;
        if answer.0 == status || std::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `/metrics` line of a metric without labels.
async fn metric_line(node: &TestApp, name: &str) -> String {
    let mut response = http_client()
        .get(node.url("/metrics"))
        .send()
        .await
        .unwrap();
    let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    body.lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_default()
        .to_string()
}
