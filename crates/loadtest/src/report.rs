//! The result of a run, as a human table or one JSON object, and the verdict.
//!
//! Guarantees: the report states whatever would make the figures misleading — non-2xx
//! responses, transport errors, missed open-loop sends, an interrupted or empty run — and
//! [`Report::failures`] lists each of them, so the binary can exit non-zero.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::cli::Config;
use crate::run::RunOutcome;
pub use crate::stats::Latency;

/// What a run measured. JSON field names are camelCase, latencies in microseconds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Target URL.
    pub url: String,
    /// HTTP method.
    pub method: String,
    /// `closed-loop` (back to back) or `open-loop` (constant rate).
    pub mode: &'static str,
    /// Workers (= connections).
    pub concurrency: usize,
    /// Open-loop target rate, requests/s.
    pub rate: Option<f64>,
    /// Discarded leading period, seconds.
    pub warmup_secs: f64,
    /// Measured requests (responses + transport errors).
    pub requests: u64,
    /// Measured window: from its start to the last measured completion, seconds.
    pub duration_secs: f64,
    /// `requests / durationSecs`.
    pub throughput: f64,
    /// Latency distribution of the responses.
    pub latency_us: Latency,
    /// Where latency is measured from: `send` or `intended-send`.
    pub latency_from: &'static str,
    /// Open loop only: time from the *actual* send. Compare with `latencyUs` to see how
    /// much of the latency was waiting to be sent (backlog or timer lag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_time_us: Option<Latency>,
    /// Response count per HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Responses whose status is not 2xx.
    pub non_2xx: u64,
    /// Requests that got no response.
    pub errors: u64,
    /// Transport errors per kind (`connect`, `timeout`, `io`).
    pub error_kinds: BTreeMap<&'static str, u64>,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Open loop: measured sends never issued (the rate was not sustained).
    pub missed: u64,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// TCP connections opened, warm-up included (`concurrency` when keep-alive held).
    pub connections_opened: u64,
}

impl Report {
    /// The report of `outcome` for the run described by `config`.
    pub fn new(config: &Config, outcome: &RunOutcome) -> Self {
        let recorder = &outcome.recorder;
        let requests = recorder.requests();
        let duration_secs = outcome.elapsed.as_secs_f64();
        let open_loop = config.plan.rate.is_some();
        Self {
            url: config.target.url.clone(),
            method: config.method.to_string(),
            mode: if open_loop {
                "open-loop"
            } else {
                "closed-loop"
            },
            concurrency: config.plan.concurrency,
            rate: config.plan.rate,
            warmup_secs: config.plan.warmup.as_secs_f64(),
            requests,
            duration_secs,
            throughput: if duration_secs > 0.0 {
                requests as f64 / duration_secs
            } else {
                0.0
            },
            latency_us: recorder.latency(),
            latency_from: if open_loop { "intended-send" } else { "send" },
            service_time_us: open_loop.then(|| recorder.service_time()),
            statuses: recorder.statuses().clone(),
            non_2xx: recorder.non_2xx(),
            errors: recorder.errors(),
            error_kinds: recorder
                .error_kinds()
                .iter()
                .map(|(kind, n)| (kind.as_str(), *n))
                .collect(),
            bytes_received: recorder.bytes_received(),
            missed: outcome.missed,
            interrupted: outcome.interrupted,
            connections_opened: outcome.connections_opened,
        }
    }

    /// Reasons this run should not be trusted as a benchmark. `allow_errors` accepts
    /// non-2xx responses and transport errors; an empty or interrupted run, or an
    /// open-loop run that missed sends (its rate was not reached), is never accepted.
    pub fn failures(&self, allow_errors: bool) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.requests == 0 {
            reasons.push("no request was measured".to_owned());
        }
        if self.interrupted {
            reasons.push("the run was interrupted".to_owned());
        }
        if !allow_errors {
            if self.non_2xx > 0 {
                reasons.push(format!("{} non-2xx responses", self.non_2xx));
            }
            if self.errors > 0 {
                reasons.push(format!("{} transport errors", self.errors));
            }
        }
        if self.missed > 0 {
            reasons.push(format!(
                "{} scheduled requests were never sent (the rate was not sustained)",
                self.missed
            ));
        }
        reasons
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "target      {} {}", self.method, self.url)?;
        match self.rate {
            Some(rate) => writeln!(
                f,
                "mode        open loop at {rate} req/s over {} connections (latency from intended send)",
                self.concurrency
            )?,
            None => writeln!(
                f,
                "mode        closed loop, {} connections back to back",
                self.concurrency
            )?,
        }
        if self.warmup_secs > 0.0 {
            writeln!(f, "warmup      {:.3} s (discarded)", self.warmup_secs)?;
        }
        writeln!(f, "requests    {}", self.requests)?;
        writeln!(f, "duration    {:.3} s", self.duration_secs)?;
        writeln!(f, "throughput  {:.1} req/s", self.throughput)?;
        writeln!(f, "latency     {}", Millis(&self.latency_us))?;
        if let Some(service) = &self.service_time_us {
            writeln!(f, "service     {} (from actual send)", Millis(service))?;
        }
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect();
        writeln!(f, "statuses    {}", or_none(&statuses))?;
        writeln!(f, "non-2xx     {}", self.non_2xx)?;
        let kinds: Vec<String> = self
            .error_kinds
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        writeln!(f, "errors      {} ({})", self.errors, or_none(&kinds))?;
        if self.rate.is_some() {
            writeln!(f, "missed      {}", self.missed)?;
        }
        writeln!(f, "connections {} opened", self.connections_opened)?;
        write!(
            f,
            "received    {} bytes of response bodies",
            self.bytes_received
        )?;
        if self.interrupted {
            write!(f, "\ninterrupted before the end")?;
        }
        Ok(())
    }
}

/// A latency summary printed in milliseconds.
struct Millis<'a>(&'a Latency);

impl fmt::Display for Millis<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |us: u64| us as f64 / 1000.0;
        let l = self.0;
        write!(
            f,
            "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  (mean {:.3} ms)",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
            l.mean / 1000.0
        )
    }
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Report {
        Report {
            url: "http://127.0.0.1:8080/orders".into(),
            method: "POST".into(),
            mode: "closed-loop",
            concurrency: 64,
            rate: None,
            warmup_secs: 0.0,
            requests: 1000,
            duration_secs: 1.0,
            throughput: 1000.0,
            latency_us: Latency {
                p50: 900,
                p90: 1500,
                p99: 4000,
                p999: 9000,
                max: 12000,
                mean: 1000.0,
            },
            latency_from: "send",
            service_time_us: None,
            statuses: BTreeMap::from([(201, 1000)]),
            non_2xx: 0,
            errors: 0,
            error_kinds: BTreeMap::new(),
            bytes_received: 70_000,
            missed: 0,
            interrupted: false,
            connections_opened: 64,
        }
    }

    #[test]
    fn a_clean_run_has_nothing_to_confess() {
        assert!(clean().failures(false).is_empty());
    }

    #[test]
    fn non_2xx_and_errors_fail_the_run_unless_allowed() {
        let report = Report {
            statuses: BTreeMap::from([(201, 990), (409, 10)]),
            non_2xx: 10,
            errors: 2,
            ..clean()
        };
        assert_eq!(report.failures(false).len(), 2);
        assert!(report.failures(true).is_empty());
    }

    #[test]
    fn an_empty_interrupted_or_rate_missing_run_fails_even_with_allow_errors() {
        for report in [
            Report {
                requests: 0,
                ..clean()
            },
            Report {
                interrupted: true,
                ..clean()
            },
            Report {
                missed: 5,
                ..clean()
            },
        ] {
            assert!(!report.failures(true).is_empty(), "{report:?}");
        }
    }

    #[test]
    fn the_json_report_uses_camel_case_and_microseconds() {
        let json = serde_json::to_value(clean()).expect("json");
        assert_eq!(json["latencyUs"]["p99"], 4000);
        assert_eq!(json["statuses"]["201"], 1000);
        assert_eq!(json["non2xx"], 0);
        assert_eq!(json["bytesReceived"], 70_000);
    }

    #[test]
    fn the_table_shows_every_status() {
        let table = Report {
            statuses: BTreeMap::from([(201, 990), (500, 10)]),
            non_2xx: 10,
            ..clean()
        }
        .to_string();
        assert!(table.contains("201: 990, 500: 10"), "{table}");
        assert!(table.contains("non-2xx     10"), "{table}");
    }
}
