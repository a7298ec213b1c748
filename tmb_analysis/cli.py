"""The ``tmb`` command line: a thin shell over the Python API.

Every command takes ``--store DIR`` (default ``data/processed/``). Errors are
printed as one line on stderr and give a non-zero exit code:
1 = a report failed (the others were published), 2 = bad input or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

DEFAULT_STORE = "data/processed"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tmb", description="tmb-analys: lägesbilder för brottsförebyggande arbete")
    p.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="write the synthetic example dataset as files in the real source formats")
    s.add_argument("--out", default="data/sample", help="folder to write to (default data/sample)")
    s.add_argument("--store", default=DEFAULT_STORE, help=argparse.SUPPRESS)

    i = sub.add_parser("import", help="read source files or folders, validate them and merge them into the store")
    i.add_argument("paths", nargs="+", help="files or folders")
    i.add_argument("--store", default=DEFAULT_STORE)

    b = sub.add_parser("build", help="build the HTML reports")
    b.add_argument("--lan", nargs="*", default=[], help="län code(s), e.g. 21, or 'all'")
    b.add_argument("--kommun", nargs="*", default=[], help="kommun code(s), e.g. 2180")
    b.add_argument("--store", default=DEFAULT_STORE)
    b.add_argument("--out", default="reports", help="output folder (default reports/)")
    b.add_argument("--year", type=int, default=0, help="report year (default: the latest in the store)")
    b.add_argument("--workers", type=int, default=None, help="parallel notebook runs (default: one per core)")
    b.add_argument("--timeout", type=int, default=600, help="seconds a single notebook cell may run")
    return p


def _cmd_sample(args) -> int:
    from .sample import write_sample

    paths = write_sample(Path(args.out))
    print(f"wrote {len(paths)} file(s) of example data to {args.out}")
    return 0


def _cmd_import(args) -> int:
    from .store import import_paths

    report = import_paths([Path(p) for p in args.paths], Path(args.store))
    print(report if isinstance(report, str) else getattr(report, "summary", lambda: str(report))())
    return 0


def _cmd_build(args) -> int:
    from .build import build

    if not args.lan and not args.kommun:
        raise ValueError("tmb build: give --lan CODE (or all) and/or --kommun CODE")
    result = build(lan=args.lan, kommuner=args.kommun, store=args.store, out=args.out, year=args.year,
                   workers=args.workers, timeout=args.timeout)
    ok = len(result.reports) - len(result.failed)
    print(f"built {ok} of {len(result.reports)} report(s) into {result.out}")
    for r in result.failed:
        print(f"FAILED {r.page}: {r.error}", file=sys.stderr)
    return 1 if result.failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("papermill", "traitlets", "nbconvert", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler = {"sample": _cmd_sample, "import": _cmd_import, "build": _cmd_build}[args.command]
    try:
        return handler(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
        if args.verbose:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"tmb {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
