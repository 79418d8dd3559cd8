//! A real VictoriaMetrics (Debian's `victoria-metrics` package) on a free port with a
//! scratch data directory, loaded through its `/api/v1/import/prometheus` endpoint.

use std::process::{Child, Command, Stdio};

use crate::{free_port, wait_until_ok};

pub struct VictoriaMetrics {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl VictoriaMetrics {
    pub async fn start() -> VictoriaMetrics {
        VictoriaMetrics::start_on(free_port()).await
    }

    /// Starts it on `port` (e.g. one a client was told about before the store came up).
    pub async fn start_on(port: u16) -> VictoriaMetrics {
        VictoriaMetrics::start_with(port, &[]).await
    }

    /// Starts it on `port` with `extra` flags (e.g. `-search.disableCache`).
    pub async fn start_with(port: u16, extra: &[&str]) -> VictoriaMetrics {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.path().display()))
            .arg("-retentionPeriod=1")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning victoria-metrics (apt-get install victoria-metrics; make test does)");
        let vm = VictoriaMetrics {
            child,
            port,
            _dir: dir,
        };
        wait_until_ok(
            &format!("{}/health", vm.url()),
            "VictoriaMetrics to be ready",
        )
        .await;
        vm
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, e.g. to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory (`-storageDataPath`).
    pub fn data_path(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Imports Prometheus text lines with millisecond timestamps and makes them searchable.
    pub async fn import(&self, lines: &str) {
        let client = reqwest::Client::new();
        let resp = client
            .post(format!("{}/api/v1/import/prometheus", self.url()))
            .body(lines.to_owned())
            .send()
            .await
            .expect("import");
        assert!(
            resp.status().is_success(),
            "import refused: {}",
            resp.status()
        );
        client
            .get(format!("{}/internal/force_flush", self.url()))
            .send()
            .await
            .expect("flush");
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
