//! A private Kafka broker (KRaft) that a fault may SIGKILL and restart.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, bail};

use super::{Owned, free_port, log_file, port_open, repo_root, wait_until};

/// A private Apache Kafka broker (combined broker and controller, KRaft), configured like the
/// shared one (`infra/kafka/server.properties`) on other ports and its own data folder.
pub struct PrivateKafka {
    pub port: u16,
    dir: PathBuf,
    libs: PathBuf,
    child: Owned,
}

impl PrivateKafka {
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let repo = repo_root();
        let libs = repo.join(".run/kafka/libs");
        if !libs.join(".pom.sha256").exists() {
            bail!(
                "no Kafka libraries in {} (run `make infra` first)",
                libs.display()
            );
        }
        let dir = root.join("kafka");
        fs::create_dir_all(dir.join("logs"))?;
        let port = free_port();
        let controller = free_port();
        let base = fs::read_to_string(repo.join("infra/kafka/server.properties"))?;
        let config = format!(
            "{}\nlog.dirs={}\n",
            base.replace("127.0.0.1:9092", &format!("127.0.0.1:{port}"))
                .replace("127.0.0.1:9093", &format!("127.0.0.1:{controller}")),
            dir.join("data").display()
        );
        fs::write(dir.join("server.properties"), config)?;
        let mut kafka = Self {
            port,
            dir,
            libs,
            child: Owned(None),
        };
        kafka.format()?;
        kafka.restart().await?;
        Ok(kafka)
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn java(&self) -> Command {
        let mut c = Command::new("java");
        c.arg("-cp").arg(format!("{}/*", self.libs.display()));
        c
    }

    fn format(&self) -> anyhow::Result<()> {
        let id = self
            .java()
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .args(["kafka.tools.StorageTool", "random-uuid"])
            .output()
            .context("running java (the Kafka storage tool)")?;
        let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
        let ok = self
            .java()
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .args([
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                &id,
                "-c",
            ])
            .arg(self.dir.join("server.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
        if !ok {
            bail!("formatting the private Kafka storage failed");
        }
        Ok(())
    }

    /// Starts the broker again on the same ports and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.dir.join("kafka.out"))?;
        let log4j = repo_root().join("infra/kafka/log4j2.yaml");
        let mut cmd = Command::new("java");
        cmd.args(["-Xms256m", "-Xmx768m", "-XX:+UseSerialGC"])
            .args(["-XX:CICompilerCount=2", "-Djava.awt.headless=true"])
            .arg(format!(
                "-Dkafka.logs.dir={}",
                self.dir.join("logs").display()
            ))
            .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
            .arg("-cp")
            .arg(format!("{}/*", self.libs.display()))
            .arg("kafka.Kafka")
            .arg(self.dir.join("server.properties"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        self.child = Owned(Some(cmd.spawn().context("starting the private Kafka")?));
        let brokers = self.brokers();
        let port = self.port;
        wait_until("kafka", Duration::from_secs(90), || {
            let brokers = brokers.clone();
            async move { port_open(port).await && answers(&brokers).await }
        })
        .await
    }

    /// SIGKILL: no controlled shutdown.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }
}

/// Whether a broker at `brokers` answers a metadata request.
async fn answers(brokers: &str) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: Result<BaseConsumer, _> = pulse_core::kafka::client_config(&brokers).create();
        consumer.is_ok_and(|c| {
            c.fetch_metadata(None, Duration::from_secs(2))
                .is_ok_and(|m| !m.brokers().is_empty())
        })
    })
    .await
    .unwrap_or(false)
}
