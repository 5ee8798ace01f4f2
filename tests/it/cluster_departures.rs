//! A cluster node that dies without a word (SIGKILL): a surviving node announces its users'
//! departures (`chat:presence` offline, a new `online` list) within the bound, from the node
//! heartbeats in Redis, and only for users who are no longer online on any node.

use std::time::Duration;

use agora::apps::departures::DEPARTURE_BOUND;
use agora::cluster::{Heartbeats, HEARTBEAT_INTERVAL};
use serde_json::{json, Value};

use crate::common::app::{spawn_app_with_postgres, spawn_process_beside, Client};

const REDIS: &str = "redis://127.0.0.1:6379";

/// Less than [`crate::common::WAIT`], after which a read that finds nothing fails the test.
const SLICE: Duration = Duration::from_secs(2);

/// The next event called `name`, waiting as long as it takes (the caller bounds the wait).
async fn next(client: &mut Client, name: &str) -> Value {
    loop {
        // Reading is cancel-safe: an event of another name that arrived is kept by the client.
        if let Ok(value) = tokio::time::timeout(SLICE, client.event(name)).await {
            return value;
        }
    }
}

/// Reads `chat:presence` events until Ann's departure from `den`; fails on any other departure
/// (Cat still has a tab on the surviving node).
async fn anns_departure(bob: &mut Client) {
    loop {
        let presence = next(bob, "chat:presence").await;
        if presence["online"] == false {
            assert_eq!(
                presence,
                json!({"room": "den", "user": "ann", "online": false}),
                "only Ann left: Cat is still in den on the surviving node"
            );
            return;
        }
    }
}

/// Reads `online` events until one lists exactly `users`.
async fn online_list_becomes(client: &mut Client, users: Value) {
    while next(client, "online").await["users"] != users {}
}

#[actix_web::test]
async fn a_dead_nodes_users_are_announced_gone_unless_online_elsewhere() {
    let key = format!("agora-test-{:016x}", rand::random::<u64>());
    let survivor = spawn_app_with_postgres(|s| {
        s.redis_url = Some(REDIS.into());
        s.redis_key = key.clone();
    })
    .await;
    let mut doomed =
        spawn_process_beside(&survivor, &["--redis-url", REDIS, "--redis-key", &key]).await;
    let heartbeats = Heartbeats::connect(REDIS, &key)
        .await
        .expect("Redis answers");

    let ann_token = survivor.register("ann").await;
    let bob_token = survivor.register("bob").await;
    let cat_token = survivor.register("cat").await;
    // Ann only on the node that dies; Cat there and on the survivor; Bob watches from the survivor.
    let mut bob = survivor.client(Some(&bob_token)).await;
    let mut ann = doomed.client(Some(&ann_token)).await;
    let mut cat_doomed = doomed.client(Some(&cat_token)).await;
    let mut cat_survivor = survivor.client(Some(&cat_token)).await;
    for client in [&mut bob, &mut ann, &mut cat_doomed, &mut cat_survivor] {
        client.must_join("den", "den is open to all").await;
    }
    online_list_becomes(&mut bob, json!(["ann", "bob", "cat"])).await;
    // Every heartbeat is followed by the node's presence rooms, so the next one has Ann's and Cat's.
    tokio::time::sleep(HEARTBEAT_INTERVAL * 2).await;
    let live = heartbeats.live_nodes().await.expect("Redis answers");
    assert_eq!(live.len(), 2, "both nodes beat: {live:?}");

    doomed.kill();
    tokio::time::timeout(DEPARTURE_BOUND, async {
        anns_departure(&mut bob).await;
        online_list_becomes(&mut bob, json!(["bob", "cat"])).await;
    })
    .await
    .unwrap_or_else(|_| {
        panic!("Ann's departure was not announced within {DEPARTURE_BOUND:?} of her node's death")
    });
    assert!(
        bob.quiet("chat:presence", Duration::from_secs(1)).await,
        "no other departure: Cat still has a tab on the surviving node"
    );
    let live = heartbeats.live_nodes().await.expect("Redis answers");
    assert_eq!(live.len(), 1, "the dead node is no longer alive: {live:?}");
    // Cat's tab on the survivor is still in the room, and says so.
    let sent = cat_survivor.say("den", "still here").await;
    assert_eq!(sent["ok"], true, "{sent}");
    assert_eq!(bob.event("chat:message").await["text"], "still here");
}
