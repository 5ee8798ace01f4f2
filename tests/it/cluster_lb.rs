//! A cluster behind a real load balancer with no affinity: docker/nginx.conf (plain round-robin)
//! run by Debian's nginx in front of three Agora nodes (the `agora` binary, on one Redis and one
//! PostgreSQL database), driven by the official socket.io-client (tests/interop/lb.mjs): chat over
//! polling only, default transports (polling then upgrade) and WebSocket only, and a client whose
//! node is killed (SIGKILL) recovering on another with nothing lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::app::{spawn_process_cluster, TestApp};
use crate::common::nginx::Nginx;
use crate::common::node::run_scenario;

const REDIS: &str = "redis://127.0.0.1:6379";
const SCRIPT: &str = "tests/interop/lb.mjs";
const CLIENT_PACKAGE: &str = "tests/interop/node_modules/socket.io-client";
/// Longest a scenario may run (it bounds its own steps well within this).
const SCENARIO_LIMIT: Duration = Duration::from_secs(90);
const NODES: usize = 3;

/// Three nodes of a cluster of their own behind nginx, and the tokens of two users.
struct Cluster {
    nodes: Vec<TestApp>,
    nginx: Nginx,
    tokens: [String; 2],
}

async fn cluster() -> Cluster {
    let key = format!("agora-test-{:016x}", rand::random::<u64>());
    let nodes = spawn_process_cluster(NODES, &["--redis-url", REDIS, "--redis-key", &key]).await;
    let ports: Vec<u16> = nodes.iter().map(|node| node.port).collect();
    let nginx = Nginx::start(&ports).await;
    let tokens = [
        nodes[0].register("ann").await,
        nodes[1].register("bob").await,
    ];
    Cluster {
        nodes,
        nginx,
        tokens,
    }
}

impl Cluster {
    /// Runs `scenario` of tests/interop/lb.mjs through nginx.
    async fn run(&self, scenario: &str) {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("{}={}", node.port, node.pid()))
            .collect();
        let args = [
            self.nginx.origin(),
            self.tokens[0].clone(),
            self.tokens[1].clone(),
            nodes.join(","),
        ];
        run_scenario(SCRIPT, CLIENT_PACKAGE, scenario, &args, SCENARIO_LIMIT).await;
    }

    /// For each Engine.IO session that made polling requests after its handshake, the nodes that
    /// served them (from nginx's access log).
    fn polling_nodes_by_session(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut sessions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in self.nginx.access_log().lines() {
            if !line.contains("transport=polling") {
                continue;
            }
            let Some((_, rest)) = line.split_once("sid=") else {
                continue;
            };
            let sid: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            let upstream = line.rsplit(' ').next().unwrap_or_default().to_string();
            sessions.entry(sid).or_default().insert(upstream);
        }
        sessions
    }
}

#[actix_web::test]
async fn chat_over_polling_only_through_round_robin() {
    let cluster = cluster().await;
    cluster.run("lb-polling").await;
    let sessions = cluster.polling_nodes_by_session();
    assert!(
        sessions.values().any(|nodes| nodes.len() == NODES),
        "nginx spread some session's polling requests over every node: {sessions:?}\n{}",
        cluster.nginx.access_log()
    );
}

#[actix_web::test]
async fn chat_over_default_transports_through_round_robin() {
    let cluster = cluster().await;
    cluster.run("lb-default").await;
}

#[actix_web::test]
async fn chat_over_websocket_only_through_round_robin() {
    let cluster = cluster().await;
    cluster.run("lb-websocket").await;
}

#[actix_web::test]
async fn a_client_whose_node_dies_recovers_through_round_robin_with_nothing_lost() {
    let cluster = cluster().await;
    cluster.run("lb-node-death").await;
}
