"""The canonical store: validated parquet tables in one folder (default ``data/processed/``).

Files: ``crime.parquet``, ``survey.parquet``, ``population.parquet`` (imported SCB population
only), ``groups.parquet`` (Kolada municipality groups), ``context.parquet`` (Kolada's context
indicators, :mod:`tmb_analysis.kolada_context`) and ``sources.json`` (one provenance record
per imported file: ``file``, ``sha256``, ``publisher``, ``vintage``, ``synthetic``, ``format``,
``status`` (final/preliminary), ``published`` (a date the file states), ``retrieved_at``/``url``
(from ``tmb fetch``), ``rows`` per table, ``notes``, ``not_imported``, ``imported_at``). Every
row carries ``source_sha256``, the key of its file's record: each row keeps its source.

:func:`import_paths` is all-or-nothing: every file is read and validated first, the merged tables
are validated again, and only then are the new files written, into a temporary folder next to the
store and moved into place with ``os.replace`` (``sources.json`` last). A failing import leaves
the store byte-identical; an import that changes nothing writes nothing.

Merge rule, per key (``area_code, year, indicator``; ``area_code, year`` for population): the row
of the newest vintage wins — a file's vintage is the publication date it states, else its download
date (``tmb fetch``), else the time it was imported, so that with undated files a later import
wins (and later files of the same import count as newer) — except that a ``final`` crime row is
never replaced by a ``preliminary`` one, whatever its vintage — and that a row which only restates a
stored figure with less detail (Kolada's rates without counts, shares without an interval) does not
replace the row that has the detail (:func:`.merging._prefer_richer`). A group (``groups``) is replaced as
a whole by a newer vintage of it (Kolada re-fills group ids with new members). Every replacement
is logged in the :class:`ImportReport`. Re-importing the same file changes nothing.

Example data and real data never share a store (:class:`MixedStoreError`; ``--replace-example``
empties a store of the example data first), so that a real report never carries the example banner
or is compared with a synthetic riket. After every merge, :func:`benchmark_conflicts` checks the
published län and riket counts against the sum of their complete kommun sets and warns in the
import report.

Population: :func:`load_store` returns ``Store.population`` complete. SCB rows are used where they
exist; for every other area-year with BRÅ's ``totalt`` count and rate, the population is derived
as round(count / rate × 100 000) with source :data:`DERIVED_POPULATION_SOURCE`
(see :func:`derive_population`). The derived rows are not written to the store.

The package, one module per concern:

* :mod:`.reading`: :func:`load_store`, the :class:`Store` as read, derived population;
* :mod:`.importing`: :func:`import_paths` (read, merge, check, write; all-or-nothing), :class:`ImportReport`;
* :mod:`.merging`: the merge rule per table, and what an import changed (:class:`TableChange`);
* :mod:`.checks`: checks across the files of a store (example data never beside real data, published
  län and riket counts against the sums of their kommuner);
* :mod:`.writing`: writing the store's files in one move.
"""

from ._common import SOURCES_FILE
from .checks import MixedStoreError, benchmark_conflicts
from .importing import ImportReport, expand_paths, import_paths
from .merging import TableChange, vintage_key
from .reading import (
    DERIVED_POPULATION_SOURCE,
    STATUS_SV,
    EmptyStoreError,
    Store,
    Vintage,
    derive_population,
    load_store,
)

__all__ = [
    "DERIVED_POPULATION_SOURCE",
    "SOURCES_FILE",
    "STATUS_SV",
    "EmptyStoreError",
    "ImportReport",
    "MixedStoreError",
    "Store",
    "TableChange",
    "Vintage",
    "benchmark_conflicts",
    "derive_population",
    "expand_paths",
    "import_paths",
    "load_store",
    "vintage_key",
]
