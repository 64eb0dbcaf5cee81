//! The GraphQL figures: `pulse-graphql-bench` (a separate binary of this crate) runs last, when it
//! was built; its JSON goes under `graphql` in bench-results.json and its markdown fragment into
//! BENCHMARKS.md. A missing or failing binary is reported on the page, not fatal.

use std::{path::Path, time::Duration};

use serde_json::Value;

use super::context::Ctx;

/// Its JSON and markdown, or why there are none.
pub struct GraphqlFigures {
    pub json: Value,
    pub markdown: String,
}

pub async fn run(ctx: &Ctx, out: &Path) -> Result<GraphqlFigures, String> {
    let bin = &ctx.bins.graphql_bench;
    if !bin.is_file() {
        return Err(format!(
            "not measured: {} was not built",
            bin.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
    }
    let (json_path, md_path) = (out.join("graphql.json"), out.join("graphql.md"));
    super::say("GraphQL figures (pulse-graphql-bench)");
    let mut command = tokio::process::Command::new(bin);
    if ctx.plan.smoke {
        command.arg("--smoke");
    }
    let run = command
        .arg("--out-json")
        .arg(&json_path)
        .arg("--out-md")
        .arg(&md_path)
        .arg("--pulse-bin")
        .arg(&ctx.bins.pulse)
        .env("DATABASE_URL", &ctx.admin_url)
        .env("KAFKA_BROKERS", &ctx.brokers)
        .env("REDIS_URL", &ctx.redis_url)
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(Duration::from_secs(900), run).await {
        Err(_) => return Err("not measured: pulse-graphql-bench ran over 15 minutes".into()),
        Ok(Err(e)) => {
            return Err(format!(
                "not measured: pulse-graphql-bench did not start ({e})"
            ));
        }
        Ok(Ok(o)) => o,
    };
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail: String = err
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" / ");
        return Err(format!(
            "not measured: pulse-graphql-bench failed ({}): {tail}",
            output.status
        ));
    }
    let json = std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| "not measured: pulse-graphql-bench wrote no readable JSON".to_owned())?;
    let markdown = std::fs::read_to_string(&md_path)
        .map_err(|_| "not measured: pulse-graphql-bench wrote no markdown".to_owned())?;
    Ok(GraphqlFigures { json, markdown })
}
