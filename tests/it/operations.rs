//! Running Agora like real software: configuration, health, metrics, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::app::spawn_app;
use crate::common::{http_client, Ws, WsFrame};
use serde_json::{json, Value};

const AGORA: &str = env!("CARGO_BIN_EXE_agora");

fn agora(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(AGORA)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("AGORA_PORT")
        .output()
        .expect("run agora")
}

/// A config file `agora.toml` holding `text`, in a directory removed when the guard drops.
fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("agora.toml");
    std::fs::write(&file, text).expect("write the config file");
    (dir, file)
}

#[test]
fn help_documents_every_setting_with_its_default() {
    let output = agora(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    // Every flag's variable is its name in capitals after `AGORA_`: --max-queue, AGORA_MAX_QUEUE.
    for (flag, default) in [
        ("--port", "3000"),
        ("--bind", "127.0.0.1"),
        ("--database-url", "sqlite://data/agora.db"),
        ("--ping-interval-ms", "25000"),
        ("--ping-timeout-ms", "20000"),
        ("--max-payload", "1000000"),
        ("--max-queue", "1024"),
        ("--trade-lifetime-secs", "86400"),
        ("--log-format", "human"),
        ("--shutdown-grace-secs", "10"),
    ] {
        let env = format!("AGORA_{}", flag[2..].replace('-', "_").to_uppercase());
        assert!(help.contains(flag), "{flag} missing from --help");
        assert!(help.contains(&env), "{env} missing from --help");
        assert!(
            help.contains(&format!("default: {default}")),
            "default of {flag}"
        );
    }
    assert!(help.contains("--allowed-origin"));
    assert!(help.contains("--config"));
}

#[test]
fn bad_values_stop_the_start_with_a_message_naming_the_setting() {
    let output = agora(&["--port", "seventy"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--port"));

    let output = agora(&[], &[("AGORA_MAX_PAYLOAD", "tiny")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--max-payload"));

    let (_dir, file) = config_file("shiny = true\n");
    let output = agora(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`shiny`"));
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let (_dir, file) = config_file("port = 4001\nmax_queue = 64\nping_timeout_ms = 7000\n");
    let output = agora(
        &[
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--max-queue",
            "99",
        ],
        &[("AGORA_PING_TIMEOUT_MS", "8000")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let effective: toml::Table = String::from_utf8_lossy(&output.stdout).parse().unwrap();
    assert_eq!(effective["port"].as_integer(), Some(4001), "from the file");
    assert_eq!(
        effective["ping_timeout_ms"].as_integer(),
        Some(8000),
        "env beats the file"
    );
    assert_eq!(
        effective["max_queue"].as_integer(),
        Some(99),
        "the flag beats both"
    );
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let mut health = http_client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let mut ready = http_client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["database"], "ok");
}

/// The value of one series in Prometheus text, 0 if absent.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(name) && line[name.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &crate::common::app::TestApp) -> String {
    let mut response = http_client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    String::from_utf8(response.body().await.unwrap().to_vec()).unwrap()
}

#[actix_web::test]
async fn metrics_follow_real_traffic() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let token = app.register("metered").await;
    let mut client = app.client(Some(&token)).await;
    client.join("lobby").await;
    client.say("lobby", "counted").await;
    let offer = client
        .ack("trade:offer", json!({"to": "nobody", "give": [1]}))
        .await;
    assert_eq!(offer["ok"], false);
    let after = scrape(&app).await;

    for name in [
        "agora_packets_total{direction=\"in\"}",
        "agora_packets_total{direction=\"out\"}",
        "agora_bytes_total{direction=\"in\"}",
        "agora_http_requests_total{route=\"/api/register\",status=\"201\"}",
        "agora_trades_total{outcome=\"refused\"}",
        "agora_broadcast_fanout_count",
    ] {
        assert!(
            series(&after, name) > series(&before, name),
            "{name} did not grow"
        );
    }
    assert!(series(&after, "agora_connections_open{transport=\"websocket\"}") >= 1.0);
    assert!(series(&after, "agora_sockets_open{namespace=\"/\"}") >= 1.0);
    assert!(series(&after, "agora_rooms") >= 1.0);
    for family in [
        "agora_upgrades_total",
        "agora_acks_timed_out_total",
        "agora_slow_consumer_drops_total",
    ] {
        assert!(after.contains(family), "{family} is exported");
    }
    let disconnects = |text: &str| -> f64 {
        text.lines()
            .filter(|line| line.starts_with("agora_disconnects_total{"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while disconnects(&scrape(&app).await) <= disconnects(&after) {
        assert!(
            Instant::now() < deadline,
            "the closed connection was not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The real binary, on a free port and a temporary database.
struct Process {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(database: &str, grace: &str) -> Process {
    let port = free_port();
    let mut child = Command::new(AGORA)
        .env("AGORA_PORT", port.to_string())
        .env("AGORA_DATABASE_URL", database)
        .env("AGORA_SHUTDOWN_GRACE_SECS", grace)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agora");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "agora did not start");
        match lines.next() {
            Some(Ok(line)) if line.contains('\u{1b}') => {
                panic!("a log line written to a pipe carries ANSI escape codes: {line:?}")
            }
            Some(Ok(line)) if line.contains("Agora is serving") => break,
            Some(_) => continue,
            None => panic!("agora exited before serving"),
        }
    }
    // Keep draining the log so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Process { child, port }
}

#[actix_web::test]
async fn sigterm_disconnects_clients_and_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/agora.db", dir.path().display());
    let mut process = start(&database, "5");
    let base = format!("http://127.0.0.1:{}", process.port);

    let mut stored = Vec::new();
    for i in 0..20 {
        let mut response = http_client()
            .post(format!("{base}/messages"))
            .send_json(&json!({"name": "ops", "message": format!("note {i}")}))
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        stored.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    let mut ws = Ws::connect(&format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        process.port
    ))
    .await;
    ws.recv().await;
    ws.send_text("40").await;
    let WsFrame::Text(connected) = ws.recv_data().await else {
        panic!("not connected");
    };
    assert!(connected.starts_with("40"));
    let (status, open) =
        crate::common::get(&format!("{base}/socket.io/?EIO=4&transport=polling")).await;
    assert_eq!(status, 200);
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let poll_url = format!("{base}/socket.io/?EIO=4&transport=polling&sid={sid}");
    let pending = actix_rt::spawn(async move { crate::common::get(&poll_url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // The WebSocket client is told the server is going away (so it reconnects elsewhere) ...
    assert_eq!(ws.expect_close().await, Some(1001));
    // ... and the polling client gets a close packet.
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        body.ends_with('1'),
        "a close packet ends the last poll: {body:?}"
    );

    let exit = loop {
        if let Some(status) = process.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "shutdown overran its grace"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "clean exit: {exit:?}");

    let mut restarted = start(&database, "5");
    let mut response = http_client()
        .get(format!("http://127.0.0.1:{}/messages", restarted.port))
        .send()
        .await
        .unwrap();
    let listed: Value = response.json().await.unwrap();
    let ids: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, stored, "every acknowledged message is still there");
    let _ = restarted.child.kill();
    let _ = restarted.child.wait();
}

/// The effective settings printed by the binary with these arguments and environment.
fn printed(args: &[&str], env: &[(&str, &str)]) -> toml::Table {
    let mut all = vec!["--print-config"];
    all.extend_from_slice(args);
    let output = agora(&all, env);
    assert!(
        output.status.success(),
        "{args:?} {env:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .parse()
        .expect("TOML")
}

#[test]
fn boolean_settings_work_bare_with_values_from_the_environment_and_from_a_file() {
    let secure = |table: toml::Table| table["secure_cookies"].clone();
    assert_eq!(
        secure(printed(&[], &[])),
        toml::Value::String("auto".into())
    );
    assert_eq!(
        secure(printed(&["--secure-cookies"], &[])),
        toml::Value::Boolean(true)
    );
    assert_eq!(
        secure(printed(&["--secure-cookies=false"], &[])),
        toml::Value::Boolean(false)
    );
    assert_eq!(
        secure(printed(&[], &[("AGORA_SECURE_COOKIES", "false")])),
        toml::Value::Boolean(false)
    );
    assert_eq!(
        secure(printed(&[], &[("AGORA_SECURE_COOKIES", "true")])),
        toml::Value::Boolean(true)
    );
    let (dir, file) =
        config_file("secure_cookies = true\ntrusted_proxy = [\"172.28.0.0/24\", \"::1\"]\n");
    let from_file = printed(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(from_file["secure_cookies"], toml::Value::Boolean(true));
    assert_eq!(
        from_file["trusted_proxy"].to_string(),
        r#"["172.28.0.0/24", "::1/128"]"#
    );
    // What --print-config writes is a configuration file that reads back the same.
    let round_trip = dir.path().join("printed.toml");
    std::fs::write(&round_trip, toml::to_string(&from_file).unwrap()).unwrap();
    assert_eq!(
        printed(&["--config", round_trip.to_str().unwrap()], &[]),
        from_file
    );

    let from_env = printed(&[], &[("AGORA_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")]);
    assert_eq!(
        from_env["trusted_proxy"].to_string(),
        r#"["10.0.0.0/8", "127.0.0.1/32"]"#
    );
    let output = agora(&["--trusted-proxy", "10.0.0.1/8"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--trusted-proxy") && stderr.contains("10.0.0.0/8"),
        "{stderr}"
    );
    let help = String::from_utf8_lossy(&agora(&["--help"], &[]).stdout).into_owned();
    for documented in [
        "--trusted-proxy",
        "AGORA_TRUSTED_PROXIES",
        "--secure-cookies",
        "AGORA_SECURE_COOKIES",
    ] {
        assert!(
            help.contains(documented),
            "{documented} missing from --help"
        );
    }
}
