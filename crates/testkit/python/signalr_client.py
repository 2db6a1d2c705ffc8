"""Drives the pysignalr client (PyPI) against the orderflow push hub.

    .venv/bin/python signalr_client.py <hubUrl> <token> [result|no-result]

Speaks the same line protocol as ../signalr-client/client.mjs, so the Rust tests drive both
alike: every event is one JSON line on stdout ({"event": ...}: connected, push, closed,
start-failed, stopped); the client's own log goes to stderr. The PushUpdate handler returns a
result (a client result, as a completion), except in mode no-result. A line "stop" on stdin
(or the end of stdin) stops the client and exits 0; a failed start exits 2; a safety timer
(SIGNALR_CLIENT_MAX_SECONDS, default 120) exits 3 so that no test leaves this process behind.

pysignalr negotiates without `negotiateVersion`, so the hub answers version 0 and the socket
presents the connection id. The token goes in the Authorization header, on the negotiation and
on the WebSocket upgrade, passed as a header: pysignalr 1.3.3 reads `access_token_factory` only
after the upgrade (for reconnects), too late for a hub that checks the token before it.
"""

import asyncio
import json
import logging
import os
import sys
import threading

from pysignalr.client import SignalRClient
from pysignalr.exceptions import AuthorizationError


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


async def main(hub_url, token, mode):
    client = SignalRClient(
        hub_url,
        headers={"Authorization": f"Bearer {token}"} if token else None,
        retry_count=1,
    )
    opened = asyncio.Event()

    async def on_push(arguments):
        update = arguments[0]
        emit("push", update=update)
        if mode == "no-result":
            return None
        return {"received": update["messageId"], "by": "python"}

    async def on_open():
        opened.set()
        emit("connected")

    async def on_close():
        emit("closed")

    client.on("PushUpdate", on_push)
    client.on_open(on_open)
    client.on_close(on_close)
    running = asyncio.create_task(client.run())
    stop_asked = asyncio.create_task(stop_requested())
    done, _ = await asyncio.wait({running, stop_asked}, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        error = running.exception()
        if not opened.is_set():
            status = "401" if isinstance(error, AuthorizationError) else ""
            emit("start-failed", message=f"{status} {error!r}".strip())
            return 2
        emit("closed", error=repr(error))
        return 1
    running.cancel()
    try:
        await running
    except (asyncio.CancelledError, Exception):
        pass
    emit("stopped")
    return 0


async def stop_requested():
    """Completes on a line "stop" or the end of stdin, read by a daemon thread (so that a
    blocked read never keeps the process alive)."""
    loop = asyncio.get_running_loop()
    asked = asyncio.Event()

    def read():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        loop.call_soon_threadsafe(asked.set)

    threading.Thread(target=read, daemon=True).start()
    await asked.wait()


def give_up():
    emit("gave-up")
    os._exit(3)


if __name__ == "__main__":
    modes = ("result", "no-result")
    if len(sys.argv) < 3 or (len(sys.argv) > 3 and sys.argv[3] not in modes):
        sys.stderr.write(f"usage: signalr_client.py <hubUrl> <token> [{'|'.join(modes)}]\n")
        sys.exit(64)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    url, token = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "result"

    async def guarded():
        asyncio.get_running_loop().call_later(
            float(os.environ.get("SIGNALR_CLIENT_MAX_SECONDS", "120")), give_up
        )
        return await main(url, token, mode)

    code = asyncio.run(guarded())
    sys.stdout.flush()
    os._exit(code)
