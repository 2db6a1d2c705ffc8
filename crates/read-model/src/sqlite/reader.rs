//! Read side of the SQLite read model: a small pool of read-only connections
//! used from Tokio's blocking threads.
//!
//! Each read is one statement in its own implicit transaction, so it sees
//! every write that returned before it started (WAL snapshot). Only rows
//! with their details are ever selected; the shared rules of
//! [`crate::stored`] turn them into orders and pages.

use std::path::PathBuf;
use std::sync::Arc;

use orderflow_app::ports::{GatewayOrder, OrderListPage, OrderListQuery, ReadModelError};
use orderflow_sqlite::{ReadPool, ReadPoolError};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};
use uuid::Uuid;

use super::port_error;
use crate::stored::{Boundary, StoredOrder, from_micros, micros, page, page_limit};

/// Columns in the order [`stored_order`] reads them.
const COLUMNS: &str = "id, buyer_id, currency, items, total, created_at, status, \
     cancellation_reason, revision, updated_at";

/// Read-only connections to the read model's file.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    pool: Arc<ReadPool>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        ReaderPool {
            pool: Arc::new(ReadPool::new(path)),
        }
    }

    /// Runs `read` on a pooled connection, on a blocking thread.
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, ReadModelError> + Send + 'static,
    ) -> Result<T, ReadModelError> {
        match self.pool.read(read).await {
            Ok(result) => result,
            Err(ReadPoolError::Connect(error)) => Err(port_error(error)),
            Err(error @ ReadPoolError::Task(_)) => {
                Err(ReadModelError::Unavailable(Box::new(error)))
            }
        }
    }

    pub(crate) async fn get(
        self: &Arc<Self>,
        id: Uuid,
    ) -> Result<Option<GatewayOrder>, ReadModelError> {
        self.with(move |connection| {
            let row = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM gateway_orders \
                     WHERE id = ?1 AND created_at IS NOT NULL"
                ))
                .map_err(port_error)?
                .query_row([id.as_bytes()], |row| Ok(stored_order(row)))
                .optional()
                .map_err(port_error)?;
            match row {
                Some(row) => row?.into_order(),
                None => Ok(None),
            }
        })
        .await
    }

    pub(crate) async fn list(
        self: &Arc<Self>,
        query: OrderListQuery,
    ) -> Result<OrderListPage, ReadModelError> {
        self.with(move |connection| {
            let limit = page_limit(&query);
            let mut sql =
                format!("SELECT {COLUMNS} FROM gateway_orders WHERE created_at IS NOT NULL");
            let mut values: Vec<Box<dyn ToSql>> = Vec::new();
            if let Some(buyer) = query.buyer {
                values.push(Box::new(buyer));
                sql.push_str(&format!(" AND buyer_id = ?{}", values.len()));
            }
            match query.after.as_ref().map(Boundary::of) {
                Some(Boundary::After { created_at, id }) => {
                    values.push(Box::new(micros(created_at)));
                    values.push(Box::new(id.as_bytes().to_vec()));
                    sql.push_str(&format!(
                        " AND (created_at, id) < (?{}, ?{})",
                        values.len() - 1,
                        values.len()
                    ));
                }
                Some(Boundary::AtOrBefore { created_at }) => {
                    values.push(Box::new(micros(created_at)));
                    sql.push_str(&format!(" AND created_at <= ?{}", values.len()));
                }
                None => {}
            }
            values.push(Box::new(i64::from(limit) + 1));
            sql.push_str(&format!(
                " ORDER BY created_at DESC, id DESC LIMIT ?{}",
                values.len()
            ));

            let mut statement = connection.prepare_cached(&sql).map_err(port_error)?;
            let parameters: Vec<&dyn ToSql> = values.iter().map(Box::as_ref).collect();
            let mut rows = statement.query(parameters.as_slice()).map_err(port_error)?;
            let mut stored = Vec::new();
            while let Some(row) = rows.next().map_err(port_error)? {
                stored.push(stored_order(row)?);
            }
            page(stored, limit)
        })
        .await
    }

    /// Whether the file opens and holds the read model's table.
    pub(crate) async fn check(self: &Arc<Self>) -> Result<(), ReadModelError> {
        self.with(|connection| {
            connection
                .query_row(
                    "SELECT count(*) FROM gateway_orders WHERE false",
                    [],
                    |_| Ok(()),
                )
                .map_err(port_error)
        })
        .await
    }
}

fn stored_order(row: &Row<'_>) -> Result<StoredOrder, ReadModelError> {
    let id: [u8; 16] = row.get(0).map_err(port_error)?;
    let created_at: Option<i64> = row.get(5).map_err(port_error)?;
    let updated_at: i64 = row.get(9).map_err(port_error)?;
    Ok(StoredOrder {
        id: Uuid::from_bytes(id),
        buyer_id: row.get(1).map_err(port_error)?,
        currency: row.get(2).map_err(port_error)?,
        items: row.get(3).map_err(port_error)?,
        total: row.get(4).map_err(port_error)?,
        created_at: created_at.map(from_micros).transpose()?,
        status: row.get(6).map_err(port_error)?,
        cancellation_reason: row.get(7).map_err(port_error)?,
        revision: row.get(8).map_err(port_error)?,
        updated_at: from_micros(updated_at)?,
    })
}
