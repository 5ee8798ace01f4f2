//! Trades over real sockets: every rule and error code, and the invariants — items are never
//! created, lost or duplicated, whatever clients send and however they race.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::app::{spawn_app, spawn_app_with, TestApp};
use crate::common::http_client;
use crate::common::trading::{self, census, inventory, trader};
use serde_json::{json, Value};

const QUIET: Duration = Duration::from_millis(300);

#[actix_web::test]
async fn accounts_start_with_six_items_and_inventories_are_public() {
    let app = spawn_app().await;
    let ann = trader(&app, "ann").await;
    assert_eq!(inventory(&app, &ann.name).await.len(), 6);
    assert_eq!(
        app.get_json("/api/inventory", Some(&ann.token)).await.0,
        200
    );
    assert_eq!(app.get_json("/api/inventory", None).await.0, 401);
    let mut unknown = http_client()
        .get(app.url("/api/users/nobody/inventory"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["error"]["code"],
        "unknown_user"
    );
}

#[actix_web::test]
async fn bad_offers_get_their_error_codes_and_create_nothing() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let bob = trader(&app, "bob").await;
    let mut guest = app.client(None).await;
    let mine = inventory(&app, "ann").await;
    let theirs = inventory(&app, "bob").await;
    let many: Vec<i64> = (0..21).collect();
    let cases = [
        (
            json!({"to": "bob", "give": [mine[0]]}),
            "unknown_user",
            "nobody",
            true,
        ),
        (
            json!({"to": "ann", "give": [mine[0]]}),
            "self_trade",
            "",
            false,
        ),
        (
            json!({"to": "ANN", "give": [mine[0]]}),
            "self_trade",
            "",
            false,
        ),
        (json!({"to": "bob"}), "empty_offer", "", false),
        (
            json!({"to": "bob", "give": [], "want": []}),
            "empty_offer",
            "",
            false,
        ),
        (
            json!({"to": "bob", "give": [mine[0], mine[0]]}),
            "bad_request",
            "",
            false,
        ),
        (
            json!({"to": "bob", "give": [mine[0]], "want": [mine[0]]}),
            "bad_request",
            "",
            false,
        ),
        (json!({"to": "bob", "give": many}), "bad_request", "", false),
        (
            json!({"to": "bob", "give": "all"}),
            "bad_request",
            "",
            false,
        ),
        (
            json!({"to": "bob", "give": [theirs[0]]}),
            "not_owner",
            "",
            false,
        ),
        (
            json!({"to": "bob", "give": [999_999]}),
            "not_owner",
            "",
            false,
        ),
        (
            json!({"to": "bob", "want": [mine[1]]}),
            "not_theirs",
            "",
            false,
        ),
        (
            json!({"to": "bob", "give": [mine[0]], "note": "n".repeat(201)}),
            "bad_request",
            "",
            false,
        ),
    ];
    for (mut offer, code, to, replace) in cases {
        if replace {
            offer["to"] = json!(to);
        }
        let answer = ann.client.ack("trade:offer", offer.clone()).await;
        assert_eq!(answer["error"]["code"], code, "{offer}");
    }
    let answer = guest
        .ack("trade:offer", json!({"to": "bob", "give": [mine[0]]}))
        .await;
    assert_eq!(answer["error"]["code"], "unauthenticated");
    assert!(http_client()
        .get(app.url("/api/trades"))
        .insert_header(("Authorization", format!("Bearer {}", bob.token)))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["trades"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[actix_web::test]
async fn an_offer_reaches_every_tab_of_the_recipient_and_accepting_swaps_the_items() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let mut bob = trader(&app, "bob").await;
    let mut bob_tab2 = app.client(Some(&bob.token)).await;
    let mut carol = trader(&app, "carol").await;
    let (ann_items, bob_items) = (inventory(&app, "ann").await, inventory(&app, "bob").await);

    // A forged sender is ignored: the trade is from the socket's own user.
    let offered = ann
        .client
        .ack(
            "trade:offer",
            json!({"to": "bob", "from": "carol", "give": [ann_items[0]], "want": [bob_items[0]], "note": "deal?"}),
        )
        .await;
    assert_eq!(offered["ok"], true, "{offered}");
    let trade = offered["trade"].clone();
    assert_eq!(trade["from"], "ann");
    assert_eq!(trade["status"], "active");
    assert_eq!(trade["note"], "deal?");
    let id = trade["id"].as_i64().unwrap();
    assert_eq!(bob.client.event("trade:offer").await["id"], id);
    assert_eq!(bob_tab2.event("trade:offer").await["id"], id);
    assert!(carol.client.quiet("trade:offer", QUIET).await);

    // Forged decisions: the sender accepting, a third user, a guest, the recipient canceling.
    let forged = ann.client.ack("trade:accept", json!({"id": id})).await;
    assert_eq!(forged["error"]["code"], "forbidden");
    let forged = carol.client.ack("trade:accept", json!({"id": id})).await;
    assert_eq!(forged["error"]["code"], "forbidden");
    let mut guest = app.client(None).await;
    assert_eq!(
        guest.ack("trade:accept", json!({"id": id})).await["error"]["code"],
        "unauthenticated"
    );
    let forged = bob.client.ack("trade:cancel", json!({"id": id})).await;
    assert_eq!(forged["error"]["code"], "forbidden");
    assert_eq!(
        bob.client.ack("trade:accept", json!({"id": 424242})).await["error"]["code"],
        "not_found"
    );
    assert_eq!(inventory(&app, "ann").await, ann_items, "nothing moved");

    let accepted = bob.client.ack("trade:accept", json!({"id": id})).await;
    assert_eq!(accepted["trade"]["status"], "accepted", "{accepted}");
    assert_eq!(
        ann.client.event("trade:update").await["status"],
        "active",
        "the offer itself"
    );
    assert_eq!(ann.client.event("trade:update").await["status"], "accepted");
    assert_eq!(bob_tab2.event("trade:update").await["status"], "accepted");

    let ann_now: HashSet<i64> = inventory(&app, "ann").await.into_iter().collect();
    let bob_now: HashSet<i64> = inventory(&app, "bob").await.into_iter().collect();
    assert!(ann_now.contains(&bob_items[0]) && !ann_now.contains(&ann_items[0]));
    assert!(bob_now.contains(&ann_items[0]) && !bob_now.contains(&bob_items[0]));
    assert_eq!((ann_now.len(), bob_now.len()), (6, 6));

    // Final states do not change, and the answer carries the current state.
    let again = bob.client.ack("trade:decline", json!({"id": id})).await;
    assert_eq!(again["error"]["code"], "not_active");
    assert_eq!(again["trade"]["status"], "accepted");
}

#[actix_web::test]
async fn decline_and_cancel_end_a_trade_without_moving_anything() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let mut bob = trader(&app, "bob").await;
    let items = inventory(&app, "ann").await;
    let first = ann
        .client
        .ack("trade:offer", json!({"to": "bob", "give": [items[0]]}))
        .await;
    let second = ann
        .client
        .ack("trade:offer", json!({"to": "bob", "give": [items[1]]}))
        .await;
    let declined = bob
        .client
        .ack("trade:decline", json!({"id": first["trade"]["id"]}))
        .await;
    assert_eq!(declined["trade"]["status"], "declined");
    let canceled = ann
        .client
        .ack("trade:cancel", json!({"id": second["trade"]["id"]}))
        .await;
    assert_eq!(canceled["trade"]["status"], "canceled");
    assert_eq!(inventory(&app, "ann").await, items);
    let (_, listed) = app
        .get_json("/api/trades?status=declined", Some(&bob.token))
        .await;
    assert_eq!(listed["trades"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get_json("/api/trades?status=weird", Some(&bob.token))
            .await
            .0,
        400
    );
}

#[actix_web::test]
async fn an_idempotency_key_returns_the_first_trade() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let _bob = trader(&app, "bob").await;
    let items = inventory(&app, "ann").await;
    let offer = json!({"to": "bob", "give": [items[0]], "key": "k-1"});
    let first = ann.client.ack("trade:offer", offer.clone()).await;
    let second = ann.client.ack("trade:offer", offer).await;
    assert_eq!(first["trade"]["id"], second["trade"]["id"]);
    let mut response = http_client()
        .get(app.url("/api/trades"))
        .insert_header(("Authorization", format!("Bearer {}", ann.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["trades"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

trading::scenario_tests!(vec![spawn_app().await] => {
    many_concurrent_accepts_of_one_trade_give_exactly_one_success: concurrent_accepts_give_one_success,
    two_trades_sharing_an_item_accepted_together_give_one_accepted_and_one_invalid:
        shared_item_trades_give_one_accepted,
    randomized_concurrent_trading_conserves_every_item: randomized_trading_conserves_every_item,
});

#[actix_web::test]
async fn an_accepted_trade_invalidates_other_offers_of_its_items_and_tells_both_sides() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let mut bob = trader(&app, "bob").await;
    let mut carol = trader(&app, "carol").await;
    let item = inventory(&app, "ann").await[0];
    let to_bob = ann.offer("bob", item).await;
    let to_carol = ann.offer("carol", item).await;
    bob.client
        .ack("trade:accept", json!({"id": to_bob["trade"]["id"]}))
        .await;
    loop {
        let update = carol.client.event("trade:update").await;
        if update["id"] == to_carol["trade"]["id"] {
            assert_eq!(update["status"], "invalid");
            break;
        }
    }
}

#[actix_web::test]
async fn an_expired_trade_cannot_be_accepted() {
    let app = spawn_app_with(|s| s.trade_lifetime_secs = 1).await;
    let mut ann = trader(&app, "ann").await;
    let mut bob = trader(&app, "bob").await;
    let item = inventory(&app, "ann").await[0];
    let offered = ann.offer("bob", item).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let late = bob
        .client
        .ack("trade:accept", json!({"id": offered["trade"]["id"]}))
        .await;
    assert_eq!(late["error"]["code"], "not_active");
    assert_eq!(late["trade"]["status"], "expired");
    assert!(inventory(&app, "ann").await.contains(&item));
}

#[actix_web::test]
async fn trades_and_their_rules_survive_a_restart() {
    let app = spawn_app().await;
    let mut ann = trader(&app, "ann").await;
    let bob = trader(&app, "bob").await;
    let items = inventory(&app, "ann").await;
    let offered = ann
        .client
        .ack("trade:offer", json!({"to": "bob", "give": [items[0]]}))
        .await;
    let id = offered["trade"]["id"].clone();
    drop(ann);
    let app = app.restart().await;
    let mut ann = app.client(Some(&app_login(&app, "ann").await)).await;
    let forged = ann.ack("trade:accept", json!({"id": id})).await;
    assert_eq!(forged["error"]["code"], "forbidden");
    let mut bob_again = app.client(Some(&bob.token)).await;
    let accepted = bob_again.ack("trade:accept", json!({"id": id})).await;
    assert_eq!(accepted["trade"]["status"], "accepted");
    assert_eq!(census(&app).await, (12, 0));
}

async fn app_login(app: &TestApp, name: &str) -> String {
    let (status, body) = app.log_in(name, "correct horse").await;
    assert_eq!(status, 200);
    body["token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn trades_over_http_follow_the_same_rules() {
    let app = spawn_app().await;
    let ann = trader(&app, "ann").await;
    let mut bob = trader(&app, "bob").await;
    let items = inventory(&app, "ann").await;
    let bearer = |token: &str| ("Authorization", format!("Bearer {token}"));
    let mut created = http_client()
        .post(app.url("/api/trades"))
        .insert_header(bearer(&ann.token))
        .send_json(&json!({"to": "bob", "give": [items[0]]}))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let trade: Value = created.json().await.unwrap();
    let id = trade["trade"]["id"].as_i64().unwrap();
    assert_eq!(bob.client.event("trade:offer").await["id"], id);
    let mut forged = http_client()
        .post(app.url(&format!("/api/trades/{id}/accept")))
        .insert_header(bearer(&ann.token))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        forged.json::<Value>().await.unwrap()["error"]["code"],
        "forbidden"
    );
    let accepted = http_client()
        .post(app.url(&format!("/api/trades/{id}/accept")))
        .insert_header(bearer(&bob.token))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let mut again = http_client()
        .post(app.url(&format!("/api/trades/{id}/accept")))
        .insert_header(bearer(&bob.token))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_active");
    assert_eq!(body["trade"]["status"], "accepted");
}

#[actix_web::test]
async fn a_flood_of_offers_is_rate_limited() {
    let app = spawn_app_with(|s| s.trade_offers_per_minute = 2).await;
    let mut ann = trader(&app, "ann").await;
    let _bob = trader(&app, "bob").await;
    let items = inventory(&app, "ann").await;
    for item in &items[..2] {
        let ok = ann.offer("bob", *item).await;
        assert_eq!(ok["ok"], true);
    }
    let limited = ann
        .client
        .ack("trade:offer", json!({"to": "bob", "give": [items[2]]}))
        .await;
    assert_eq!(limited["error"]["code"], "rate_limited");
}
