"""The solvers: a solver-neutral problem in, a :class:`~territory_planner.optimize.solution.Solution` out.

Nothing here knows a scenario, a DataFrame or a file. The contract is
``problem.py`` (the :class:`~territory_planner.optimize.problem.AssignmentProblem`: costs,
bands, pair rows, masks, locks) and ``solution.py`` (what a solve proved). The methods:

- ``solve.py``: the exact path (precheck → LP bound → rounded incumbent → fixing → MIP),
  with ``exact.py`` (the MIP in matrix form), ``heuristics.py`` (round, repair, improve),
  ``diagnose.py`` (why there is no plan) and ``backends.py`` (HiGHS, CP-SAT, CBC);
- ``contiguity.py``: contiguous territories by lazy separator cuts on the unit graph;
- ``large.py``: the large-instance path without n × k matrices, in parts
  (``large_problem``, ``large_lagrangian``, ``large_lp``, ``large_search``, ``large_aggregate``);
- ``centers.py``: the capacitated p-median of ``centers: choose``, exact
  (``centers_exact`` with ``partition`` / ``partition_lp``) or at scale (``centers_large``
  with ``centers_moves``), on the shared pieces of ``centers_base``.
"""
