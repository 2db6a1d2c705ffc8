#!/usr/bin/env python3
"""Reads `perf script -F comm,tid,ip,sym` of `orderflow up` (with call graphs) on stdin and
prints each flow's share of the samples: a writer or tantivy thread by its name, a tokio
worker's sample by the task it was polling (the future type in tokio's `poll_future<…>`
frame). Used by scripts/profile-flows."""
import collections
import re
import sys

# Flows by the future type of the task a tokio worker polled (first match wins).
TASKS = [
    ("orderflow_http::server", "request path (HTTP, token, JSON, rules, append hand-off)"),
    ("orderflow_store::sqlite::reader", "subscriptions: reading events from the file"),
    ("tantivy_index", "search projection: tantivy calls"),
    ("SearchPro", "search projection: subscription"),
    ("PushPublisher", "push publisher"),
    ("IntegrationEventPublisher", "integration-event outbox"),
    ("ReadModelProjection", "gateway read model: consumer"),
    ("OrderCreatedNotifier", "notifier: consumer"),
    ("orderflow_hub", "hub relay and inbox recorder"),
    ("in_process", "in-process bus"),
]
THREADS = [
    ("sqlite-event", "event store writer"),
    ("sqlite-inbox", "inbox writer"),
    ("sqlite-read", "gateway read model: writer"),
]


def flow(comm, frames):
    if not comm.startswith("tokio-rt-worker"):
        for prefix, name in THREADS:
            if comm.startswith(prefix):
                return name
        return "tantivy threads (indexing, merges, segment updater)"
    text = "\n".join(frames)
    task = re.search(r"poll_future<([^\n]*)", text)
    task = task.group(1) if task else ""
    if not task and re.search(r"axum|hyper|orderflow_http", text):
        return TASKS[0][1]  # a stack cut short inside the request path
    for marker, name in TASKS:
        if marker in task:
            return name
    return "scheduler, I/O driver, other tasks"


def main():
    shares = collections.Counter()
    comm, frames = None, []
    for line in sys.stdin:
        if line.strip() and not line.startswith("\t"):
            if comm is not None:
                shares[flow(comm, frames)] += 1
            comm, frames = line.rsplit(None, 1)[0].strip(), []
        elif line.strip():
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "?")
    if comm is not None:
        shares[flow(comm, frames)] += 1
    total = sum(shares.values())
    if not total:
        sys.exit("no samples")
    print(f"{total} samples of orderflow up")
    for name, count in shares.most_common():
        print(f"{100 * count / total:5.1f} %  {name}")


main()
