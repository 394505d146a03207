"""The one entry point: `fogbank serve | status | keys create`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import urllib.error
import urllib.request
from types import FrameType
from typing import Any

from fogbank import __version__
from fogbank.config import Config, load_config


def _serve(config: Config) -> int:
    import uvicorn

    class _Server(uvicorn.Server):
        """SIGTERM and SIGINT mean a graceful shutdown and exit status 0, not death by the signal."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    from fogbank.app import build_app

    logging.basicConfig(level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(config)
    logging.getLogger("fogbank").info("fogbank %s on %s, data in %s, auth %s", __version__, config.url,
                                      config.data_dir, config.auth)
    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, loop="uvloop", http="httptools",
                                    log_level=config.log_level, access_log=False, server_header=False,
                                    lifespan="on", timeout_graceful_shutdown=10))
    server.run()
    return 0


def _status(config: Config) -> int:
    url = f"http://{config.host}:{config.port}/_fogbank/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            health: dict[str, Any] = json.load(response)
    except (urllib.error.URLError, OSError) as exc:
        print(f"fogbank is not answering at {url}: {exc}", file=sys.stderr)
        return 1
    print(f"fogbank {health['version']} at http://{config.host}:{config.port}")
    print(f"  data dir: {health['data_dir']}")
    print(f"  auth:     {health['auth']}")
    print(f"  uptime:   {health['uptime_seconds']} s")
    print("  services:")
    for name, state in sorted(health["services"].items()):
        details = ", ".join(f"{k}={v}" for k, v in state.items() if k not in ("state", "models"))
        print(f"    {name:<20} {state.get('state', '?'):<10} {details}")
    models = health.get("models") or {}
    if models:
        print("  models:")
        for capability, model in sorted(models.items()):
            loaded = "loaded" if model.get("loaded") else "not loaded"
            memory = f", {model['memory_mb']} MB" if "memory_mb" in model else ""
            error = f", error: {model['error']}" if model.get("error") else ""
            print(f"    {capability:<20} {model.get('model', '?')} ({loaded}{memory}){error}")
    return 0


def _keys_create(config: Config, account_id: str | None) -> int:
    from fogbank.protocol.accounts import KeyStore

    try:
        access_key, secret = KeyStore(config).create_key(account_id)
    except ValueError as exc:
        print(f"fogbank keys create: {exc}", file=sys.stderr)
        return 2
    print(f"aws_access_key_id = {access_key}")
    print(f"aws_secret_access_key = {secret}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fogbank", description="AWS data and AI services, local and durable.")
    parser.add_argument("--version", action="version", version=f"fogbank {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--host", help="address to bind or reach (FOGBANK_HOST, default 127.0.0.1)")
        sub.add_argument("--port", type=int, help="port (FOGBANK_PORT, default 4566)")
        sub.add_argument("--data-dir", dest="data_dir", help="state directory (FOGBANK_DATA_DIR, default ./.fogbank)")

    serve = commands.add_parser("serve", help="start the server")
    common(serve)
    serve.add_argument("--auth", choices=["open", "strict"], help="signature checking (FOGBANK_AUTH, default open)")
    serve.add_argument("--log-level", dest="log_level", help="debug, info, warning (FOGBANK_LOG_LEVEL)")
    status = commands.add_parser("status", help="show a running server's health")
    common(status)
    keys = commands.add_parser("keys", help="manage access keys for strict mode")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create an access key and secret")
    common(create)
    create.add_argument("--account", help="12-digit account id for the key (default 000000000000)")

    args = parser.parse_args(argv)
    flags = {k: v for k, v in vars(args).items() if k in ("host", "port", "data_dir", "auth", "log_level")}
    try:
        config = load_config(flags)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "serve":
        return _serve(config)
    if args.command == "status":
        return _status(config)
    return _keys_create(config, args.account)


if __name__ == "__main__":
    sys.exit(main())
