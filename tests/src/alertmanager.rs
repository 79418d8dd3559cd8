//! A real Alertmanager 0.25 (Debian's `prometheus-alertmanager`) on a free port with a
//! scratch storage directory and no clustering.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{free_port, wait_until_ok};

pub struct Alertmanager {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with `config` (YAML).
    pub async fn start(config: &str) -> Alertmanager {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url=http://127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager: run `scripts/setup.sh test`");
        let am = Alertmanager {
            child,
            port,
            _dir: dir,
        };
        wait_until_ok(&am.url("/-/ready"), "Alertmanager ready").await;
        am
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET /api/v2/alerts`.
    pub async fn alerts(&self) -> Vec<Value> {
        reqwest::get(self.url("/api/v2/alerts"))
            .await
            .expect("Alertmanager answers")
            .json::<Vec<Value>>()
            .await
            .expect("Alertmanager's alerts")
    }

    /// `POST /api/v2/alerts`.
    pub async fn post(&self, alerts: &Value) {
        let resp = reqwest::Client::new()
            .post(self.url("/api/v2/alerts"))
            .json(alerts)
            .send()
            .await
            .expect("Alertmanager answers");
        assert!(
            resp.status().is_success(),
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
