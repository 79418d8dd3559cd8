//! `https` targets: the portal scrapes a real Prometheus 2.42 served over TLS
//! (`--web.config.file`) with a certificate from a scratch CA made by `openssl`. With the
//! job's `tls_config.ca_file` the target is up; without it the scrape fails on the
//! certificate, and the targets API says why; a `tls_config` that cannot load is refused.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::api::Client;
use e2e::certs::make_certificates;
use e2e::portal::Portal;
use e2e::{eventually, free_port};
use serde_json::Value;

/// Prometheus serving its UI, API and `/metrics` over TLS only.
struct TlsPrometheus {
    child: Child,
    port: u16,
}

impl Drop for TlsPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn tls_prometheus(dir: &Path) -> TlsPrometheus {
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ),
    )
    .unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--web.config.file={}", web.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning prometheus (apt-get install prometheus; make test does)");
    let prom = TlsPrometheus { child, port };
    // Ready when it answers over TLS to a client that trusts the scratch CA.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/-/ready");
    eventually(Duration::from_secs(30), "Prometheus over TLS", || async {
        let r = client.get(&url).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    prom
}

/// The portal's targets API entry of `job`, once it has been scraped.
async fn scraped_target(admin: &Client, job: &str) -> Value {
    eventually(Duration::from_secs(20), "the https job scraped", || async {
        let (_, body) = admin.get("/prometheus/api/v1/targets").await;
        body["data"]["activeTargets"]
            .as_array()?
            .iter()
            .find(|t| t["scrapePool"] == job && t["health"] != "unknown")
            .cloned()
    })
    .await
}

#[tokio::test]
async fn https_targets_are_scraped_with_the_jobs_tls_config() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let prom = tls_prometheus(dir.path()).await;
    let scrape = dir.path().join("scrape.yml");
    let job = |name: &str, tls: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n{tls}",
            prom.port
        )
    };
    std::fs::write(
        &scrape,
        format!(
            "scrape_configs:\n{}{}",
            job(
                "trusted",
                &format!(
                    "    tls_config:\n      ca_file: {}\n",
                    dir.path().join("ca.pem").display()
                )
            ),
            job("untrusted", "")
        ),
    )
    .unwrap();
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_SCRAPE_CONFIG_FILE", scrape.to_str().unwrap()),
    ])
    .await;
    let admin = portal.admin();

    let trusted = scraped_target(&admin, "trusted").await;
    assert_eq!(trusted["health"], "up", "{trusted}");
    assert!(trusted["scrapeUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    let (_, up) = admin
        .get("/prometheus/api/v1/query?query=prometheus_build_info%7Bjob%3D%22trusted%22%7D")
        .await;
    let version = up["data"]["result"][0]["metric"]["version"].as_str();
    assert!(version.is_some_and(|v| v.starts_with("2.42")), "{up}");
    // The system's CAs do not know the scratch CA: the certificate is the reason.
    let untrusted = scraped_target(&admin, "untrusted").await;
    assert_eq!(untrusted["health"], "down", "{untrusted}");
    let error = untrusted["lastError"].as_str().unwrap().to_lowercase();
    assert!(error.contains("certificate"), "{error}");

    // A tls_config whose file cannot load refuses the reload; the running jobs stay.
    std::fs::write(
        &scrape,
        format!(
            "scrape_configs:\n{}",
            job(
                "broken",
                "    tls_config:\n      ca_file: /nonexistent/ca.pem\n"
            )
        ),
    )
    .unwrap();
    let (s, body) = admin
        .post("/api/v1/scrape-config/reload", serde_json::json!({}))
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {body}");
    assert!(body.to_string().contains("ca_file"), "{body}");
    let (_, targets) = admin.get("/prometheus/api/v1/targets").await;
    let jobs: Vec<&str> = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scrapePool"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["trusted", "untrusted"], "{targets}");
    // Half a client certificate is refused by the configuration's own check.
    std::fs::write(
        &scrape,
        format!(
            "scrape_configs:\n{}",
            job("half", "    tls_config:\n      cert_file: /tmp/c.pem\n")
        ),
    )
    .unwrap();
    let (_, body) = admin
        .post("/api/v1/scrape-config/reload", serde_json::json!({}))
        .await;
    assert!(body.to_string().contains("without client key"), "{body}");
}
