"""Running an ASGI app on uvicorn the way ``lms serve`` does.

One place, so the load benchmark's anchor server runs exactly like ours.
Several workers share one listening socket; uvicorn leaves ``TCP_NODELAY``
off on connections accepted that way (Kludex/uvicorn#3149), so every
keep-alive request after the first waited about 40 ms for a delayed ACK.
Accepted sockets inherit the option from the listening socket on Linux, so
it is set there.

    python -m lms_core.http.serving MODULE:FACTORY --workers 2 --port 8000

runs an app factory that way (the benchmark's anchor uses it).

Idle keep-alive connections are kept :data:`KEEP_ALIVE_SECONDS`, longer
than a client or proxy keeps them (nginx 60 s, httpx 5 s): with uvicorn's
default of 5 s a client could send a request on a connection at the moment
the server closed it, and lose it (``ReadError``; seen in the load benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

KEEP_ALIVE_SECONDS = 75
"""Seconds an idle HTTP connection stays open: above nginx's 60 s upstream default,
so the client side always closes first."""


def run(config: uvicorn.Config) -> bool:
    """Serve until stopped; False if the server could not start (uvicorn logged why)."""
    if config.workers <= 1:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        return server.started
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", help="MODULE:FACTORY (an app factory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    config = uvicorn.Config(
        args.app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    if not run(config):
        raise SystemExit(3)


if __name__ == "__main__":
    main()
