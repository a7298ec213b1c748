"""tmb_analysis: crime-prevention analytics for Swedish municipalities; ``tmb_analysis.results(store)`` is the front door.

Data flows one way: source files -> readers (``sources``) -> validated canonical store (``store``)
-> the results table (``results``, with ``statistics``, ``benchmarks``, ``comparisons``,
``priorities``) -> figures and tables (``charts``, ``tables``, ``report``) -> notebooks -> the site
(``build``, ``site``). docs/architecture.md says which module owns what.

``tmb_analysis.results(store)`` returns the whole results table of a store (a DataFrame, one row
per area × indicator × year, codes as text); the module :mod:`tmb_analysis.results` is loaded on
first use, so ``import tmb_analysis`` stays light.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "results":  # the module, callable as the front door (see tmb_analysis.results)
        import importlib

        return importlib.import_module(f"{__name__}.results")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
