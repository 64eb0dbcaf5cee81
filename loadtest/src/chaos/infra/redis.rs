//! A private `redis-server` that a fault may kill, freeze or empty.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, bail};

use super::{Owned, free_port, log_file, wait_until};

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
