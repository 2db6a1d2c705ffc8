//! Wiring the gateway slice: its read model, the read-model projection and
//! the order-created notifier (bus consumers), and the routes' mediator.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::Mediator;
use orderflow_app::gateway::{
    GatewayHandlers, OrderCommands, OrderCreatedNotifier, ReadModelProjection,
    notification_subscription, read_model_subscription,
};
use orderflow_app::messaging::run_consumer;
use orderflow_app::ports::bus::MessageBus;
use orderflow_auth::TokenValidator;
use orderflow_http::GatewayApi;

use super::{Application, namespaced};
use crate::adapters::open_read_model;
use crate::cli::BackendArgs;

impl Application {
    /// The gateway's read model, its projection and notification consumers;
    /// returns what its routes run on.
    pub(super) async fn add_gateway(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
        validator: TokenValidator,
        bus: Arc<dyn MessageBus>,
    ) -> anyhow::Result<GatewayApi> {
        let (read_model, description) = open_read_model(backend, data_dir).await?;
        self.banner.push(format!(
            "gateway:   {}/api/orders (read model: {description})",
            self.base_url
        ));
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_consumer(
            bus.clone(),
            namespaced(read_model_subscription(), backend),
            ReadModelProjection::new(read_model.clone()),
            stopped,
        )));
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_consumer(
            bus.clone(),
            namespaced(notification_subscription(), backend),
            OrderCreatedNotifier::new(bus.clone()),
            stopped,
        )));
        let timeout = Duration::from_millis(backend.command_timeout_ms.max(1));
        let handlers = GatewayHandlers::new(OrderCommands::new(bus, timeout), read_model.clone());
        Ok(GatewayApi {
            mediator: Arc::new(Mediator::new(handlers)),
            read_model,
            validator,
        })
    }
}
