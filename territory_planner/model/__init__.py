"""Scenario + validated inputs → the solver-neutral problem ``optimize/`` solves.

``build`` assembles the problem; ``constraints`` and ``hierarchy`` are its builders, one
per constraint family; ``units`` rolls accounts up into geographic units (contiguity);
``centers`` is the problem of ``territories: {centers: choose}``; ``overlays`` splits a
scenario into one problem per team. Nothing here writes outputs or runs the optimizer
(the orchestrator, :mod:`territory_planner.pipeline`, hands the problem to ``optimize/``).
"""
