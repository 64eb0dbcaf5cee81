//! The seed Go ingest (`../shared/peers/seed-go-ingest`, the replaced service rebuilt from the
//! original README) as a side-by-side baseline: built with `go build` in a temporary copy of its
//! folder and cached under `.run/bench/` by the hash of its `go.sum` and `main.go`, so later runs
//! start at once. Without Go the side-by-side part is skipped and the report says so.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};
use tokio::process::Command;

/// Where the seed's sources are by default: `<repo>/../shared/peers/seed-go-ingest`.
pub fn default_source() -> PathBuf {
    super::repo_root()
        .join("..")
        .join("shared")
        .join("peers")
        .join("seed-go-ingest")
}

/// The Go tool: `go` on PATH, else the usual install location.
fn go_tool() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("go"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let usual = PathBuf::from("/usr/local/go/bin/go");
        usual.is_file().then_some(usual)
    })
}

/// The seed binary, built when its sources changed; `Ok(None)` with a reason when it cannot be.
pub async fn binary(source: &Path, cache: &Path) -> anyhow::Result<Result<PathBuf, String>> {
    let (Ok(sum), Ok(main)) = (
        std::fs::read(source.join("go.sum")),
        std::fs::read(source.join("main.go")),
    ) else {
        return Ok(Err(format!(
            "seed Go ingest skipped: no go.sum/main.go in {}",
            source.display()
        )));
    };
    let mut hash = Sha256::new();
    hash.update(&sum);
    hash.update(&main);
    let digest = format!("{:x}", hash.finalize());
    let target = cache.join(format!("seed-go-ingest-{}", &digest[..16]));
    if target.is_file() {
        return Ok(Ok(target));
    }
    let Some(go) = go_tool() else {
        return Ok(Err(
            "seed Go ingest skipped: `go` is not installed (not on PATH, not in /usr/local/go/bin)"
                .into(),
        ));
    };
    std::fs::create_dir_all(cache)?;
    let work = std::env::temp_dir().join(format!("pulse-bench-seed-{}", &digest[..16]));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            // copied by content: the shared folder is read-only, the build writes next to it
            std::fs::write(work.join(entry.file_name()), std::fs::read(entry.path())?)?;
        }
    }
    eprintln!(
        "==> bench: building the seed Go ingest with {} (first time only)",
        go.display()
    );
    let out = Command::new(&go)
        .arg("build")
        .arg("-buildvcs=false")
        .arg("-o")
        .arg(&target)
        .arg(".")
        .current_dir(&work)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running go build")?;
    let _ = std::fs::remove_dir_all(&work);
    if !out.status.success() {
        bail!(
            "go build of the seed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Ok(target))
}
