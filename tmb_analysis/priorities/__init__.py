"""Harm weights, the harm-weighted index and the transparent priority score.

Configuration (YAML, never edited into code for a run):

* ``config/harm_weights.yaml``: a harm weight per indicator, with the reasoning behind each
  default, and the indicators of the harm-weighted index;
* ``config/priorities.yaml``: the weights of the priority score and the confidence rule;
* ``config/related_indicators.yaml``: the NTU indicators ("concern") related to each crime
  indicator;
* ``config/analysis.yaml``: the statistical settings of the results table (read by
  :mod:`tmb_analysis.results`).

The score, per area and indicator of the report's round (docs/metod.md, "Prioriteringar")::

    score = harm_weight ^ harm_power x (level + trend + funnel + magnitude + concern)

An indicator is *eligible* only with evidence that survives the model of
:mod:`tmb_analysis.statistics.variation` and the multiplicity of its area's tests: worse than a benchmark
(the rest of the län, riket this year or the last three years pooled, SKR kommungrupp, liknande
kommuner) or a worse trend, at the 95 % level and after the Benjamini-Hochberg procedure over all
the tests of the area's round. The three highest-scoring eligible indicators of each area get
``priority_rank`` 1-3 with a Swedish evidence text, ``priority_stability`` (the share of parametric
redraws in which the indicator stays in the top three) and a confidence (``stark`` / ``måttlig`` /
``svag``). Fewer than three, or none, is a valid answer.

The package, one module per concern:

* :mod:`.settings`: the YAML settings (analysis, priority weights, harm weights, related NTU indicators);
* :mod:`.evidence`: the tests an indicator's evidence rests on and the related NTU concern;
* :mod:`.score`: :func:`add_priorities`, the score, eligibility, ranks and confidence;
* :mod:`.stability`: the parametric redraws behind ``priority_stability``;
* :mod:`.texts`: the Swedish evidence text;
* :mod:`.index`: the harm-weighted index;
* :mod:`.selection`: what the reports take from the ranked table (one area's priorities, its watch list,
  a county's shared challenges).
"""

from .index import harm_index
from .score import CONFIDENCE_LEVELS, add_priorities
from .selection import priorities_for, shared_challenges, watch_list
from .settings import (
    _index_indicators,  # noqa: F401 - tests/test_report.py reads the index's indicators from here
    analysis_config,
    analysis_settings,
    harm_weights,
    load_config,
    priority_config,
    related_indicators,
)
from .stability import stability_text

__all__ = [
    "CONFIDENCE_LEVELS",
    "load_config",
    "analysis_config",
    "analysis_settings",
    "harm_weights",
    "priority_config",
    "related_indicators",
    "add_priorities",
    "priorities_for",
    "harm_index",
    "stability_text",
    "watch_list",
    "shared_challenges",
]
