"""The tables' style sheet: layout, the colours of the comparisons and trends, print."""

from __future__ import annotations

from .. import formatting as F

TABLE_CSS = """
table.tmb-table { border-collapse: collapse; width: 100%; margin: 1em 0 1.5em;
  font-variant-numeric: tabular-nums; color: #1a1a1a; background: #ffffff; }
table.tmb-table caption { caption-side: top; text-align: left; font-weight: 700;
  font-size: 1.05em; padding: 0.4em 0; }
table.tmb-table th, table.tmb-table td { border-bottom: 1px solid #c8c8c8;
  padding: 0.35em 0.6em; vertical-align: top; text-align: left; }
table.tmb-table thead th { border-bottom: 2px solid #1a1a1a; font-weight: 700; }
table.tmb-table th[scope="row"] { font-weight: 400; }
table.tmb-table th[scope="rowgroup"] { background: #f2f2f2; font-weight: 700;
  border-top: 2px solid #1a1a1a; }
table.tmb-table td.num { text-align: right; white-space: nowrap; }
table.tmb-table .sub { display: block; font-size: 0.85em; color: #4d4d4d; }
table.tmb-table .unit { font-size: 0.85em; color: #4d4d4d; }
table.tmb-table .sym { display: inline-block; min-width: 1.2em; font-weight: 700; }
table.tmb-table tbody.benchmarks th, table.tmb-table tbody.benchmarks td {
  font-style: italic; }
table.tmb-table tr.highlight th, table.tmb-table tr.highlight td { font-weight: 700;
  outline: 2px solid #1a1a1a; outline-offset: -2px; }
table.tmb-table tfoot td { font-size: 0.85em; color: #4d4d4d; border-bottom: none; }
.cmp-higher-bad, .cmp-lower-bad, .trend-increasing-bad, .trend-decreasing-bad {
  background: @bad_bg@; color: @bad_fg@; border-left: 4px solid @bad_line@; }
.cmp-higher-good, .cmp-lower-good, .trend-increasing-good, .trend-decreasing-good {
  background: @good_bg@; color: @good_fg@; border-left: 4px solid @good_line@; }
.cmp-similar, .trend-no_clear_trend { background: @similar_bg@; color: @similar_fg@;
  border-left: 4px solid @similar_line@; }
.cmp-unknown, .trend-unknown, .cmp-na { background: @unknown_bg@; color: @unknown_fg@;
  border-left: 4px dashed @unknown_line@; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media print {
  table.tmb-table { font-size: 9pt; page-break-inside: auto; }
  table.tmb-table tr { page-break-inside: avoid; }
  table.tmb-table thead { display: table-header-group; }
  table.tmb-table, table.tmb-table * { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
}
""".strip()
for _sig in F.SIGNALS:
    TABLE_CSS = (
        TABLE_CSS.replace(f"@{_sig}_bg@", F.SIGNAL_BACKGROUNDS[_sig])
        .replace(f"@{_sig}_fg@", F.SIGNAL_TEXT_COLOURS[_sig])
        .replace(f"@{_sig}_line@", F.SIGNAL_COLOURS[_sig])
    )
del _sig


#: The compact county matrix (:func:`lan_matrix_html`) writes the value, then the comparison with riket
#: as a real symbol and word ("412 ▲ högre"), so that a table pasted into Word or Excel keeps them.
MATRIX_CSS = (
    "table.lan-matrix .cmp-word { font-size: 0.85em; }"
    + """
table.lan-matrix th[scope="col"] { font-size: 0.85em; font-weight: 700; vertical-align: bottom; }
table.lan-matrix tbody td { text-align: right; white-space: nowrap; }
table.lan-matrix th[scope="col"]:not(:first-child) { text-align: right; }
.table-scroll { overflow-x: auto; }
@media print { .table-scroll { overflow: visible; } table.lan-matrix { font-size: 8pt; } }"""
)
TABLE_CSS += "\n" + MATRIX_CSS
