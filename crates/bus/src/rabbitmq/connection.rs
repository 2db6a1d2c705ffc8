//! The one AMQP connection an adapter shares between its publisher, its
//! consumers and its requester, re-opened on demand.
//!
//! Guarantees: at most one connection attempt runs at a time (callers queue
//! behind it and share its result); every new connection first declares the
//! exchange topology, so nothing is published to an exchange that a broker
//! restart without persistence lost; once [`Connector::close`] was called, no
//! connection is opened again. Retrying and backing off is the callers'
//! business: a failed attempt returns `Unavailable` at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lapin::{Channel, Connection, ConnectionProperties};
use orderflow_app::ports::bus::BusError;
use tokio::sync::Mutex;

use super::config::RabbitConfig;
use super::error::from_lapin;
use super::topology;

#[derive(Debug)]
pub(crate) struct Connector {
    config: Arc<RabbitConfig>,
    current: Mutex<Option<Arc<Connection>>>,
    closed: AtomicBool,
}

impl Connector {
    pub(crate) fn new(config: Arc<RabbitConfig>) -> Self {
        Connector {
            config,
            current: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn config(&self) -> &RabbitConfig {
        &self.config
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The live connection, opening a new one if there is none.
    pub(crate) async fn connection(&self) -> Result<Arc<Connection>, BusError> {
        let mut current = self.current.lock().await;
        if self.is_closed() {
            return Err(BusError::Unavailable("the bus was closed".into()));
        }
        if let Some(connection) = current.as_ref()
            && connection.status().connected()
        {
            return Ok(connection.clone());
        }
        let connection = Arc::new(self.open().await?);
        *current = Some(connection.clone());
        Ok(connection)
    }

    /// A new channel on the live connection.
    pub(crate) async fn channel(&self) -> Result<Channel, BusError> {
        let connection = self.connection().await?;
        connection
            .create_channel()
            .await
            .map_err(|e| from_lapin("opening a channel", &e))
    }

    async fn open(&self) -> Result<Connection, BusError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.config.connection_name.clone().into());
        let connect = Connection::connect(&self.config.url, properties);
        let connection = tokio::time::timeout(self.config.connect_timeout, connect)
            .await
            .map_err(|_| {
                BusError::Unavailable(
                    format!(
                        "no connection to the broker within {:?}",
                        self.config.connect_timeout
                    )
                    .into(),
                )
            })?
            .map_err(|e| from_lapin("connecting to the broker", &e))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| from_lapin("opening a channel", &e))?;
        topology::declare_exchanges(&channel, &self.config).await?;
        let _ = channel.close(200, "topology declared".into()).await;
        tracing::info!(
            exchange = %self.config.exchange,
            connection = %self.config.connection_name,
            "connected to the message broker"
        );
        Ok(connection)
    }

    /// Closes the connection for good; consumers stop instead of reconnecting.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(connection) = self.current.lock().await.take() {
            let _ = connection.close(200, "closing".into()).await;
        }
    }
}
