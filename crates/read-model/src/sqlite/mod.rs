//! The embedded read model: one SQLite file in WAL mode.
//!
//! * **Writes** go through one writer thread doing group commit
//!   ([`writer`]): everything queued is written in one transaction, each
//!   change in a savepoint of its own so one failing change fails alone.
//!   Every commit is fsynced (`synchronous = FULL`): once a call returns
//!   `Ok`, the change survives a crash or power cut, which matters because
//!   the caller then acknowledges the integration event and it will not be
//!   delivered again.
//! * **The rules of the port are in the SQL**: `record_created` inserts or
//!   fills the details of a row that has none, never touching its status;
//!   `record_status` upserts `WHERE stored.revision < new.revision`.
//! * **Reads** run on a small pool of read-only connections on Tokio's
//!   blocking threads ([`reader`]); WAL lets them read while the writer
//!   writes, and a read started after a write returned sees it.
//! * **Schema** versions are tracked in a table of the read model's own
//!   ([`schema`]), not in `PRAGMA user_version`, so the file never confuses
//!   another component's migrations; still, give it a file of its own.

mod reader;
mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::{
    CreatedOrder, GatewayOrder, OrderListPage, OrderListQuery, OrderReadModel, ReadModelError,
    StatusChange,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::OpenError;
use crate::stored::{changes_nothing, encode_items, micros, stored_revision};
use reader::ReaderPool;
use writer::{Command, Write};

/// The read model on one SQLite file. Cheap to clone; all clones share the
/// writer thread, which stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteReadModel {
    writer: mpsc::Sender<Command>,
    readers: Arc<ReaderPool>,
}

impl SqliteReadModel {
    /// Opens (or creates) the read model file at `path`, brings its schema
    /// up to date and starts its writer thread.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let opening = path.clone();
        let connection = tokio::task::spawn_blocking(move || schema::open_writer(&opening))
            .await
            .map_err(|join| OpenError::Thread(std::io::Error::other(join)))??;
        let writer = writer::spawn(connection).map_err(OpenError::Thread)?;
        Ok(SqliteReadModel {
            writer,
            readers: Arc::new(ReaderPool::new(path)),
        })
    }

    async fn write(&self, write: Write) -> Result<(), ReadModelError> {
        let stopped =
            || ReadModelError::Unavailable("the SQLite read model writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Command { write, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

pub(crate) use orderflow_sqlite::is_transient;

/// A SQLite error as the port reports it.
pub(crate) fn port_error(error: rusqlite::Error) -> ReadModelError {
    if is_transient(&error) {
        ReadModelError::Unavailable(Box::new(error))
    } else {
        ReadModelError::Internal(Box::new(error))
    }
}

#[async_trait]
impl OrderReadModel for SqliteReadModel {
    #[tracing::instrument(skip_all, fields(order_id = %order.id), err)]
    async fn record_created(&self, order: &CreatedOrder) -> Result<(), ReadModelError> {
        self.write(Write::Created {
            id: order.id,
            buyer_id: order.buyer_id.clone(),
            currency: order.currency.clone(),
            items: encode_items(&order.items)?,
            total: order.total.clone(),
            created_at: micros(order.created_at),
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(order_id = %change.id, revision = change.revision), err)]
    async fn record_status(&self, change: &StatusChange) -> Result<(), ReadModelError> {
        if changes_nothing(change) {
            return Ok(());
        }
        self.write(Write::Status {
            id: change.id,
            status: change.status.clone(),
            cancellation_reason: change.cancellation_reason.clone(),
            revision: stored_revision(change.revision),
            at: micros(change.at),
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<GatewayOrder>, ReadModelError> {
        self.readers.get(id).await
    }

    async fn list(&self, query: &OrderListQuery) -> Result<OrderListPage, ReadModelError> {
        self.readers.list(query.clone()).await
    }

    async fn check(&self) -> Result<(), ReadModelError> {
        if self.writer.is_closed() {
            return Err(ReadModelError::Unavailable(
                "the SQLite read model writer has stopped".into(),
            ));
        }
        self.readers.check().await
    }
}
