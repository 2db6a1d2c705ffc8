//! The naive floor: what `POST /orders` would be if written the simplest way that works.
//!
//! axum, serde, and one PostgreSQL transaction per request that inserts the order's two
//! event rows (`OrderCreated`, `OrderSubscriptionAdded`) and commits; a pool of
//! `--connections` (sqlx's default of 10 unless told). No authentication, no domain
//! rules beyond "the body parses", no group commit, no projections, no outbox.
//!
//! It exists only as the yardstick of `scripts/bench-compare`: every figure there is
//! a ratio to this binary, measured in the same run on the same cores. It keeps the
//! one promise the real service keeps that matters for speed: a 201 means both rows
//! are committed (PostgreSQL's default `synchronous_commit = on`).

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "orderflow-naive-floor", about)]
struct Args {
    /// PostgreSQL to write to; the table `naive_events` is created if missing.
    #[arg(long, env = "ORDERFLOW_DATABASE_URL")]
    database_url: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18090")]
    listen: SocketAddr,
    /// Connections in the pool.
    #[arg(long, default_value_t = 10)]
    connections: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // parsed like the real body, then stored as it came
struct OrderBody {
    currency: String,
    items: Vec<ItemBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ItemBody {
    sku: String,
    name: String,
    quantity: u32,
    unit_price: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = PgPoolOptions::new()
        .max_connections(args.connections)
        .connect(&args.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS naive_events (
             position   bigserial   PRIMARY KEY,
             event_id   uuid        NOT NULL UNIQUE,
             stream     text        NOT NULL,
             revision   bigint      NOT NULL,
             event_type text        NOT NULL,
             data       json        NOT NULL,
             recorded_at timestamptz NOT NULL DEFAULT now(),
             UNIQUE (stream, revision))",
    )
    .execute(&pool)
    .await
    .context("creating naive_events")?;
    let app = Router::new()
        .route("/orders", post(place_order))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn place_order(State(pool): State<PgPool>, Json(body): Json<serde_json::Value>) -> Response {
    if serde_json::from_value::<OrderBody>(body.clone()).is_err() {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    let order_id = Uuid::now_v7();
    let stream = format!("order-{order_id}");
    let created = json!({ "orderId": order_id, "order": body });
    let subscribed = json!({ "orderId": order_id, "subscriberId": "buyer" });
    match insert_two_events(&pool, &stream, created, subscribed).await {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "id": order_id }))).into_response(),
        Err(error) => {
            eprintln!("insert failed: {error}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn insert_two_events(
    pool: &PgPool,
    stream: &str,
    created: serde_json::Value,
    subscribed: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    for (revision, event_type, data) in [
        (0_i64, "OrderCreated", created),
        (1, "OrderSubscriptionAdded", subscribed),
    ] {
        sqlx::query(
            "INSERT INTO naive_events (event_id, stream, revision, event_type, data)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(stream)
        .bind(revision)
        .bind(event_type)
        .bind(sqlx::types::Json(data))
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await
}
