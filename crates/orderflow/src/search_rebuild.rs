//! The search crate's rebuilds, as the orders slice controls them
//! ([`RebuildControl`]): start one, report how it stands.

use std::sync::Arc;

use orderflow_app::orders::search::{RebuildControl, RebuildStatus};
use orderflow_search::rebuild::{RebuildState, SearchRebuilds};

/// [`SearchRebuilds`] behind the [`RebuildControl`] the order handlers use.
pub(crate) struct RebuildsControl(pub(crate) Arc<SearchRebuilds>);

impl RebuildControl for RebuildsControl {
    fn start(&self) -> bool {
        self.0.start()
    }

    fn status(&self) -> RebuildStatus {
        match self.0.state() {
            RebuildState::Idle => RebuildStatus::Idle,
            RebuildState::Running => RebuildStatus::Running,
            RebuildState::Done(report) => RebuildStatus::Done {
                position: report.position,
                elapsed: report.elapsed,
                paused: report.paused,
            },
            RebuildState::Failed(reason) => RebuildStatus::Failed(reason),
        }
    }
}
