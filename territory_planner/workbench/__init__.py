"""The planner's workbench: edit territories on a map, rebalance around the edits, save,
compare, approve and export, in a local web app (``territory-planner serve``).

``session`` holds the working copy of a stored run (items, edits, KPIs, the figures it
proves), ``rebalance`` the stoppable re-optimisation through ``plan()``, ``cells`` the
areas the page fills, and ``app`` the HTTP layer over them; ``static/`` is the page.
"""
