"""``toolrank mcp proxy|serve``: flags and entry points (argparse only at import, so ``toolrank --help`` stays cheap)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

if sys.version_info < (3, 11):  # anyio's dependency brings the backport
    from exceptiongroup import BaseExceptionGroup

EngineFlags = Callable[[argparse.ArgumentParser], None]

DEFAULT_CALL_TIMEOUT_S = 120.0  # a hung upstream tool must not hold the agent (and a proxy task) forever


def add_arguments(parser: argparse.ArgumentParser, engine_flags: EngineFlags) -> None:
    sub = parser.add_subparsers(dest="mcp_command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio",
                        help="how the client connects (default stdio)")
    common.add_argument("--host", default="127.0.0.1", help="streamable-http: address to bind (default 127.0.0.1)")
    common.add_argument("--port", type=int, default=8000,
                        help="streamable-http: port (default 8000; 0 = any free port, printed on stderr)")
    common.add_argument("--auth-token", metavar="TOKEN",
                        help="streamable-http: bearer token every request must carry, else 401 (also "
                             "TOOLRANK_MCP_TOKEN; default: none, accepted only on a loopback --host)")
    common.add_argument("--log-level", default="warning", help="log level on stderr (default warning)")

    p = sub.add_parser("proxy", parents=[common],
                       help="upstream MCP servers behind two tools: search_tools and call_tool")
    p.add_argument("--upstream", action="append", default=[], metavar="NAME=COMMAND",
                   help="an upstream started over stdio, e.g. fs='npx -y @modelcontextprotocol/server-filesystem /tmp' "
                        "(repeatable; default: none)")
    p.add_argument("--upstream-url", action="append", default=[], metavar="NAME=URL",
                   help="an upstream reached over streamable HTTP, e.g. docs=http://127.0.0.1:9000/mcp (repeatable; default: none)")
    p.add_argument("--expose-found", type=int, nargs="?", const=20, default=0, metavar="N",
                   help="also list the tools search_tools found, at most N (default 20), least recently found "
                        "dropped first; the client is told with notifications/tools/list_changed")
    p.add_argument("--catalog", default="mcp", help="catalog name for the upstream tools (default mcp)")
    p.add_argument("--no-learn", action="store_true",
                   help="do not record a search followed by a successful call of a found tool as feedback "
                        "(default: record it; see docs/learning.md)")
    p.add_argument("--store", help="catalog store URL (default memory://; a sqlite:// store keeps embeddings "
                                   "across restarts)")
    p.add_argument("--max-restarts", type=int, default=5,
                   help="restarts in a row of a dead or unstartable upstream before giving up (default 5)")
    p.add_argument("--restart-backoff-s", type=float, default=1.0,
                   help="first wait before a restart, doubled each time up to 30 s (default 1)")
    p.add_argument("--connect-timeout-s", type=float, default=30.0,
                   help="limit for an upstream to start and list its tools (default 30)")
    p.add_argument("--startup-wait-s", type=float, default=60.0,
                   help="how long a search or call waits for upstreams still starting and being indexed (default 60)")
    p.add_argument("--call-timeout-s", type=_seconds, default=DEFAULT_CALL_TIMEOUT_S,
                   help=f"limit for one forwarded tool call, then it is cancelled (default {DEFAULT_CALL_TIMEOUT_S:g}; "
                        "0 = none)")
    p.add_argument("--failed-retry-s", type=_positive_seconds, default=300.0,
                   help="how often an upstream given up on after --max-restarts is tried again (default 300)")
    p.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                   help="an environment variable stdio upstreams also get (repeatable; default: only the MCP SDK's "
                        "safe set: HOME, LOGNAME, PATH, SHELL, TERM, USER)")
    engine_flags(p)

    s = sub.add_parser("serve", parents=[common], help="search_tools over an existing catalog (no upstreams)")
    s.add_argument("--catalog", required=True, help="the catalog to search (filled by `toolrank catalog put`)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--store", help="open this store in process (default: the one `toolrank catalog` uses)")
    where.add_argument("--address", help="ask a running `toolrank serve` at HOST:PORT instead (default: open the store in process)")
    s.add_argument("--token", help="bearer token for --address (also TOOLRANK_TOKEN; default: none)")
    engine_flags(s)


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _logging(level: str) -> None:
    # stdout is the MCP channel on stdio: everything human goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("toolrank.mcp").setLevel(min(logging.INFO, logging.getLogger().level))
    from toolrank.redact import redact_logs

    redact_logs()  # no store password or token in any log line


def cmd_mcp(args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Any]) -> int:
    """Run ``mcp proxy`` or ``mcp serve``; one ``toolrank mcp: error: ...`` line and exit 1 on a setup failure."""
    import anyio

    from toolrank.errors import ToolrankError

    _logging(args.log_level)
    try:
        if args.mcp_command == "proxy":
            runner = _proxy(args, settings_of)
        else:
            runner = _serve(args, settings_of)
        anyio.run(runner)
    except BaseException as exc:
        leaf = exc
        while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
            leaf = leaf.exceptions[0]
        if isinstance(leaf, KeyboardInterrupt):
            return 0
        if not isinstance(leaf, (ValueError, ToolrankError, OSError)):
            raise
        print(f"toolrank mcp: error: {' '.join(str(leaf).split())}", file=sys.stderr)
        return 1
    return 0


def _proxy(args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Any]) -> Callable[[], Any]:
    from dataclasses import replace

    from toolrank.mcp.proxy import ProxyOptions, run_proxy, upstream_specs
    from toolrank.mcp.security import check_env_names
    from toolrank.mcp.upstream import RestartPolicy

    specs = upstream_specs(args.upstream, args.upstream_url)
    if not specs:
        raise ValueError("give at least one --upstream NAME=COMMAND or --upstream-url NAME=URL")
    pass_env = check_env_names(args.pass_env)
    missing = [name for name in pass_env if name not in os.environ]
    if missing:
        logging.getLogger("toolrank.mcp").warning("--pass-env: not set here, not passed: %s", ", ".join(missing))
    token = _auth_token(args)
    store = args.store or "memory://"
    settings = replace(settings_of(args), store=store)
    options = ProxyOptions(
        upstreams=specs, catalog=args.catalog, store=store, transport=args.transport, host=args.host,
        auth_token=token, pass_env=pass_env, port=args.port, expose_found=max(args.expose_found or 0, 0),
        policy=RestartPolicy(failed_retry_s=args.failed_retry_s, max_restarts=max(args.max_restarts, 0),
                             backoff_s=max(args.restart_backoff_s, 0.0),
                             connect_timeout_s=args.connect_timeout_s),
        call_timeout_s=args.call_timeout_s or None, ready_timeout_s=max(args.startup_wait_s, 0.0),
        learn=not args.no_learn)
    return lambda: run_proxy(settings, options)


def _serve(args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Any]) -> Callable[[], Any]:
    from toolrank.mcp.catalog_search import run_catalog_server

    auth_token = _auth_token(args)
    settings = settings_of(args)
    token = args.token or os.environ.get("TOOLRANK_TOKEN") or None
    return lambda: run_catalog_server(settings, args.catalog, address=args.address, token=token,
                                      transport=args.transport, host=args.host, port=args.port, auth_token=auth_token)


def _auth_token(args: argparse.Namespace) -> str | None:
    """The HTTP endpoint's bearer token (flag, then TOOLRANK_MCP_TOKEN); refuses a bare non-loopback bind early."""
    from toolrank.mcp.security import TOKEN_VARIABLE, require_token_off_loopback

    token = (args.auth_token or os.environ.get(TOKEN_VARIABLE) or "").strip() or None
    if args.transport == "streamable-http":
        require_token_off_loopback(args.host, token)
    elif args.auth_token:
        logging.getLogger("toolrank.mcp").warning("--auth-token applies to --transport streamable-http only; "
                                                  "over stdio the client is the parent process")
    return token
