//! `orderflow projections status`: how far each event-store subscription has
//! got, and how far behind the event store's head it is. `orderflow
//! projections rebuild search`: asks the running service to re-create its
//! search index (`POST /admin/search/rebuild`) and follows it to the end.
//!
//! Guarantees of `status`: read straight from storage, never written, so it works beside
//! a running service — SQLite lets readers in beside its writer, and the
//! tantivy index's checkpoint is read from its committed metadata without
//! taking the writer lock the service holds. Positions are global event
//! positions; `lag` counts events stored but not yet handled. A checkpoint
//! that is stored only every 250 ms (the outboxes) may lag by that much
//! while the service runs.

use anyhow::Context;
use orderflow_app::ports::Position;

use crate::adapters::{open_stores, search_checkpoint};
use crate::cli::{ProjectionsArgs, RebuildArgs};
use crate::subscriptions::{CheckpointHome, EVENT_STORE_SUBSCRIPTIONS};

/// One subscription's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) name: &'static str,
    pub(crate) position: Position,
}

/// Prints a table: projection, position, head, lag.
pub(crate) async fn status(args: ProjectionsArgs) -> anyhow::Result<()> {
    let stores = open_stores(&args.backend, &args.data_dir).await?;
    let head = stores
        .events
        .head()
        .await
        .context("cannot read the event store's head")?;
    let mut rows = Vec::new();
    for subscription in EVENT_STORE_SUBSCRIPTIONS {
        let name = subscription.name;
        let position = match subscription.checkpoint {
            CheckpointHome::SearchIndex => search_checkpoint(&args.backend, &args.data_dir).await?,
            CheckpointHome::EventStore => stores
                .checkpoints
                .load_checkpoint(name)
                .await
                .with_context(|| format!("cannot read the checkpoint of {name}"))?,
        };
        rows.push(Progress { name, position });
    }
    print!("{}", render(&rows, head));
    Ok(())
}

/// How often `rebuild` asks how the rebuild stands.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Starts the rebuild in the running service and waits for its outcome.
pub(crate) async fn rebuild(args: &RebuildArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/');
    let token = match &args.token {
        Some(token) => token.clone(),
        None => super::dev_token(
            data_dir,
            orderflow_auth::DevIssuer::issuer_url_for_base(base),
            None,
            "admin",
        )
        .await
        .context("no --token given, and no admin token from the dev issuer's key")?,
    };
    let http = orderflow_auth::default_http_client().context("cannot build an HTTP client")?;
    let endpoint = format!("{base}/admin/search/rebuild");
    let started = http
        .post(&endpoint)
        .bearer_auth(&token)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = started.status();
    if status != reqwest::StatusCode::ACCEPTED {
        let body = started.text().await.unwrap_or_default();
        anyhow::bail!("the service refused the rebuild ({status}): {body}");
    }
    println!("rebuild of the search index started; searches are answered meanwhile");
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let state: serde_json::Value = http
            .get(&endpoint)
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?
            .error_for_status()?
            .json()
            .await?;
        match state["state"].as_str() {
            Some("running") => continue,
            Some("done") => {
                println!(
                    "search index rebuilt up to position {} in {} ms (projection paused {} ms)",
                    state["position"], state["elapsedMs"], state["pausedMs"]
                );
                return Ok(());
            }
            _ => anyhow::bail!("the rebuild did not finish: {state}"),
        }
    }
}

fn render(rows: &[Progress], head: Position) -> String {
    let mut table = format!(
        "{:<20} {:>12} {:>12} {:>10}\n",
        "projection", "position", "head", "lag"
    );
    for row in rows {
        let lag = head.value().saturating_sub(row.position.value());
        table.push_str(&format!(
            "{:<20} {:>12} {:>12} {:>10}\n",
            row.name,
            row.position.value(),
            head.value(),
            lag
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_projections_lag_behind_the_head() {
        let rows = [
            Progress {
                name: "search",
                position: Position::new(7),
            },
            Progress {
                name: "push-publisher",
                position: Position::new(10),
            },
        ];
        let table = render(&rows, Position::new(10));
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|line| line.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["projection", "position", "head", "lag"]);
        assert_eq!(lines[1], ["search", "7", "10", "3"]);
        assert_eq!(lines[2], ["push-publisher", "10", "10", "0"]);
    }
}
