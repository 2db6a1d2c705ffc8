//! The mediator: every use case is a [`Request`] sent through one pipeline,
//! as in seed 000 ("OrderCreationCommand is published via mediator").
//!
//! The pipeline's behaviours, in order, for every request:
//! 1. **tracing** — a span named after the request with the correlation id
//!    and the acting user; the outcome is logged (server-side failures as
//!    errors, refusals at info);
//! 2. **authorization** — [`Request::authorize`], role checks that need no
//!    state (ownership needs the order, so handlers check it);
//! 3. **validation** — [`Request::validate`] turns the raw request into its
//!    validated form, collecting every field error, before any I/O;
//! 4. **idempotency** — ids minted through [`RequestContext::id_for`] are
//!    derived from the idempotency key when present, so a retried request
//!    is a no-op in the event store (see [`crate::context`]);
//! 5. the **handler**.

use std::time::Instant;

use async_trait::async_trait;
use tracing::Instrument;

use crate::context::{Actor, RequestContext};
use crate::error::AppError;

/// A use case's input.
pub trait Request: Send + 'static {
    /// What validation turns the request into.
    type Validated: Send;
    /// What the handler answers.
    type Response: Send;
    /// Name in logs and traces.
    const NAME: &'static str;

    /// Role checks that need no state.
    fn authorize(&self, actor: &Actor) -> Result<(), AppError>;

    /// Checks every field and builds the validated form.
    fn validate(self, context: &RequestContext) -> Result<Self::Validated, AppError>;
}

/// Runs one kind of request.
#[async_trait]
pub trait Handle<R: Request>: Send + Sync {
    async fn handle(
        &self,
        context: &RequestContext,
        request: R::Validated,
    ) -> Result<R::Response, AppError>;
}

/// Sends requests through the pipeline to the handlers `H`.
#[derive(Debug, Clone)]
pub struct Mediator<H> {
    handlers: H,
}

impl<H> Mediator<H> {
    pub fn new(handlers: H) -> Self {
        Mediator { handlers }
    }

    /// Runs `request` through the pipeline.
    pub async fn send<R>(
        &self,
        context: &RequestContext,
        request: R,
    ) -> Result<R::Response, AppError>
    where
        R: Request,
        H: Handle<R>,
    {
        let span = tracing::info_span!(
            "request",
            name = R::NAME,
            correlation_id = %context.correlation_id,
            user = %context.actor.user_id,
            idempotent = context.idempotency_key.is_some(),
        );
        async {
            let started = Instant::now();
            let result = async {
                request.authorize(&context.actor)?;
                let validated = request.validate(context)?;
                self.handlers.handle(context, validated).await
            }
            .await;
            let elapsed_us = started.elapsed().as_micros() as u64;
            match &result {
                Ok(_) => tracing::debug!(elapsed_us, "handled"),
                Err(error) if error.is_server_side() => {
                    tracing::error!(elapsed_us, %error, "failed");
                }
                Err(error) => tracing::info!(elapsed_us, %error, "refused"),
            }
            result
        }
        .instrument(span)
        .await
    }
}
