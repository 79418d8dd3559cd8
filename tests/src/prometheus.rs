//! A real Prometheus (Debian's `prometheus` package) on a free port with a scratch TSDB.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{free_port, wait_until_ok};

pub struct Prometheus {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) every second as job `keiko`.
    pub async fn scraping(target: &str) -> Prometheus {
        Prometheus::scraping_jobs(&[("keiko", target)]).await
    }

    /// Starts Prometheus scraping each (job name, host:port) every second.
    pub async fn scraping_jobs(jobs: &[(&str, &str)]) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let tsdb = dir.path().join("data");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, target) in jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        Prometheus::spawn(dir, &config, &tsdb).await
    }

    /// Starts Prometheus with `config` (YAML) on a scratch TSDB.
    pub async fn with_config(config: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let tsdb = dir.path().join("data");
        Prometheus::spawn(dir, config, &tsdb).await
    }

    /// Starts Prometheus with `config` (YAML) and `flags` (e.g. `--enable-feature=…`) on a
    /// scratch TSDB.
    pub async fn with_config_and_flags(config: &str, flags: &[&str]) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let tsdb = dir.path().join("data");
        Prometheus::spawn_with(dir, config, &tsdb, flags).await
    }

    /// Runs an instant query at `time` (Unix seconds) and returns `data.result`.
    pub async fn query_at(&self, promql: &str, time: f64) -> Vec<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let body: Value = reqwest::Client::new()
            .get(url)
            .query(&[("query", promql), ("time", &time.to_string())])
            .send()
            .await
            .expect("querying Prometheus")
            .json()
            .await
            .expect("Prometheus answers JSON");
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Starts Prometheus on a TSDB made by `promtool tsdb create-blocks-from openmetrics`
    /// from `openmetrics` (text ending in `# EOF`), scraping nothing.
    pub async fn with_data(openmetrics: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("data.om");
        std::fs::write(&input, openmetrics).unwrap();
        let tsdb = dir.path().join("tsdb");
        let out = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&tsdb)
            .output()
            .expect("promtool");
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Prometheus::spawn(dir, "global:\n  scrape_interval: 1m\n", &tsdb).await
    }

    /// Runs `prometheus` with `config` on `tsdb` (inside `dir`) and waits until it is ready.
    /// Starts Prometheus with its remote-write receiver on (`/api/v1/write`), scraping nothing.
    pub async fn receiving() -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let tsdb = dir.path().join("data");
        Prometheus::spawn_with(
            dir,
            "global:\n  scrape_interval: 1m\n",
            &tsdb,
            &["--web.enable-remote-write-receiver"],
        )
        .await
    }

    /// Starts Prometheus evaluating `rules` (a rule file) every second, receiving its data
    /// by remote-write (`/api/v1/write`), scraping nothing.
    pub async fn with_rules(rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let tsdb = dir.path().join("data");
        let rule_file = dir.path().join("rules.yml");
        std::fs::write(&rule_file, rules).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1m\n  evaluation_interval: 1s\nrule_files:\n  - {}\n",
            rule_file.display()
        );
        Prometheus::spawn_with(dir, &config, &tsdb, &["--web.enable-remote-write-receiver"]).await
    }

    /// `data` of a GET on Prometheus's API (`path` after `/api/v1/`).
    pub async fn api(&self, path: &str) -> Value {
        let body: Value = reqwest::get(format!("{}/api/v1/{path}", self.url()))
            .await
            .expect("asking Prometheus")
            .json()
            .await
            .expect("Prometheus answers JSON");
        assert_eq!(body["status"], "success", "{body}");
        body["data"].clone()
    }

    async fn spawn(dir: tempfile::TempDir, config: &str, tsdb: &std::path::Path) -> Prometheus {
        Prometheus::spawn_with(dir, config, tsdb, &[]).await
    }

    /// Runs `prometheus` with `config` on `tsdb` and `extra` flags, and waits until ready.
    async fn spawn_with(
        dir: tempfile::TempDir,
        config: &str,
        tsdb: &std::path::Path,
        extra: &[&str],
    ) -> Prometheus {
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning prometheus (apt-get install prometheus; make test does)");
        let prom = Prometheus {
            child,
            port,
            _dir: dir,
        };
        wait_until_ok(&format!("{}/-/ready", prom.url()), "Prometheus to be ready").await;
        prom
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, e.g. to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The TSDB directory.
    pub fn tsdb_path(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    /// Runs an instant query now and returns `data.result`.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        self.query_at(promql, crate::now_seconds()).await
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real node exporter (Debian's `prometheus-node-exporter`) on a free loopback port: the
/// host's CPU, memory, disk and network series.
pub struct NodeExporter {
    child: Child,
    pub port: u16,
}

impl NodeExporter {
    pub async fn start() -> NodeExporter {
        let port = free_port();
        let child = Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning prometheus-node-exporter (make test installs it)");
        let exporter = NodeExporter { child, port };
        wait_until_ok(
            &format!("http://127.0.0.1:{port}/metrics"),
            "the node exporter to answer",
        )
        .await;
        exporter
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
