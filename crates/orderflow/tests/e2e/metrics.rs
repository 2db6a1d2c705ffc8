//! `GET /metrics`: what a Prometheus scrape of `orderflow up` reports after
//! seed 000's steps, and that ids and tokens never become label values.

use std::collections::BTreeMap;
use std::time::Duration;

use orderflow_testkit::signalr::SignalrClient;

use crate::support::{confirm_order, http, orderflow_up, password_token, place_order, search_ids};

/// The value of the sample `name` whose labels include every one of `labels`.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, found) = match series.split_once('{') {
                Some((series_name, rest)) => (series_name, parse_labels(rest.strip_suffix('}')?)),
                None => (series, BTreeMap::new()),
            };
            let matches = series_name == name
                && labels
                    .iter()
                    .all(|(key, wanted)| found.get(*key).map(String::as_str) == Some(*wanted));
            matches.then(|| value.parse().ok()).flatten()
        })
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (key, value) = pair.split_once("=\"")?;
            Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
        })
        .collect()
}

/// `GET {base}/metrics`, checked to be the Prometheus text format.
pub async fn scrape(base: &str) -> String {
    let response = http().get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn up_reports_requests_subscriptions_the_event_store_and_the_hub() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = orderflow_up(data_dir.path()).await;
    let base = up.url("");
    let alice = password_token(&base, "alice").await;
    let admin = password_token(&base, "admin").await;
    let mut tab = SignalrClient::node(&up.url("/hubs/push-updates"), &alice, "result").await;
    tab.expect_event("connected").await;

    let (order, _) = place_order(&base, &alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let confirmed_at = confirm_order(&base, &admin, &order_id).await;
    search_ids(&base, &admin, "status=confirmed", confirmed_at).await;
    // order-created, then order-confirmed: both acknowledged by the client.
    tab.expect_event("push").await;
    tab.expect_event("push").await;

    // The push publisher's and the outbox's positions follow within moments.
    let mut text = scrape(&base).await;
    for _ in 0..50 {
        let caught_up = ["push-publisher", "integration-events"].iter().all(|name| {
            sample(
                &text,
                "orderflow_subscription_position",
                &[("subscription", name)],
            ) >= Some(confirmed_at as f64)
        });
        if caught_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = scrape(&base).await;
    }

    let requests = |method, route, status| {
        sample(
            &text,
            "orderflow_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("POST", "/orders", "201"), Some(1.0), "{text}");
    assert_eq!(
        requests("POST", "/orders/{id}/confirm", "200"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "orderflow_http_request_duration_seconds_bucket",
            &[("method", "POST"), ("route", "/orders"), ("le", "+Inf")]
        ),
        Some(1.0),
        "durations are histograms: {text}"
    );
    assert_eq!(
        sample(&text, "orderflow_event_store_head_position", &[]),
        Some(confirmed_at as f64),
        "{text}"
    );
    for subscription in ["search", "push-publisher"] {
        let position = sample(
            &text,
            "orderflow_subscription_position",
            &[("subscription", subscription)],
        );
        assert_eq!(
            position,
            Some(confirmed_at as f64),
            "{subscription}: {text}"
        );
    }
    for subscription in ["search", "push-publisher", "integration-events"] {
        for lag in [
            "orderflow_subscription_lag_events",
            "orderflow_subscription_lag_seconds",
        ] {
            assert_eq!(
                sample(&text, lag, &[("subscription", subscription)]),
                Some(0.0),
                "{subscription} has caught up: {text}"
            );
        }
    }
    // Two appends (the placement's two events, the confirm's one), in one or two commits.
    let sizes = |name| sample(&text, name, &[]);
    assert_eq!(
        sizes("orderflow_event_store_append_events_count"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sizes("orderflow_event_store_append_events_sum"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sizes("orderflow_event_store_batch_events_sum"),
        Some(3.0),
        "{text}"
    );
    assert!(sizes("orderflow_hub_pushes_in_flight").is_some(), "{text}");
    // Read when the hub starts (and every 15 s): nothing was pending then, and alice
    // acknowledged both pushes since.
    assert_eq!(sizes("orderflow_inbox_pending"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, "orderflow_hub_connections", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "orderflow_hub_push_deliveries_total",
            &[("outcome", "delivered")]
        ),
        Some(2.0),
        "{text}"
    );
    // Routes are templates: no id or token is ever a label value.
    assert!(!text.contains(&order_id), "{text}");
    assert!(!text.contains(&alice), "{text}");

    tab.stop().await;
}

/// The position `subscription` has handled in the process serving `base`,
/// as its `/metrics` say; `None` when that process does not run it.
async fn handled_position(base: &str, subscription: &str) -> Option<f64> {
    sample(
        &scrape(base).await,
        "orderflow_subscription_position",
        &[("subscription", subscription)],
    )
}

/// Polls until one of `bases` reports `subscription` at `position` or
/// beyond; returns which one.
async fn publisher_of(bases: &[String], subscription: &str, position: u64) -> usize {
    for _ in 0..150 {
        for (index, base) in bases.iter().enumerate() {
            if handled_position(base, subscription).await >= Some(position as f64) {
                return index;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no instance published {subscription} up to {position}");
}

#[tokio::test]
async fn in_server_mode_one_orders_instance_runs_each_outbox_and_another_takes_over() {
    let deployment = crate::support::ServerMode::new().await;
    let mut instances = vec![
        deployment.start("orders", "127.0.0.1:0").await,
        deployment.start("orders", "127.0.0.1:0").await,
    ];
    let bases: Vec<String> = instances.iter().map(|instance| instance.url("")).collect();
    let alice = password_token(&deployment.idp.url(""), "alice").await;
    let (_, position) = place_order(&bases[0], &alice).await;

    for subscription in ["push-publisher", "integration-events"] {
        let leader = publisher_of(&bases, subscription, position).await;
        let other = &bases[1 - leader];
        assert_eq!(
            handled_position(other, subscription).await,
            None,
            "{subscription} runs on one instance only"
        );
    }

    // The push publisher's instance stops: the other takes its lease over
    // and announces what is stored after.
    let leader = publisher_of(&bases, "push-publisher", position).await;
    drop(instances.remove(leader));
    let survivor = bases[1 - leader].clone();
    let (_, later) = place_order(&survivor, &alice).await;
    assert_eq!(
        publisher_of(std::slice::from_ref(&survivor), "push-publisher", later).await,
        0
    );

    drop(instances);
    deployment.finish().await;
}
