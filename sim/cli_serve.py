"""``drillsim serve``: start the app, on this computer only (default) or on the room's network.

``uv run streamlit run app.py`` binds 127.0.0.1 (``.streamlit/config.toml``): nobody else can
open it. A drill played from the players' own phones and laptops needs the app on the room's
network, and that is an explicit choice: ``drillsim serve --lan`` binds the computer's address
on the local network with XSRF protection on, and tells the pages which address the seats' join
links and QR codes must carry. A seat's page shows nothing without its one-time join code.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

from sim.cli import UsageError

APP = Path(__file__).resolve().parent.parent / "app.py"
DEFAULT_PORT = 8501
#: The environment variable the pages read for the address players' devices use.
PUBLIC_URL_ENV = "DRILLSIM_PUBLIC_URL"


def lan_address() -> str:
    """This computer's address on the local network: the source address of a route towards a
    private address (a UDP socket sends nothing), else the loopback address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def check_address(text: str) -> str:
    """An IP address to bind (v4 or v6), refused with a one-line reason otherwise."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise UsageError(f"--address: {text[:60]!r} is not an IP address") from None


def serve_command(args: argparse.Namespace) -> list[str]:
    """The streamlit command line and what it binds."""
    if not 1024 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not from 1024 to 65535")
    if args.address:
        address = check_address(args.address)
    else:
        address = lan_address() if args.lan else "127.0.0.1"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(args.port),
        "--server.enableXsrfProtection",
        "true",
        "--server.enableCORS",
        "true",
        "--server.headless",
        "true",
        "--browser.serverAddress",
        address,
        "--browser.serverPort",
        str(args.port),
    ]


def public_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def cmd_serve(args: argparse.Namespace) -> int:
    cmd = serve_command(args)
    address = cmd[cmd.index("--server.address") + 1]
    url = public_url(address, args.port)
    if args.lan and ipaddress.ip_address(address).is_loopback:
        print("no local network found: serving on this computer only", file=sys.stderr)
    print(f"drillsim on {url} — seats' links use this address", file=sys.stderr)
    if args.dry_run:
        print(" ".join(cmd[1:]))
        return 0
    env = {**os.environ, PUBLIC_URL_ENV: url}
    return subprocess.call(cmd, env=env)


def add_commands(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="start the app (this computer only; --lan: the room's network, for players' devices)",
    )
    p.add_argument(
        "--lan",
        action="store_true",
        help="bind this computer's address on the local network (XSRF on), so players' "
        "devices in the room can open their seats",
    )
    p.add_argument("--address", help="bind this IP address instead")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not start")
    p.set_defaults(func=cmd_serve)


__all__ = ["PUBLIC_URL_ENV", "add_commands", "lan_address", "public_url", "serve_command"]
