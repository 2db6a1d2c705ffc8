//! [`SearchRebuilds`] as the HTTP admin routes see it: start a rebuild,
//! report how it stands as JSON.

use std::sync::Arc;

use orderflow_search::rebuild::{RebuildState, SearchRebuilds};
use serde_json::json;

/// [`SearchRebuilds`] as the HTTP admin routes see it.
pub(crate) struct RebuildsOverHttp(pub(crate) Arc<SearchRebuilds>);

impl orderflow_http::SearchRebuilds for RebuildsOverHttp {
    fn start(&self) -> bool {
        self.0.start()
    }

    fn status(&self) -> serde_json::Value {
        match self.0.state() {
            RebuildState::Idle => json!({ "state": "idle" }),
            RebuildState::Running => json!({ "state": "running" }),
            RebuildState::Done(report) => json!({
                "state": "done",
                "position": report.position.value(),
                "elapsedMs": report.elapsed.as_millis() as u64,
                "pausedMs": report.paused.as_millis() as u64,
            }),
            RebuildState::Failed(reason) => json!({ "state": "failed", "reason": reason }),
        }
    }
}
