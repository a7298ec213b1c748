"""The statistical methods, one module per method: intervals, trends, shrinkage, the model of variation, funnels.

The package is the only home of the statistics; every other module calls it. Its parts:

* :mod:`~tmb_analysis.statistics.intervals`: exact Poisson and Wilson intervals, rates, the
  benchmark comparison of an interval, the Dobson interval of a weighted sum of counts;
* :mod:`~tmb_analysis.statistics.trends`: the quasi-Poisson trend of a rate and the weighted trend
  of a share, for one series or thousands;
* :mod:`~tmb_analysis.statistics.shrinkage`: empirical-Bayes shrinkage (Poisson-gamma and
  normal-normal);
* :mod:`~tmb_analysis.statistics.variation`: the model of variation between years and areas
  (phi by a two-way Poisson GLM, tau2 by DerSimonian-Laird on winsorised z-scores; Spiegelhalter
  2005) that decides every comparison of the results table;
* :mod:`~tmb_analysis.statistics.funnel`: funnel limits of that model;
* :mod:`~tmb_analysis.statistics.multiplicity`: Benjamini-Hochberg over many tests;
* :mod:`~tmb_analysis.statistics.resampling`: negative-binomial redraws;
* :mod:`~tmb_analysis.statistics.detectable`: the smallest change a follow-up can show, and the
  follow-up's tests.

The functions are pure and vectorised: scalars, lists, numpy arrays or pandas Series (including
nullable ``Int64``/``Float64`` with ``pd.NA``) in, numpy arrays or pandas objects out. Invalid
input never raises and never yields ``inf``: it gives ``NaN`` (numbers) or ``'unknown'`` (labels).
The most used functions are importable from the package itself (``from tmb_analysis import
statistics as st; st.poisson_rate_ci(...)``).
"""

from ._arrays import as_float_array
from .funnel import effective_size, funnel_label, rate_limits, share_limits
from .intervals import (
    PER_100K,
    compare_to_benchmark,
    dobson_ci,
    poisson_rate_ci,
    pooled_rate,
    rate_per_100k,
    wilson_share_ci,
)
from .multiplicity import bh_adjust, bh_reject
from .resampling import nb_draw
from .shrinkage import eb_shrink, eb_shrink_grouped, eb_shrink_normal
from .trends import (
    REASON_ALL_ZERO,
    REASON_DUPLICATE_YEARS,
    REASON_FEW_YEARS,
    REASON_NO_CI,
    REASON_NO_POPULATION,
    REASON_NOT_CONVERGED,
    REASON_ONE_YEAR_EVENTS,
    TREND_COLUMNS,
    TrendResult,
    poisson_trend,
    poisson_trend_batch,
    share_trend,
    share_trend_batch,
    trend_slope_and_se,
)
from .variation import compare_z, dl_tau2, sqrt_rate, twoway_dispersion

__all__ = [
    "PER_100K",
    "REASON_ALL_ZERO",
    "REASON_DUPLICATE_YEARS",
    "REASON_FEW_YEARS",
    "REASON_NOT_CONVERGED",
    "REASON_NO_CI",
    "REASON_NO_POPULATION",
    "REASON_ONE_YEAR_EVENTS",
    "TREND_COLUMNS",
    "TrendResult",
    "as_float_array",
    "bh_adjust",
    "bh_reject",
    "compare_to_benchmark",
    "compare_z",
    "dl_tau2",
    "dobson_ci",
    "eb_shrink",
    "eb_shrink_grouped",
    "eb_shrink_normal",
    "effective_size",
    "funnel_label",
    "nb_draw",
    "poisson_rate_ci",
    "poisson_trend",
    "poisson_trend_batch",
    "pooled_rate",
    "rate_limits",
    "rate_per_100k",
    "share_limits",
    "share_trend",
    "share_trend_batch",
    "sqrt_rate",
    "trend_slope_and_se",
    "twoway_dispersion",
    "wilson_share_ci",
]
