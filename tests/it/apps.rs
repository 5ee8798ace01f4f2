//! The apps over real sockets: chat rooms, the message board, the tweet feed (docs/EVENTS.md).

use std::time::Duration;

use crate::common::app::{spawn_app, spawn_app_with};
use crate::common::{http_client, texts_of};
use futures_util::future::join_all;
use serde_json::{json, Value};

const QUIET: Duration = Duration::from_millis(300);

#[actix_web::test]
async fn no_broadcast_reaches_a_socket_before_its_connect_answer() {
    // Every user's arrival is broadcast (`online`) to every socket, sockets still being accepted
    // included, and `TestApp::connect` fails unless the first packet a socket reads is its CONNECT
    // answer. Arriving all at once gives those broadcasts every chance to overtake it.
    let app = spawn_app().await;
    let crowd = 16;
    let mut tokens = Vec::new();
    for i in 0..crowd {
        tokens.push(app.register(&format!("crowd{i}")).await);
    }
    let users = join_all(tokens.iter().map(|token| app.client(Some(token))));
    let guests = join_all((0..crowd).map(|_| app.client(None)));
    let (users, guests) = futures_util::future::join(users, guests).await;
    for (i, user) in users.iter().enumerate() {
        assert_eq!(user.name, format!("crowd{i}"));
    }
    assert_eq!(guests.len(), crowd);
}

#[actix_web::test]
async fn two_members_of_a_room_see_each_other_and_an_outsider_sees_nothing() {
    let app = spawn_app().await;
    let ann_token = app.register("ann").await;
    let mut ann = app.client(Some(&ann_token)).await;
    let mut bob = app.client(None).await;
    let mut outsider = app.client(None).await;

    let joined = ann.join("den").await;
    assert_eq!(joined["ok"], true);
    assert_eq!(joined["members"], json!(["ann"]));
    assert_eq!(joined["history"], json!([]));
    outsider.must_join("lobby", "within the limits").await;

    let joined = bob.join("den").await;
    let mut members = joined["members"].as_array().unwrap().clone();
    members.sort_by_key(|m| m.as_str().unwrap().to_string());
    assert_eq!(members, vec![json!("ann"), json!(bob.name.clone())]);
    assert_eq!(
        ann.event("chat:presence").await,
        json!({"room": "den", "user": bob.name, "online": true})
    );

    // The author is the socket's user, whatever the payload claims.
    let sent = ann
        .ack(
            "chat:send",
            json!({"room": "den", "text": "hello", "user": "mallory"}),
        )
        .await;
    assert_eq!(sent["ok"], true);
    let message = sent["message"].clone();
    assert_eq!(message["user"], "ann");
    assert_eq!(message["text"], "hello");
    assert_eq!(message["room"], "den");
    assert!(message["id"].is_i64() && message["at"].is_i64());
    assert_eq!(bob.event("chat:message").await, message);
    assert!(
        ann.quiet("chat:message", QUIET).await,
        "not echoed to its author"
    );
    assert!(outsider.quiet("chat:message", QUIET).await);

    bob.emit("chat:typing", json!({"room": "den"})).await;
    assert_eq!(
        ann.event("chat:typing").await,
        json!({"room": "den", "user": bob.name})
    );
    assert!(outsider.quiet("chat:typing", QUIET).await);

    assert_eq!(
        bob.ack("chat:leave", json!({"room": "den"})).await["ok"],
        true
    );
    assert_eq!(
        ann.event("chat:presence").await,
        json!({"room": "den", "user": bob.name, "online": false})
    );
    let refused = bob.say("den", "back?").await;
    assert_eq!(refused["error"]["code"], "not_in_room");
}

#[actix_web::test]
async fn with_one_worker_the_hub_runs_on_it_and_rooms_work() {
    // One worker thread: the hub starts on it (hub/placement.rs), after the startup code has
    // already sent it messages; nothing may wait for an answer before then.
    let app = spawn_app_with(|settings| settings.workers = Some(1)).await;
    let ann_token = app.register("ann").await;
    let mut ann = app.client(Some(&ann_token)).await;
    let mut bob = app.client(None).await;
    assert_eq!(ann.join("den").await["ok"], true);
    assert_eq!(bob.join("den").await["ok"], true);
    let sent = ann.say("den", "one thread").await;
    assert_eq!(sent["ok"], true);
    assert_eq!(bob.event("chat:message").await["text"], "one thread");
    let listed = bob.ack("chat:rooms", Value::Null).await;
    assert!(listed["rooms"]
        .as_array()
        .unwrap()
        .contains(&json!({"name": "den", "members": 2})));
}

#[actix_web::test]
async fn a_user_with_two_tabs_stays_in_the_room_until_the_last_tab_goes() {
    let app = spawn_app().await;
    let token = app.register("tabby").await;
    let mut watcher = app.client(None).await;
    watcher.join("lobby").await;
    let mut tab1 = app.client(Some(&token)).await;
    let mut tab2 = app.client(Some(&token)).await;
    tab1.join("lobby").await;
    assert_eq!(watcher.event("chat:presence").await["online"], true);
    tab2.join("lobby").await;
    drop(tab1);
    assert!(
        watcher.quiet("chat:presence", QUIET).await,
        "still online in tab 2"
    );
    drop(tab2);
    assert_eq!(
        watcher.event("chat:presence").await,
        json!({"room": "lobby", "user": "tabby", "online": false})
    );
}

#[actix_web::test]
async fn rooms_are_listed_with_member_counts() {
    let app = spawn_app().await;
    let mut a = app.client(None).await;
    let listed = a.ack("chat:rooms", Value::Null).await;
    assert_eq!(listed["rooms"], json!([{"name": "lobby", "members": 0}]));
    a.join("attic").await;
    let listed = a.ack("chat:rooms", Value::Null).await;
    assert_eq!(
        listed["rooms"],
        json!([{"name": "lobby", "members": 0}, {"name": "attic", "members": 1}])
    );
    let pushed = a.event("chat:rooms").await;
    assert!(pushed["rooms"]
        .as_array()
        .unwrap()
        .contains(&json!({"name": "attic", "members": 1})));
}

#[actix_web::test]
async fn chat_history_survives_a_restart() {
    let app = spawn_app().await;
    let mut a = app.client(None).await;
    a.join("archive").await;
    for i in 0..3 {
        a.ack(
            "chat:send",
            json!({"room": "archive", "text": format!("m{i}")}),
        )
        .await;
    }
    drop(a);
    let app = app.restart().await;
    let mut b = app.client(None).await;
    let joined = b.join("archive").await;
    assert_eq!(texts_of(&joined["history"]), ["m0", "m1", "m2"]);
}

#[actix_web::test]
async fn bad_chat_payloads_get_documented_error_codes() {
    let app = spawn_app().await;
    let mut a = app.client(None).await;
    a.join("lobby").await;
    let cases = [
        ("chat:join", json!({}), "bad_request"),
        ("chat:join", json!("lobby"), "bad_request"),
        ("chat:join", json!({"room": ""}), "bad_request"),
        ("chat:join", json!({"room": "r".repeat(41)}), "bad_request"),
        ("chat:join", json!({"room": 42}), "bad_request"),
        (
            "chat:send",
            json!({"room": "lobby", "text": ""}),
            "bad_request",
        ),
        (
            "chat:send",
            json!({"room": "lobby", "text": "x".repeat(2001)}),
            "bad_request",
        ),
        ("chat:send", json!({"room": "lobby"}), "bad_request"),
        (
            "chat:send",
            json!({"room": "elsewhere", "text": "hi"}),
            "not_in_room",
        ),
        ("chat:leave", json!({"room": "elsewhere"}), "not_in_room"),
    ];
    for (event, payload, code) in cases {
        let answer = a.ack(event, payload.clone()).await;
        assert_eq!(answer["ok"], false, "{event} {payload}");
        assert_eq!(answer["error"]["code"], code, "{event} {payload}");
    }
    let ok = a
        .ack(
            "chat:send",
            json!({"room": "lobby", "text": "x".repeat(2000)}),
        )
        .await;
    assert_eq!(ok["ok"], true, "2000 characters is the limit, not over it");
}

#[actix_web::test]
async fn a_chat_flood_is_rate_limited_without_a_disconnect() {
    let app = spawn_app_with(|s| s.chat_messages_per_minute = 3).await;
    let mut a = app.client(None).await;
    a.join("lobby").await;
    for i in 0..3 {
        let ok = a
            .ack(
                "chat:send",
                json!({"room": "lobby", "text": format!("{i}")}),
            )
            .await;
        assert_eq!(ok["ok"], true);
    }
    let limited = a.say("lobby", "one more").await;
    assert_eq!(limited["error"]["code"], "rate_limited");
    assert_eq!(
        a.ack("chat:rooms", Value::Null).await["ok"],
        true,
        "still connected"
    );
}

#[actix_web::test]
async fn a_board_post_reaches_every_socket_and_is_listed() {
    let app = spawn_app().await;
    let mut a = app.client(None).await;
    let mut b = app.client(None).await;
    let (status, stored) = app
        .post_json(
            "/messages",
            json!({"name": "Zoe", "message": "<b>hi</b> there"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(stored["name"], "Zoe");
    assert_eq!(stored["message"], "<b>hi</b> there");
    assert_eq!(a.event("message").await, stored);
    assert_eq!(b.event("message").await, stored);

    let form = http_client()
        .post(app.url("/messages"))
        .send_form(&[("name", "Yan"), ("message", "from a form")])
        .await
        .unwrap();
    assert_eq!(form.status(), 201);
    let (_, listed) = app.get_json("/messages", None).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Zoe", "Yan"], "oldest first");
    let before = listed[1]["id"].as_i64().unwrap();
    let (_, older) = app
        .get_json(&format!("/messages?before={before}"), None)
        .await;
    assert_eq!(older.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn bad_board_posts_get_400_and_floods_429() {
    let app = spawn_app_with(|s| s.board_posts_per_minute = 2).await;
    for body in [
        json!({"name": "", "message": "x"}),
        json!({"name": "n".repeat(41), "message": "x"}),
        json!({"name": "ok", "message": ""}),
        json!({"name": "ok", "message": "m".repeat(1001)}),
        json!({"message": "no name"}),
        json!(["not", "an", "object"]),
    ] {
        let (status, answer) = app.post_json("/messages", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["code"], "bad_request", "{body}");
    }
    for _ in 0..2 {
        let (status, _) = app
            .post_json("/messages", json!({"name": "a", "message": "b"}))
            .await;
        assert_eq!(status, 201);
    }
    let (status, answer) = app
        .post_json("/messages", json!({"name": "a", "message": "b"}))
        .await;
    assert_eq!(status, 429);
    assert_eq!(answer["error"]["code"], "rate_limited");
}

#[actix_web::test]
async fn a_new_tweet_reaches_everyone_but_its_author() {
    let app = spawn_app().await;
    let token = app.register("tweeter").await;
    let mut author = app.client(Some(&token)).await;
    let mut reader = app.client(None).await;
    let posted = author.ack("tweet:post", json!({"text": "first!"})).await;
    assert_eq!(posted["ok"], true);
    let tweet = posted["tweet"].clone();
    assert_eq!(tweet["author"], "tweeter");
    assert_eq!(
        reader.event("newTweet").await,
        json!({"id": tweet["id"], "author": "tweeter"})
    );
    assert!(author.quiet("newTweet", QUIET).await);

    let guest = reader.ack("tweet:post", json!({"text": "me too"})).await;
    assert_eq!(guest["error"]["code"], "unauthenticated");
    let long = author
        .ack("tweet:post", json!({"text": "x".repeat(281)}))
        .await;
    assert_eq!(long["error"]["code"], "bad_request");
}

#[actix_web::test]
async fn tweets_over_http_and_their_pages() {
    let app = spawn_app().await;
    let token = app.register("poster").await;
    let mut reader = app.client(None).await;
    let anonymous = http_client()
        .post(app.url("/api/tweets"))
        .send_json(&json!({"text": "who am I"}))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut response = http_client()
            .post(app.url("/api/tweets"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&json!({"text": format!("t{i}")}))
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let tweet: Value = response.json().await.unwrap();
        ids.push(tweet["id"].as_i64().unwrap());
        assert_eq!(reader.event("newTweet").await["id"], tweet["id"]);
    }
    let get = |query: String| {
        let url = app.url(&format!("/api/tweets{query}"));
        async move {
            let mut response = http_client().get(url).send().await.unwrap();
            let tweets: Value = response.json().await.unwrap();
            tweets
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["text"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(get(String::new()).await, ["t2", "t1", "t0"], "newest first");
    assert_eq!(get(format!("?after={}", ids[0])).await, ["t2", "t1"]);
    assert_eq!(get(format!("?before={}", ids[2])).await, ["t1", "t0"]);
    assert_eq!(get("?limit=1".into()).await, ["t2"]);
}
