"""The ``tmb`` command line: a thin shell over the Python API.

Every command takes ``--store DIR`` (default ``data/processed/``). Errors are
printed as one line on stderr and give a non-zero exit code:
1 = a report failed (the others were published), 2 = bad input or usage,
3 = ``tmb build`` stopped before publishing (the live site is unchanged).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import DEFAULT_OUT, DEFAULT_RAW, DEFAULT_SAMPLE, DEFAULT_STORE


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error convention: one line on stderr, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog.split()[0]} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _year(text: str) -> int:
    if not text.isdigit() or len(text) != 4:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year such as 2024")
    return int(text)


def _store_folder(path: str | Path) -> Path:
    """``--store``: a folder, or a path where one can be made; never an existing file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--store {path}: is a file, not a store folder (give a folder; tmb import creates it)")
    return path


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tmb", description="tmb-analys: lägesbilder för brottsförebyggande arbete")
    p.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("sample", help="write the synthetic example dataset as files in the real source formats")
    s.add_argument("--out", default=str(DEFAULT_SAMPLE), help=f"folder to write to (default {DEFAULT_SAMPLE})")
    s.add_argument("--store", default=str(DEFAULT_STORE), help=argparse.SUPPRESS)

    i = sub.add_parser("import", help="read source files or folders, validate them and merge them into the store")
    i.add_argument("paths", nargs="+", help="files or folders")
    i.add_argument("--store", default=str(DEFAULT_STORE))
    i.add_argument(
        "--year",
        type=int,
        default=None,
        help="the year of files that name none in their content or file name (BRÅ's per-kommun CSV, SCB CSV)",
    )
    i.add_argument(
        "--replace-example",
        action="store_true",
        help="empty the store of the example data before importing real files (a store never mixes them)",
    )

    f = sub.add_parser(
        "fetch",
        help="download SCB population, Kolada KPIs and groups or BRÅ's per-kommun CSV "
        "into data/raw/ (cached, with provenance)",
    )
    fsub = f.add_subparsers(dest="source", required=True)
    for name, text in (
        ("scb-population", "SCB population (Folkmängd 31 december) for areas and years"),
        ("kolada", "Kolada KPI values (default: every KPI of a crime, NTU or context indicator)"),
        ("kolada-groups", "Kolada's municipality groups (SKR kommungrupper, Liknande kommuner)"),
        ("bra-csv", "BRÅ's yearly per-kommun CSV, given its URL (or --year for a known address)"),
    ):
        fp = fsub.add_parser(name, help=text)
        fp.add_argument("--raw", default=str(DEFAULT_RAW), help=f"download folder (cache), default {DEFAULT_RAW}")
        fp.add_argument("--refresh", action="store_true", help="download again even when the file is cached")
        fp.add_argument(
            "--import", dest="do_import", action="store_true", help="import the file into --store afterwards"
        )
        fp.add_argument("--store", default=str(DEFAULT_STORE))
        if name in ("scb-population", "kolada"):
            fp.add_argument("--years", nargs="+", required=True, help="years: 2024, 2016-2025 or a list")
            fp.add_argument(
                "--areas",
                nargs="*",
                default=["all"],
                help="SCB codes (00, 21, 2180), '21+' for a län and its kommuner, or all (default)",
            )
        if name == "kolada":
            fp.add_argument(
                "--kpi",
                nargs="*",
                default=[],
                help="Kolada KPI ids, e.g. N07540 (default: those of the crime, NTU and context indicators)",
            )
        if name == "bra-csv":
            fp.add_argument("url", nargs="?", default=None, help="the CSV's address on bra.se")
            fp.add_argument("--year", type=int, default=None, help="the year of the figures")

    fu = sub.add_parser("followup", help="the follow-up workbook a kommun's samordnare keeps (uppföljning)")
    fusub = fu.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ft = fusub.add_parser(
        "template",
        help="write the kommun's follow-up workbook (Excel), pre-filled with this "
        "year's proposals and the smallest change the statistics can detect",
    )
    ft.add_argument("--kommun", required=True, help="kommun code, e.g. 2180")
    ft.add_argument("--out", required=True, help="the .xlsx file to write, e.g. uppfoljning-2180.xlsx")
    ft.add_argument("--store", default=DEFAULT_STORE)
    ft.add_argument("--year", type=_year, default=0, help="report year (default: the latest in the store)")
    ft.add_argument("--force", action="store_true", help="replace an existing file")

    b = sub.add_parser("build", help="build the HTML reports")
    b.add_argument("--lan", nargs="*", default=[], help="län code(s), e.g. 21, or 'all'")
    b.add_argument("--kommun", nargs="*", default=[], help="kommun code(s), e.g. 2180")
    b.add_argument("--store", default=str(DEFAULT_STORE))
    b.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="output folder (default reports/): absent, empty or a site tmb built; never the store or a "
        "folder holding the working directory",
    )
    b.add_argument(
        "--force-out",
        action="store_true",
        help="publish into a folder that holds other files by first moving it aside whole (never deleted)",
    )
    b.add_argument(
        "--year",
        type=_year,
        default=0,
        help="report year: each source up to and including it (default: the latest in the store)",
    )
    b.add_argument("--workers", type=_positive_int, default=None, help="parallel notebook runs (default: one per core)")
    b.add_argument(
        "--timeout",
        type=_positive_int,
        default=600,
        help="seconds one whole report notebook may run (wall clock; default 600)",
    )
    b.add_argument("--force", action="store_true", help="rebuild every report, even those whose inputs are unchanged")
    b.add_argument(
        "--pdf", action="store_true", help="also print every report to A4 PDF beside its page (needs Debian's chromium)"
    )
    b.add_argument(
        "--hearing",
        action="store_true",
        help="also write each county's hearing pack under OUT/hearing/: a county sheet and one A4 worksheet "
        "per kommun (printed to PDF too with --pdf); needs --lan",
    )
    b.add_argument("--kernel", default="python3", help="Jupyter kernel to run the notebooks in (default python3)")
    return p


def _cmd_sample(args) -> int:
    from .sample import write_sample

    paths = write_sample(Path(args.out))
    print(f"wrote {len(paths)} file(s) of example data to {args.out}")
    return 0


def _cmd_import(args) -> int:
    from .followup_workbook import import_workbooks, is_followup_workbook
    from .store import expand_paths, import_paths

    store = _store_folder(args.store)
    files = expand_paths([Path(p) for p in args.paths])
    workbooks = [f for f in files if f.suffix.lower() == ".xlsx" and is_followup_workbook(f)]
    data = [f for f in files if f not in workbooks]
    if workbooks and not data:  # the follow-up workbooks are checked against the store's years
        print("\n".join(import_workbooks(workbooks, store)))
        return 0
    if workbooks:
        raise ValueError(
            "import follow-up workbooks (uppföljning) on their own, after the data they refer to: "
            f"{', '.join(w.name for w in workbooks[:3])}"
        )
    report = import_paths(
        data, store, year=getattr(args, "year", None), replace_example=getattr(args, "replace_example", False)
    )
    print(report if isinstance(report, str) else getattr(report, "summary", lambda: str(report))())
    return 0


def _years(specs: list[str]) -> list[int]:
    years: list[int] = []
    for spec in specs:
        for part in str(spec).replace(",", " ").split():
            lo, _, hi = part.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise ValueError(f"--years: {part!r} is not a year or a range such as 2016-2025")
            years += list(range(int(lo), int(hi or lo) + 1))
    return sorted(set(years))


def _cmd_fetch(args) -> int:
    from . import fetch

    fetcher = fetch.Fetcher(cache_dir=Path(args.raw), refresh=args.refresh)
    if args.source == "scb-population":
        got = fetch.fetch_scb_population(_years(args.years), args.areas, fetcher=fetcher)
    elif args.source == "kolada":
        got = fetch.fetch_kolada(args.kpi, _years(args.years), args.areas, fetcher=fetcher)
    elif args.source == "kolada-groups":
        got = fetch.fetch_kolada_groups(fetcher=fetcher)
    else:
        got = fetch.fetch_bra_kommun_csv(args.url, year=args.year, fetcher=fetcher)
    print(
        f"{'cached' if got.from_cache else 'downloaded'} {got.path} (sha256 {got.provenance.get('sha256', '')[:12]}…, "
        f"{got.provenance.get('retrieved_at', '')})"
    )
    for note in getattr(got, "notes", []):
        print(f"  note: {note}")
    if args.do_import:
        from .store import import_paths

        print(import_paths([got.path], _store_folder(args.store), year=getattr(args, "year", None)).summary())
    return 0


def _cmd_followup(args) -> int:
    from .followup_workbook import write_template
    from .geography import registry
    from .results import load_results

    code = registry().kommun(str(args.kommun)).code
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"--out {out}: the workbook must be an .xlsx file")
    if out.exists() and not args.force:
        raise ValueError(f"--out {out}: the file exists; give another name or --force to replace it")
    results, _ = load_results(_store_folder(args.store), args.year or None)
    path = write_template(results, code, out, report_year=args.year or None)
    print(f"wrote {path}: fill in the sheet Beslut, then `tmb import {path}`")
    return 0


def _cmd_build(args) -> int:
    """Exit 0: every report is current (or nothing changed); 1: some report failed, the others were
    published; 2: bad input, nothing written; 3: stopped before publishing, the live site is unchanged."""
    import signal

    from .build import BuildAborted, build, skip_slow_imports

    skip_slow_imports()

    if not args.lan and not args.kommun:
        raise ValueError("tmb build: give --lan CODE (or all) and/or --kommun CODE")

    def _terminate(signum, frame):  # systemd stop / kill: clean up workers and staging like Ctrl-C
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = build(
            lan=args.lan,
            kommuner=args.kommun,
            store=_store_folder(args.store),
            out=args.out,
            year=args.year,
            workers=args.workers,
            timeout=args.timeout,
            force=args.force,
            force_out=args.force_out,
            pdf=args.pdf,
            hearing=args.hearing,
            kernel_name=args.kernel,
        )
    except BuildAborted as exc:
        print(f"tmb build: aborted: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("tmb build: interrupted; nothing was published, the live site is unchanged", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)
    ok = len(result.reports) - len(result.failed)
    if not result.published and not result.failed:
        print(f"up to date: {len(result.reports)} report(s) in {result.out}, nothing changed")
    else:
        state = "published" if result.published else "unchanged"
        print(
            f"{ok} of {len(result.reports)} report(s) current, {len(result.rebuilt)} rebuilt; site {state}: "
            f"{result.out} ({result.seconds:.1f} s)"
        )
    if result.moved_aside is not None:
        print(f"the folder that was at {result.out} was moved aside whole to {result.moved_aside}")
    if result.hearing:
        print(f"hearing pack: {len(result.hearing)} file(s) in {result.out / 'hearing'}")
    if result.hearing_error:
        print(f"hearing pack: {result.hearing_error} (the HTML sheets are published)", file=sys.stderr)
    for r in result.failed:
        print(
            f"FAILED {r.page}: {r.error}" + (" (last good version kept, marked stale)" if r.status == "stale" else ""),
            file=sys.stderr,
        )
    return 1 if result.failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("papermill", "traitlets", "nbconvert", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler = {
        "sample": _cmd_sample,
        "import": _cmd_import,
        "build": _cmd_build,
        "fetch": _cmd_fetch,
        "followup": _cmd_followup,
    }[args.command]
    try:
        return handler(args)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        if args.verbose:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"tmb {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
