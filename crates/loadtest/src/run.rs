//! Drives a run: resolves the token, checks the target answers TCP, starts one worker
//! per connection, waits for all of them and merges their results.
//!
//! Guarantees: workers only send what the [`Schedule`] hands out, so the run stops by
//! itself (the schedule is bounded, and every exchange is bounded by the timeout); a
//! Ctrl-C ([`StopSignal`]) ends it early with the results gathered so far. Only requests
//! the schedule marks as measured are recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use tokio::task::JoinSet;

use crate::Error;
use crate::cli::Config;
use crate::client::{Connection, RequestTemplate};
use crate::pacer::{Pacer, Turns};
use crate::report::Report;
use crate::schedule::{Plan, Schedule, Slot};
use crate::stats::{ErrorKind, Recorder};
use crate::stop::StopSignal;

/// Pause after a failed connect, so a closed port does not become a busy loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// The merged results of a run.
#[derive(Debug)]
pub struct RunOutcome {
    /// Everything measured.
    pub recorder: Recorder,
    /// From the start of the measured window to the last measured completion.
    pub elapsed: Duration,
    /// Open loop: measured sends that were never issued.
    pub missed: u64,
    /// Whether the run was stopped early.
    pub interrupted: bool,
    /// TCP connections opened over the whole run, warm-up included.
    pub connections_opened: u64,
}

/// Runs the whole tool for a validated `config` and returns its report.
pub async fn execute(config: Config, stop: StopSignal) -> Result<Report, Error> {
    let timeout = config.plan.timeout;
    let token = config.token.resolve(timeout).await?;
    let mut headers = config.headers.clone();
    if !headers.contains_key(HOST) {
        headers.insert(HOST, config.target.host_header.clone());
    }
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.0))
            .map_err(|_| Error::Token("the access token is not a valid header value".into()))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let template = RequestTemplate {
        method: config.method.clone(),
        path_and_query: config.target.path_and_query.clone(),
        headers,
        body: config.body.clone(),
        unique_header: config.unique_header.clone(),
    };
    let addr = crate::client::probe(&config.target.addrs, timeout).await?;
    tracing::info!(%addr, concurrency = config.plan.concurrency, "starting run");
    let outcome = run(config.plan.clone(), addr, template, stop).await?;
    Ok(Report::new(&config, &outcome))
}

/// Runs `plan` against `addr` with requests built from `template`.
pub async fn run(
    plan: Plan,
    addr: SocketAddr,
    template: RequestTemplate,
    stop: StopSignal,
) -> Result<RunOutcome, Error> {
    plan.validate()?;
    let schedule = Arc::new(Schedule::new(plan, Instant::now(), stop.clone()));
    let template = Arc::new(template);
    let concurrency = schedule.plan().concurrency;
    let pacer = schedule
        .pace(concurrency)
        .map(|pace| Pacer::start(pace, stop.clone()))
        .transpose()
        .map_err(|e| Error::Worker(format!("starting the pacer thread: {e}")))?;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        workers.spawn(worker(
            Arc::clone(&schedule),
            Arc::clone(&template),
            addr,
            pacer.as_ref().map(Pacer::turns),
            stop.clone(),
        ));
    }
    let mut recorder = Recorder::new()?;
    let mut measured_sent = 0;
    let mut connections_opened = 0;
    while let Some(joined) = workers.join_next().await {
        let done = joined.map_err(|e| Error::Worker(e.to_string()))??;
        recorder.merge(&done.recorder)?;
        measured_sent += done.measured_sent;
        connections_opened += done.connections_opened;
    }
    if let Some(pacer) = pacer {
        pacer.finish();
    }
    debug_assert_eq!(
        recorder.requests(),
        measured_sent,
        "a measured request was lost"
    );
    let elapsed = recorder.last_completion().map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(schedule.measure_start())
    });
    Ok(RunOutcome {
        missed: schedule.missed(measured_sent),
        recorder,
        elapsed,
        interrupted: stop.is_stopped(),
        connections_opened,
    })
}

/// What one worker hands back.
#[derive(Debug)]
struct WorkerResult {
    recorder: Recorder,
    measured_sent: u64,
    connections_opened: u64,
}

/// One worker: in open loop waits for a turn from the pacer (the open-loop clock); asks
/// the schedule what to send; sends; records.
async fn worker(
    schedule: Arc<Schedule>,
    template: Arc<RequestTemplate>,
    addr: SocketAddr,
    turns: Option<Turns>,
    stop: StopSignal,
) -> Result<WorkerResult, Error> {
    let timeout = schedule.plan().timeout;
    let mut connection = Connection::new(addr);
    let mut recorder = Recorder::new()?;
    let mut measured_sent = 0u64;
    loop {
        if let Some(turns) = &turns {
            tokio::select! {
                go = turns.wait() => if !go { break },
                () = stop.stopped() => break,
            }
        }
        let Slot::Send { measured, intended } = schedule.next(Instant::now()) else {
            break;
        };
        let started = Instant::now();
        let outcome = connection.exchange(template.build(), timeout).await;
        let completed = Instant::now();
        if measured {
            measured_sent += 1;
            // The pacer hands out a ticket only once it is due; `min` only absorbs
            // float rounding of the intended instant (nanoseconds).
            let due = intended.map_or(started, |at| at.min(started));
            let latency = completed.saturating_duration_since(due);
            let service = completed.saturating_duration_since(started);
            match outcome {
                Ok(exchange) => recorder.record_response(
                    exchange.status.as_u16(),
                    latency,
                    service,
                    exchange.body_bytes,
                    completed,
                ),
                Err(kind) => recorder.record_error(kind, completed),
            }
        }
        if matches!(outcome, Err(ErrorKind::Connect)) {
            tokio::select! {
                () = tokio::time::sleep(CONNECT_BACKOFF) => {}
                () = stop.stopped() => break,
            }
        }
    }
    Ok(WorkerResult {
        recorder,
        measured_sent,
        connections_opened: connection.opened(),
    })
}
