//! Tests of the schedule: how planned sends are spaced and counted.

use super::*;

fn plan() -> Plan {
    Plan {
        concurrency: 4,
        warmup: Duration::ZERO,
        duration: Some(Duration::from_secs(1)),
        requests: None,
        rate: None,
        timeout: Duration::from_secs(1),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn closed_loop_discards_the_warmup_and_stops_at_the_end_of_the_window() {
    let start = Instant::now();
    let schedule = Schedule::new(
        Plan {
            warmup: ms(300),
            ..plan()
        },
        start,
        StopSignal::new(),
    );
    let warm = Slot::Send {
        measured: false,
        intended: None,
    };
    let hot = Slot::Send {
        measured: true,
        intended: None,
    };
    assert_eq!(schedule.next(start), warm);
    assert_eq!(schedule.next(start + ms(299)), warm);
    assert_eq!(schedule.next(start + ms(300)), hot);
    assert_eq!(schedule.next(start + ms(1299)), hot);
    assert_eq!(schedule.next(start + ms(1300)), Slot::Done);
    assert_eq!(schedule.measure_start(), start + ms(300));
    assert_eq!(schedule.missed(0), 0, "closed loop never misses");
}

#[test]
fn closed_loop_hands_out_exactly_the_requested_number_of_measured_requests() {
    let start = Instant::now();
    let schedule = Schedule::new(
        Plan {
            duration: None,
            requests: Some(5),
            ..plan()
        },
        start,
        StopSignal::new(),
    );
    let sends = (0..20)
        .map(|_| schedule.next(start))
        .filter(|slot| matches!(slot, Slot::Send { measured: true, .. }))
        .count();
    assert_eq!(sends, 5);
    assert_eq!(schedule.next(start), Slot::Done);
}

#[test]
fn open_loop_spaces_intended_times_at_the_rate_and_measures_ceil_duration_times_rate() {
    let start = Instant::now();
    let schedule = Schedule::new(
        Plan {
            warmup: ms(100),
            duration: Some(ms(500)),
            rate: Some(200.0),
            ..plan()
        },
        start,
        StopSignal::new(),
    );
    // 20 warm-up tickets (0..100 ms), then 100 measured ones (100..600 ms).
    assert_eq!(schedule.measured_tickets(), Some(100));
    assert_eq!(schedule.measure_start(), start + ms(100));
    let slots: Vec<Slot> = std::iter::from_fn(|| match schedule.next(start) {
        Slot::Done => None,
        slot => Some(slot),
    })
    .collect();
    assert_eq!(slots.len(), 120);
    for (i, slot) in slots.iter().enumerate() {
        let expected = start + Duration::from_secs_f64(i as f64 / 200.0);
        assert_eq!(
            *slot,
            Slot::Send {
                measured: i >= 20,
                intended: Some(expected)
            },
            "ticket {i}"
        );
    }
}

#[test]
fn open_loop_abandons_tickets_a_timeout_after_the_window_and_counts_them_missed() {
    let start = Instant::now();
    let schedule = Schedule::new(
        Plan {
            duration: Some(ms(1000)),
            rate: Some(10.0),
            timeout: ms(200),
            ..plan()
        },
        start,
        StopSignal::new(),
    );
    assert!(matches!(schedule.next(start + ms(1200)), Slot::Send { .. }));
    assert_eq!(schedule.next(start + ms(1201)), Slot::Done);
    assert_eq!(schedule.missed(1), 9);
    assert_eq!(schedule.missed(10), 0);
}

#[test]
fn the_pace_covers_warmup_and_measured_tickets_until_a_timeout_after_the_window() {
    let start = Instant::now();
    let schedule = Schedule::new(
        Plan {
            warmup: ms(100),
            duration: Some(ms(500)),
            rate: Some(200.0),
            timeout: ms(300),
            ..plan()
        },
        start,
        StopSignal::new(),
    );
    let pace = schedule.pace(4).expect("open loop");
    assert_eq!((pace.total, pace.extra, pace.rate), (120, 4, 200.0));
    assert_eq!(pace.start, start);
    assert_eq!(pace.deadline, start + ms(900));
    let closed = Schedule::new(plan(), start, StopSignal::new());
    assert!(closed.pace(4).is_none());
}

#[test]
fn open_loop_with_a_request_count_measures_that_many_tickets() {
    let schedule = Schedule::new(
        Plan {
            duration: None,
            requests: Some(7),
            rate: Some(1000.0),
            ..plan()
        },
        Instant::now(),
        StopSignal::new(),
    );
    assert_eq!(schedule.measured_tickets(), Some(7));
}

#[test]
fn a_stopped_schedule_hands_out_nothing() {
    let stop = StopSignal::new();
    let start = Instant::now();
    let schedule = Schedule::new(plan(), start, stop.clone());
    stop.stop();
    assert_eq!(schedule.next(start), Slot::Done);
}

#[test]
fn invalid_plans_are_rejected() {
    for bad in [
        Plan {
            concurrency: 0,
            ..plan()
        },
        Plan {
            duration: None,
            requests: None,
            ..plan()
        },
        Plan {
            duration: Some(Duration::ZERO),
            ..plan()
        },
        Plan {
            requests: Some(0),
            ..plan()
        },
        Plan {
            rate: Some(0.0),
            ..plan()
        },
        Plan {
            rate: Some(f64::NAN),
            ..plan()
        },
        Plan {
            timeout: Duration::ZERO,
            ..plan()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?} should be rejected");
    }
    assert!(plan().validate().is_ok());
}
