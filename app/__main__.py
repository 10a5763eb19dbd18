"""``python -m app``: serve CLAR Studio in the browser from one process on one port (127.0.0.1 by default).

The Streamlit pages are at ``/`` and the Gradio app at ``/gradio/``. Training runs started from the app are
separate processes: stopping the app (Ctrl-C) leaves them running, and the app shows them again when restarted.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import shutil
import socket
import sys
import tempfile
from pathlib import Path

SERVER = Path(__file__).with_name("server.py")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: a TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m app`` command line."""
    p = argparse.ArgumentParser(prog="python -m app", description="Serve CLAR Studio in the browser.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--data-dir", help="folder holding the datasets (default: $CLAR_DATA_DIR, else ./data)")
    p.add_argument("--runs-db", help="run store file (default: $CLAR_RUNS_DB, else <checkpoints>/runs.sqlite)")
    p.add_argument("--checkpoint-dir", help="checkpoint root (default: $CLAR_CHECKPOINT_DIR, else ./checkpoints)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve on a non-loopback --host; every request then needs the access token printed at start "
        "(an SSH tunnel is safer: see docs/app.md)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Check the address and port, set the environment, and hand over to Streamlit's server."""
    args = build_parser().parse_args(argv)
    if not _is_loopback(args.host) and not args.allow_remote:
        print(
            f"error: --host {args.host} would serve beyond this machine; the app starts processes and reads server "
            "paths, so add --allow-remote (a token is then required), or use an SSH tunnel (docs/app.md)",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    if not _port_free(args.host, args.port):
        print(
            f"error: port {args.port} on {args.host} is in use (another CLAR Studio?); choose --port", file=sys.stderr
        )
        return 2
    uploads = tempfile.mkdtemp(prefix="clar-studio-uploads-")  # Gradio's uploads and outputs; removed at exit
    os.environ["GRADIO_TEMP_DIR"] = uploads
    env = os.environ
    env.update(
        GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false"
    )
    for flag, name in (
        ("data_dir", "CLAR_DATA_DIR"),
        ("runs_db", "CLAR_RUNS_DB"),
        ("checkpoint_dir", "CLAR_CHECKPOINT_DIR"),
    ):
        value = getattr(args, flag)
        if value:
            env[name] = str(Path(value).expanduser().resolve())
    url = f"http://{'localhost' if _is_loopback(args.host) else args.host}:{args.port}/"
    if args.allow_remote and not _is_loopback(args.host):
        env["CLAR_APP_TOKEN"] = secrets.token_urlsafe(24)
        url += f"?token={env['CLAR_APP_TOKEN']}"
    print(f"CLAR Studio: {url}  (Ctrl-C stops the app; training runs keep going)", flush=True)
    sys.argv = [
        "streamlit",
        "run",
        str(SERVER),
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        "--server.runOnSave",
        "false",
        "--client.showErrorDetails",
        "none",
    ]
    import click
    from streamlit.web import cli

    try:
        with contextlib.suppress(KeyboardInterrupt, click.exceptions.Abort):
            cli.main(standalone_mode=False)
    finally:
        shutil.rmtree(uploads, ignore_errors=True)
    print("CLAR Studio stopped. Training runs it started keep going; the app shows them again when restarted.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
