"""tmb_analysis: crime-prevention analytics for Swedish municipalities.

Data flows one way: source files -> readers (``sources``) -> validated canonical
store (``store``) -> analysis (``statistics``, ``indicators``) -> figures
(``charts``) -> notebooks -> HTML (``build``).
"""

__version__ = "0.1.0"
