//! Private copies of Pulse's infrastructure that a fault injector may kill, freeze and empty:
//! a `redis-server` with an append-only file, a PostgreSQL cluster made with `initdb`, an Apache
//! Kafka broker in KRaft mode (from the libraries `scripts/infra.sh` put in `.run/kafka/libs`),
//! and `pulse` service processes pointed at them. Everything lives under one folder (by default
//! `.run/chaos/`) and listens on free loopback ports, so the shared servers that `make up` started
//! are never touched.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A free loopback port (bound and released; the caller's child binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Sends `signal` (`KILL`, `TERM`, `STOP`, `CONT`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let err = out.try_clone()?;
    Ok((Stdio::from(out), Stdio::from(err)))
}

async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// Polls `check` every 100 ms until it holds or `within` passes.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what} not ready after {within:?}")
}

/// A child process that is SIGKILLed when dropped.
struct Owned(Option<Child>);

impl Owned {
    fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    fn terminate(&mut self, grace: Duration) {
        if let Some(mut child) = self.0.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private `redis-server` with an append-only file (fsync every second, like `make up`'s).
pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    child: Owned,
}

impl PrivateRedis {
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let dir = root.join("redis");
        fs::create_dir_all(&dir)?;
        let mut redis = Self {
            port: free_port(),
            dir,
            child: Owned(None),
        };
        redis.restart().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port and data (after [`Self::kill`] or [`Self::stop`]).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.dir.join("redis.log"))?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", "", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("starting redis-server (apt-get install redis-server)")?;
        self.child = Owned(Some(child));
        let port = self.port;
        wait_until("redis", Duration::from_secs(20), || async move {
            command(port, "PING").await.as_deref() == Some("+PONG")
        })
        .await
    }

    /// SIGKILL: what was fsynced to the append-only file survives.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// A clean shutdown (SIGTERM: the append-only file is flushed).
    pub fn stop(&mut self) {
        self.child.terminate(Duration::from_secs(10));
    }

    /// FLUSHALL: every key gone, as after a failover to an empty replica.
    pub async fn flush_all(&self) -> anyhow::Result<()> {
        match command(self.port, "FLUSHALL").await.as_deref() {
            Some("+OK") => Ok(()),
            other => bail!("FLUSHALL answered {other:?}"),
        }
    }

    /// Deletes the append-only files (call while stopped): the next start is empty.
    pub fn wipe_data(&self) -> anyhow::Result<()> {
        let aof = self.dir.join("appendonlydir");
        if aof.exists() {
            fs::remove_dir_all(&aof)?;
        }
        Ok(())
    }

    /// The number of keys.
    pub async fn dbsize(&self) -> Option<i64> {
        command(self.port, "DBSIZE")
            .await?
            .strip_prefix(':')?
            .parse()
            .ok()
    }
}

/// One inline Redis command; its first reply line.
async fn command(port: u16, cmd: &str) -> Option<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .ok()?;
        let mut line = String::new();
        tokio::io::BufReader::new(stream)
            .read_line(&mut line)
            .await
            .ok()?;
        Some(line.trim_end().to_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

/// A private PostgreSQL 15 cluster (`initdb` + `pg_ctl`), trust authentication on loopback, with
/// a database `pulse` owned by the superuser `pulse` and Pulse's migrations applied.
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
    bin: PathBuf,
}

impl PrivatePostgres {
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let bin = PathBuf::from(
            std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned()),
        );
        // absolute: the server runs in its data folder, and its socket folder is this one
        let root = &std::path::absolute(root)?;
        let dir = root.join("pg");
        let pg = Self {
            port: free_port(),
            log: root.join("postgres.log"),
            dir,
            bin,
        };
        if !pg.dir.join("PG_VERSION").exists() {
            fs::create_dir_all(&pg.dir)?;
            chown_to_postgres(&pg.dir)?;
            let ok = pg
                .as_postgres(pg.bin.join("initdb"))
                .arg("-D")
                .arg(&pg.dir)
                .args(["-A", "trust", "-U", "pulse", "-E", "UTF8", "--no-sync"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("running initdb (apt-get install postgresql)")?
                .success();
            if !ok {
                bail!("initdb failed in {}", pg.dir.display());
            }
        }
        pg.start_server()?;
        let admin = pulse_core::db::connect(&pg.url_for("postgres"), 1).await?;
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from pg_database where datname = 'pulse')")
                .fetch_one(&admin)
                .await?;
        if !exists {
            sqlx::query("create database pulse").execute(&admin).await?;
        }
        admin.close().await;
        let pool = pulse_core::db::connect(&pg.url(), 1).await?;
        pulse_core::db::migrate(&pool).await?;
        pool.close().await;
        Ok(pg)
    }

    /// `cmd` run as the `postgres` user when we are root (PostgreSQL refuses to run as root).
    fn as_postgres(&self, program: PathBuf) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn url(&self) -> String {
        self.url_for("pulse")
    }

    fn url_for(&self, database: &str) -> String {
        format!("postgres://pulse@127.0.0.1:{}/{database}", self.port)
    }

    fn start_server(&self) -> anyhow::Result<()> {
        if !self.log.exists() {
            fs::write(&self.log, b"")?;
        }
        chown_to_postgres(&self.log)?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.dir.display()
        );
        let ok = self
            .as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(&self.log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
        if !ok {
            bail!("pg_ctl start failed (see {})", self.log.display());
        }
        Ok(())
    }

    /// Starts it again after [`Self::stop`].
    pub fn restart(&self) -> anyhow::Result<()> {
        self.start_server()
    }

    /// `pg_ctl stop`: `fast` (clients disconnected, clean) or `immediate` (a crash).
    pub fn stop(&self, mode: &str) -> anyhow::Result<()> {
        let ok = self
            .as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", mode, "-w", "-t", "60", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
        if !ok {
            bail!("pg_ctl stop -m {mode} failed");
        }
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
    }
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    if is_root() {
        let ok = Command::new("chown")
            .arg("postgres:")
            .arg(path)
            .status()?
            .success();
        if !ok {
            bail!("chown postgres {}", path.display());
        }
    }
    Ok(())
}

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

/// A `pulse` service process (`ingest` or `processor`) on a fixed loopback port, restartable.
pub struct PulseProcess {
    pub kind: &'static str,
    pub port: u16,
    bin: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Owned,
}

impl PulseProcess {
    /// Starts `bin kind --addr 127.0.0.1:<free port>` with `env`, logging to `logs/`.
    pub fn start(
        bin: &Path,
        kind: &'static str,
        env: &[(String, String)],
        logs: &Path,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(logs)?;
        let port = free_port();
        let mut p = Self {
            kind,
            port,
            bin: bin.to_path_buf(),
            env: env.to_vec(),
            log: logs.join(format!("{kind}-{port}.log")),
            child: Owned(None),
        };
        p.restart()?;
        Ok(p)
    }

    pub fn restart(&mut self) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.log)?;
        let child = Command::new(&self.bin)
            .arg(self.kind)
            .arg("--addr")
            .arg(format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Owned(Some(child));
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self, http: &reqwest::Client, within: Duration) -> anyhow::Result<()> {
        let url = self.url("/readyz");
        wait_until(self.kind, within, || async {
            http.get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await
    }

    /// SIGKILL: no flush, no commit.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// SIGTERM and a bounded wait.
    pub fn terminate(&mut self) {
        self.child.terminate(Duration::from_secs(15));
    }

    pub fn is_running(&self) -> bool {
        self.child.0.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }
}
