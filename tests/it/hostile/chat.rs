//! Chat rooms and typing under abuse: a burst of joins creates few rooms, caps answer with their
//! codes, idle rooms leave the list, list pushes are coalesced, typing needs membership and is
//! rate-limited (docs/EVENTS.md, "Chat").

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::app::{spawn_app, spawn_app_with, Client};
use crate::common::WsFrame;

/// Long enough for an event that is going to arrive to have arrived.
const QUIET: Duration = Duration::from_millis(500);
/// Longer than a `chat:rooms` push waits (300 ms) with room to spare: no push for this long means
/// the pushes are over.
const PUSHES_OVER: Duration = Duration::from_millis(1500);

/// Sockets arriving at once in the join storm.
const STORM: usize = 40;

/// Sends every event at once, each asking for an ack, then reads until all acks are in; answers
/// them in order. Other packets are dropped.
async fn burst(client: &mut Client, events: &[(&str, Value)]) -> Vec<Value> {
    const FIRST_ID: usize = 100_000;
    for (i, (event, arg)) in events.iter().enumerate() {
        let packet = format!("42{}{}", FIRST_ID + i, json!([event, arg]));
        client.ws.send_text(&packet).await;
    }
    let mut acks: HashMap<usize, Value> = HashMap::new();
    while acks.len() < events.len() {
        let WsFrame::Text(text) = client.ws.recv_data().await else {
            panic!("the connection closed during the burst");
        };
        let Some(rest) = text.strip_prefix("43") else {
            continue;
        };
        let split = rest.find('[').expect("ack arguments");
        let id: usize = rest[..split].parse().expect("ack id");
        let args: Value = serde_json::from_str(&rest[split..]).expect("ack JSON");
        acks.insert(id - FIRST_ID, args[0].clone());
    }
    (0..events.len())
        .map(|i| acks.remove(&i).unwrap_or_default())
        .collect()
}

/// The names in a `chat:rooms` list.
fn names(list: &Value) -> Vec<String> {
    list["rooms"]
        .as_array()
        .expect("a room list")
        .iter()
        .map(|room| room["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether an event called `name` arrives within `wait` (it is consumed).
async fn arrives(client: &mut Client, name: &str, wait: Duration) -> bool {
    tokio::time::timeout(wait, client.event(name)).await.is_ok()
}

/// Counts `chat:rooms` pushes until none comes for [`PUSHES_OVER`] (at most `ceiling` + 1 read).
async fn count_pushes(client: &mut Client, ceiling: usize) -> usize {
    let mut pushes = 0;
    while pushes <= ceiling && arrives(client, "chat:rooms", PUSHES_OVER).await {
        pushes += 1;
    }
    pushes
}

#[actix_web::test]
async fn a_burst_of_300_joins_creates_at_most_30_rooms_and_honest_rooms_stay_listed() {
    let app = spawn_app().await;
    let mut honest = app.client(None).await;
    honest.must_join("den", "within the limits").await;

    let mut attacker = app.client(None).await;
    let joins: Vec<(&str, Value)> = (0..300)
        .map(|i| ("chat:join", json!({ "room": format!("flood-{i}") })))
        .collect();
    let acks = burst(&mut attacker, &joins).await;
    let created = acks.iter().filter(|ack| ack["ok"] == true).count();
    assert!(created <= 30, "{created} rooms created by one socket");
    for ack in acks.iter().filter(|ack| ack["ok"] != true) {
        let code = ack["error"]["code"].as_str().unwrap_or_default();
        assert!(
            code == "too_many_rooms" || code == "rate_limited",
            "unexpected refusal {ack}"
        );
    }

    let listed = names(&honest.ack("chat:rooms", Value::Null).await);
    assert!(listed.contains(&"lobby".to_string()), "{listed:?}");
    assert!(listed.contains(&"den".to_string()), "{listed:?}");
    let flood = listed
        .iter()
        .filter(|name| name.starts_with("flood-"))
        .count();
    assert!(flood <= 30, "{flood} flood rooms listed");
    assert_eq!(
        attacker.ack("chat:rooms", Value::Null).await["ok"],
        true,
        "the attacker is refused, not disconnected"
    );
}

#[actix_web::test]
async fn a_socket_or_a_user_at_the_room_cap_gets_too_many_rooms() {
    let app = spawn_app_with(|s| s.chat_rooms_per_user = 3).await;
    let mut guest = app.client(None).await;
    for room in ["lobby", "a", "b"] {
        guest.must_join(room, "within the limits").await;
    }
    let refused = guest.join("c").await;
    assert_eq!(refused["error"]["code"], "too_many_rooms", "{refused}");
    guest
        .must_join("a", "joining a room again takes no new place")
        .await;
    guest.ack("chat:leave", json!({"room": "a"})).await;
    guest
        .must_join("c", "a place freed by a leave can be used")
        .await;

    // A signed-in user's tabs share the cap.
    let token = app.register("tabby").await;
    let mut tab1 = app.client(Some(&token)).await;
    let mut tab2 = app.client(Some(&token)).await;
    for room in ["lobby", "a", "b"] {
        tab1.must_join(room, "within the limits").await;
    }
    let refused = tab2.join("c").await;
    assert_eq!(refused["error"]["code"], "too_many_rooms", "{refused}");
    tab2.must_join("b", "a room the user is in already through another tab")
        .await;
}

#[actix_web::test]
async fn room_creation_is_rate_limited_per_address_and_capped_overall() {
    let app = spawn_app_with(|s| s.chat_new_rooms_per_minute = 2).await;
    let mut first = app.client(None).await;
    let mut second = app.client(None).await;
    first.must_join("r1", "within the limits").await;
    second.must_join("r2", "within the limits").await;
    let mut third = app.client(None).await;
    let refused = third.join("r3").await;
    assert_eq!(
        refused["error"]["code"], "rate_limited",
        "guests share their address's rate"
    );
    third
        .must_join("r1", "joining a listed room creates nothing")
        .await;

    let app = spawn_app_with(|s| s.chat_max_rooms = 3).await;
    let mut a = app.client(None).await;
    for room in ["r1", "r2"] {
        a.must_join(room, "within the limits").await;
    }
    let mut b = app.client(None).await;
    let refused = b.join("r3").await;
    assert_eq!(refused["error"]["code"], "rooms_full", "{refused}");
    b.must_join("lobby", "within the limits").await;
    b.must_join("r2", "within the limits").await;
}

#[actix_web::test]
async fn an_empty_room_leaves_the_list_after_the_idle_time() {
    let app = spawn_app_with(|s| s.chat_room_idle_secs = 1).await;
    let mut observer = app.client(None).await;
    let mut visitor = app.client(None).await;
    visitor.must_join("brief", "within the limits").await;
    assert_eq!(
        visitor.ack("chat:leave", json!({"room": "brief"})).await["ok"],
        true
    );

    // Pushes list `brief` (joined, then empty but recent) until the sweep takes it off.
    let mut seen = false;
    let mut gone = false;
    for _ in 0..20 {
        let pushed = names(&observer.event("chat:rooms").await);
        assert!(pushed.contains(&"lobby".to_string()), "{pushed:?}");
        if pushed.contains(&"brief".to_string()) {
            seen = true;
        } else if seen {
            gone = true;
            break;
        }
    }
    assert!(seen && gone, "brief was listed, then left the list");
    let listed = names(&observer.ack("chat:rooms", Value::Null).await);
    assert_eq!(listed, ["lobby"]);
    visitor
        .must_join("brief", "the name can be used again")
        .await;
}

#[actix_web::test]
async fn a_join_storm_costs_a_bounded_number_of_room_list_pushes() {
    let app = spawn_app().await;
    let mut observer = app.client(None).await;
    let mut crowd = Vec::new();
    for _ in 0..STORM {
        crowd.push(app.client(None).await);
    }
    // Every arrival changes the lobby's member count: one push each would be STORM pushes.
    for client in &mut crowd {
        client.emit("chat:join", json!({"room": "lobby"})).await;
    }
    let pushes = count_pushes(&mut observer, STORM).await;
    assert!(pushes >= 1, "the changes are pushed");
    assert!(
        pushes <= 10,
        "{pushes} chat:rooms pushes for {STORM} arrivals"
    );
    let listed = observer.ack("chat:rooms", Value::Null).await;
    assert_eq!(
        listed["rooms"],
        json!([{"name": "lobby", "members": STORM}]),
        "the list has every arrival"
    );
}

#[actix_web::test]
async fn typing_from_a_non_member_reaches_nobody() {
    let app = spawn_app().await;
    let mut member = app.client(None).await;
    member.join("den").await;
    let mut outsider = app.client(None).await;
    for _ in 0..5 {
        outsider.emit("chat:typing", json!({"room": "den"})).await;
    }
    assert!(
        member.quiet("chat:typing", QUIET).await,
        "no typing from outside"
    );
    let refused = outsider.ack("chat:typing", json!({"room": "den"})).await;
    assert_eq!(refused["error"]["code"], "not_in_room", "{refused}");
}

#[actix_web::test]
async fn a_typing_flood_is_limited() {
    let app = spawn_app().await;
    let mut member = app.client(None).await;
    member.join("den").await;
    let mut typist = app.client(None).await;
    typist.join("den").await;
    for _ in 0..50 {
        typist.emit("chat:typing", json!({"room": "den"})).await;
    }
    let mut relayed = 0;
    while relayed <= 50 && arrives(&mut member, "chat:typing", QUIET).await {
        relayed += 1;
    }
    assert!(
        (1..=5).contains(&relayed),
        "{relayed} of 50 typing signals relayed"
    );
    let refused = typist.ack("chat:typing", json!({"room": "den"})).await;
    assert_eq!(refused["error"]["code"], "rate_limited", "{refused}");
}
