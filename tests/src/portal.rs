//! The portal under test: the real binary, started on port 0 with a fresh data directory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::workspace_root;

pub struct Portal {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// The binary `make test` builds; `KEIKO_BIN` points elsewhere.
pub fn binary() -> PathBuf {
    std::env::var_os("KEIKO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/keiko-portal"))
}

impl Portal {
    pub async fn start() -> Portal {
        Portal::start_with(&[]).await
    }

    /// Starts the portal with extra environment variables and waits until it listens.
    pub async fn start_with(env: &[(&str, &str)]) -> Portal {
        Portal::start_in(tempfile::tempdir().expect("temp data dir"), env).await
    }

    /// Starts the portal on an existing data directory (e.g. one a stopped portal left).
    pub async fn start_in(data_dir: tempfile::TempDir, env: &[(&str, &str)]) -> Portal {
        let bin = binary();
        assert!(
            bin.exists(),
            "{} is missing: run `cargo build -p server` (make test does)",
            bin.display()
        );
        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .current_dir(workspace_root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KEIKO_LISTEN", "127.0.0.1:0")
            .env("KEIKO_DATA_DIR", data_dir.path())
            .env("KEIKO_SITE_ROOT", workspace_root().join("target/site"))
            .env("KEIKO_ADMIN_PASSWORD", crate::api::ADMIN_PASSWORD)
            // Suites start from an empty rule store unless they ask for the seed's rules.
            .env("KEIKO_PROVISION_SEED_RULES", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawning keiko-portal");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        {
            let pipe = child.stdout.take().expect("piped stdout");
            let lines = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if v["message"] == "Listening" {
                            if let Some(addr) = v["address"].as_str().and_then(|a| a.parse().ok()) {
                                let _ = tx.send(addr);
                            }
                        }
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("keiko-portal did not report a listening address"));
        Portal {
            child: Some(child),
            addr,
            data_dir,
            stdout,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// An API client acting as the bootstrap admin (HTTP Basic).
    pub fn admin(&self) -> crate::api::Client {
        self.client(crate::api::Auth::Basic(
            "admin".into(),
            crate::api::ADMIN_PASSWORD.into(),
        ))
    }

    pub fn client(&self, auth: crate::api::Auth) -> crate::api::Client {
        crate::api::Client::new(&format!("http://{}", self.addr), auth)
    }

    /// Creates a user with `role` through the API and returns a Basic-auth client for them.
    pub async fn user_with_role(&self, login: &str, role: &str) -> crate::api::Client {
        let password = format!("{login}-password-long");
        let (status, body) = self
            .admin()
            .post(
                "/api/v1/users",
                serde_json::json!({ "login": login, "password": password, "role": role }),
            )
            .await;
        assert_eq!(status, 201, "creating {login}: {body}");
        self.client(crate::api::Auth::Basic(login.into(), password))
    }

    /// The process id, e.g. to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("portal running").id()
    }

    /// Stops the process (SIGTERM) and hands back its data directory for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        let status = self.terminate();
        assert!(status.success(), "the portal stopped with {status}");
        let empty = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, empty)
    }

    /// Sends SIGKILL to the process (no shutdown code runs); `abandon` then reaps it.
    pub fn kill_9(&self) {
        let status = Command::new("kill")
            .args(["-9", &self.pid().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -9 failed: {status}");
    }

    /// The kill -9 durability check's first half: `push` is called for batch 0, 1, … on a
    /// task (with an admin client) until it answers `None` (refused or failed); 1.5 s in, the
    /// portal is killed with SIGKILL and started again on its data directory with `env`.
    /// Returns what `push` saw acknowledged (more than five batches, asserted) and the
    /// restarted portal, for the caller to find every acknowledged batch in.
    pub async fn kill_9_while_pushing<T, F, Fut>(
        self,
        env: &[(&str, &str)],
        mut push: F,
    ) -> (Vec<T>, Portal)
    where
        T: Send + 'static,
        F: FnMut(crate::api::Client, usize) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Option<T>> + Send,
    {
        let client = self.admin();
        let writer = tokio::spawn(async move {
            let mut acked = Vec::new();
            for batch in 0.. {
                match push(client.clone(), batch).await {
                    Some(id) => acked.push(id),
                    None => break,
                }
            }
            acked
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.kill_9();
        let acked = writer.await.expect("the pushing task");
        assert!(
            acked.len() > 5,
            "only {} batches were acknowledged before the kill",
            acked.len()
        );
        let dir = self.abandon();
        (acked, Portal::start_in(dir, env).await)
    }

    /// For a process killed from outside (kill -9): reaps it and hands back its data
    /// directory for a restart.
    pub fn abandon(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let empty = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, empty)
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until a stdout line satisfies `pred` and returns it parsed.
    pub async fn wait_for_log(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self
                .stdout_lines()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| pred(v))
            {
                return v;
            }
            assert!(Instant::now() < deadline, "no log line {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("portal still running");
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the portal") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("keiko-portal did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A portal with `prometheus_url` as its (default) metrics source, for the benchmarks:
/// the portal, a signed-in admin client and the source's id.
pub async fn with_prometheus(prometheus_url: &str) -> (Portal, crate::api::Client, i64) {
    let portal = Portal::start().await;
    let admin = crate::api::Client::sign_in(&portal.url(""), "admin", crate::api::ADMIN_PASSWORD)
        .await
        .expect("sign in");
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            serde_json::json!({"name": "Prometheus", "type": "prometheus", "url": prometheus_url, "default": true}),
        )
        .await;
    assert_eq!(s, 201, "{src}");
    let id = src["id"].as_i64().expect("the source's id");
    (portal, admin, id)
}
