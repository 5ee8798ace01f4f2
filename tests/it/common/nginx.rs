//! docker/nginx.conf itself, run by Debian's nginx from a temporary directory in front of nodes
//! on 127.0.0.1 (its upstreams replaced by theirs); stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::http::StatusCode;

use super::http_client;

/// How many times (100 ms apart) the test waits for nginx to answer before failing.
const NGINX_START_ATTEMPTS: u32 = 100;

/// Where Debian installs nginx (outside the PATH of unprivileged users).
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";

/// The nginx binary; fails the test (never skips it) when there is none.
fn nginx_binary() -> PathBuf {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("nginx");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let debian = PathBuf::from(DEBIAN_NGINX);
    assert!(
        debian.is_file(),
        "nginx is not installed (apt-get install nginx; .ci/run does): \
         this test runs docker/nginx.conf itself"
    );
    debian
}

/// `text` with `from` replaced by `to`; panics if `from` is not there, so that a change to
/// docker/nginx.conf that the rendering no longer matches is noticed instead of silently tested
/// against the wrong thing.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "docker/nginx.conf no longer has `{from}`"
    );
    text.replace(from, to)
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// docker/nginx.conf, running in front of nodes; stopped on drop.
pub struct Nginx {
    /// The port nginx listens on.
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Renders docker/nginx.conf with the nodes on these ports of 127.0.0.1 as its upstreams, a
    /// free listen port, and its pid file, logs and temporary files in a temporary directory;
    /// everything else as in the file. The access log names the node that served each request:
    /// `<request line> <status> <upstream address>`.
    pub async fn start(nodes: &[u16]) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        // Workers may run as another user (nobody, when the test runs as root).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("open the temp dir to nginx's workers");
        let path = |name: &str| dir.path().join(name).display().to_string();
        let port = free_port();
        let original = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/nginx.conf"),
        )
        .expect("read docker/nginx.conf");
        let mut conf = upstreams(&original, nodes);
        conf = replace(&conf, "listen 3000;", &format!("listen 127.0.0.1:{port};"));
        conf = replace(
            &conf,
            "access_log /dev/stdout;",
            &format!(
                "log_format upstreams '$request $status $upstream_addr';\n    \
                 access_log {} upstreams;",
                path("access.log")
            ),
        );
        conf = replace(
            &conf,
            "error_log /dev/stderr warn;",
            &format!(
                "error_log {} warn;\n    client_body_temp_path {};\n    proxy_temp_path {};\n    \
                 fastcgi_temp_path {};\n    uwsgi_temp_path {};\n    scgi_temp_path {};",
                path("error.log"),
                path("client_body"),
                path("proxy"),
                path("fastcgi"),
                path("uwsgi"),
                path("scgi"),
            ),
        );
        conf = format!("pid {};\n{conf}", path("nginx.pid"));
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, conf).expect("write the rendered nginx.conf");
        let child = Command::new(nginx_binary())
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(path("startup-error.log"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx { port, child, dir };
        nginx.wait_until_up().await;
        nginx
    }

    async fn wait_until_up(&mut self) {
        for _ in 0..NGINX_START_ATTEMPTS {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}): {}", self.logs());
            }
            if let Ok(response) = http_client().get(self.url("/lb-health")).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nginx never answered /lb-health: {}", self.logs());
    }

    /// nginx's error logs.
    pub fn logs(&self) -> String {
        ["startup-error.log", "error.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// This page's origin, as a browser sends it.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT` + path, through nginx.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// The access log so far (a request is logged when it ends).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

/// `conf` with its two `server agora-N:3000 …;` upstream lines replaced by one per node port.
fn upstreams(conf: &str, nodes: &[u16]) -> String {
    let lines: Vec<&str> = conf.lines().collect();
    let template = lines
        .iter()
        .find(|line| line.contains("server agora-1:3000"))
        .expect("docker/nginx.conf no longer has `server agora-1:3000`");
    assert!(
        lines
            .iter()
            .any(|line| line.contains("server agora-2:3000")),
        "docker/nginx.conf no longer has `server agora-2:3000`"
    );
    let mut rendered = Vec::new();
    for line in &lines {
        if line.contains("server agora-1:3000") {
            for port in nodes {
                rendered.push(template.replace("agora-1:3000", &format!("127.0.0.1:{port}")));
            }
        } else if !line.contains("server agora-2:3000") {
            rendered.push((*line).to_string());
        }
    }
    rendered.join("\n")
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers (SIGKILL would orphan them, still listening).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
