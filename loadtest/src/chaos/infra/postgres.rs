//! A private PostgreSQL cluster that a fault may stop and start.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

use super::free_port;

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
