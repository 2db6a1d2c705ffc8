"""Drives the signalrcore client (PyPI) against the orderflow push hub.

    .venv/bin/python signalrcore_client.py <hubUrl> <token>

Speaks the same line protocol as signalr_client.py and ../signalr-client/client.mjs: every
event is one JSON line on stdout ({"event": ...}: connected, push, closed, start-failed,
stopped); the client's own log goes to stderr. signalrcore 1.0.2 has no client results: it
calls the PushUpdate handler and never answers the invocation with a completion, which is
what the hub's isolation tests need from it. A line "stop" on stdin (or the end of stdin)
stops the client and exits 0; a failed start exits 2; a safety timer
(SIGNALR_CLIENT_MAX_SECONDS, default 120) exits 3 so that no test leaves this process behind.
The token goes through `access_token_factory` (a bearer header on negotiate and upgrade).
"""

import json
import logging
import os
import sys
import threading

from signalrcore.hub_connection_builder import HubConnectionBuilder


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main(hub_url, token):
    options = {"access_token_factory": (lambda: token)} if token else {}
    connection = (
        HubConnectionBuilder()
        .with_url(hub_url, options=options)
        .configure_logging(logging.INFO)
        .build()
    )
    opened = threading.Event()

    def on_push(arguments):
        emit("push", update=arguments[0])

    def on_open():
        opened.set()
        emit("connected")

    connection.on("PushUpdate", on_push)
    connection.on_open(on_open)
    connection.on_close(lambda: emit("closed"))
    try:
        connection.start()
    except Exception as error:  # the start's own failure, e.g. a 401 on negotiate
        emit("start-failed", message=repr(error))
        return 2
    if not opened.wait(30):
        emit("start-failed", message="no open within 30 s")
        return 2
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    connection.stop()
    emit("stopped")
    return 0


def give_up():
    emit("gave-up")
    os._exit(3)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.stderr.write("usage: signalrcore_client.py <hubUrl> <token>\n")
        sys.exit(64)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    timer = threading.Timer(float(os.environ.get("SIGNALR_CLIENT_MAX_SECONDS", "120")), give_up)
    timer.daemon = True
    timer.start()
    code = main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    os._exit(code)
