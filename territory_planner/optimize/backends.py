"""Solver backends behind one narrow interface.

Every backend takes a :class:`MatrixModel` and :class:`SolveOptions` and returns a
:class:`BackendResult` with the best solution found, the proven bound and a status in
the planner's words. Nothing else in the package knows which solver ran.

- ``highs``: HiGHS through highspy, model passed as arrays (fast to build); Ctrl-C stops
  the search and keeps the incumbent.
- ``cbc``: COIN-OR CBC bundled with pulp; the bound is read from CBC's log.
- ``cpsat``: OR-Tools CP-SAT. It needs integer coefficients, so costs are scaled and
  rounded and the bound is corrected by the largest possible rounding error, so it stays
  a valid lower bound of the real objective. Rows with integer coefficients are exact
  (bounds rounded inwards); rows with fractional ones are rounded *conservatively* (a
  CP-SAT-feasible point is feasible for the real rows), which makes the model tighter
  than the real one: CP-SAT then proves neither optimality nor infeasibility, and its
  answer is reported as ``feasible`` (no bound) or ``no_solution``. It searches in a
  worker thread so that Ctrl-C in the main thread stops it (``StopSearch``), keeps its
  best plan and is reported as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from territory_planner.errors import SolverError
from territory_planner.optimize.exact import MatrixModel

BACKENDS = ("highs", "cbc", "cpsat")

Progress = Callable[[float, float, float], None]  # (objective, bound, seconds)


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float = 60.0
    mip_gap: float = 1e-3
    seed: int = 0
    threads: int | None = None
    warm_start: np.ndarray | None = None  # a feasible column vector, if known
    progress: Progress | None = None
    verbose: bool = False
    mip_abs_gap: float | None = None  # stop when incumbent − bound ≤ this (HiGHS only)
    highs_options: tuple[tuple[str, object], ...] = ()  # further HiGHS options (other backends ignore them)


@dataclass(frozen=True)
class BackendResult:
    status: str  # optimal | feasible | time_limit | interrupted | infeasible | no_solution | unbounded
    x: np.ndarray | None
    objective: float
    bound: float
    seconds: float
    backend: str


def stop_if_interrupted(res: BackendResult) -> None:
    """Ctrl-C stopped this solve: stop the search around it too (raise KeyboardInterrupt;
    the caller's best plan so far is kept by whoever catches it)."""
    if res.status == "interrupted":
        raise KeyboardInterrupt


def solve_model(model: MatrixModel, backend: str = "auto", options: SolveOptions | None = None) -> BackendResult:
    """Solve a MIP with the named backend (``auto`` = highs)."""
    options = options or SolveOptions()
    name = "highs" if backend == "auto" else backend
    solvers = {"highs": solve_highs, "cbc": solve_cbc, "cpsat": solve_cpsat}
    if name not in solvers:
        raise SolverError(f"unknown solver backend '{backend}'; choose one of auto, {', '.join(BACKENDS)}")
    return solvers[name](model, options)


# --------------------------------------------------------------------------- HiGHS


def _highs_lp(model: MatrixModel):
    import highspy

    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = model.n_rows
    lp.col_cost_ = np.asarray(model.c, dtype=float)
    lp.col_lower_ = np.where(np.isfinite(model.col_lo), model.col_lo, -inf)
    lp.col_upper_ = np.where(np.isfinite(model.col_hi), model.col_hi, inf)
    lp.row_lower_ = np.where(np.isfinite(model.row_lo), model.row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(model.row_hi), model.row_hi, inf)
    lp.offset_ = model.offset
    csc = model.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = model.n_rows
    return lp


def _new_highs(options: SolveOptions):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads:
        h.setOptionValue("threads", int(options.threads))
    if options.mip_abs_gap is not None:
        h.setOptionValue("mip_abs_gap", float(options.mip_abs_gap))
    for name, value in options.highs_options:
        h.setOptionValue(name, value)
    return h


def solve_highs(model: MatrixModel, options: SolveOptions) -> BackendResult:
    import highspy

    start = time.perf_counter()
    h = _new_highs(options)
    lp = _highs_lp(model)
    if model.integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous for f in model.integer]
    h.passModel(lp)
    if options.warm_start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, options.warm_start))
        sol.value_valid = True
        h.setSolution(sol)
    if options.progress is not None:
        progress = options.progress
        last = [0.0]

        def on_improve(e):
            progress(e.data_out.objective_function_value, e.data_out.mip_dual_bound, e.data_out.running_time)

        def on_tick(e):
            now = e.data_out.running_time
            if now - last[0] >= 0.5:
                last[0] = now
                progress(e.data_out.objective_function_value, e.data_out.mip_dual_bound, now)

        h.cbMipImprovingSolution.subscribe(on_improve)
        h.cbMipInterrupt.subscribe(on_tick)
    # Solve in a worker thread so Ctrl-C cancels the search and keeps the incumbent.
    h.HandleKeyboardInterrupt = True
    h.solve()
    seconds = time.perf_counter() - start
    status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_solution else None
    objective = info.objective_function_value if has_solution else math.inf
    bound = info.mip_dual_bound if model.integer.any() else objective
    if status == ms.kOptimal:
        word = "optimal"
    elif status == ms.kInfeasible:
        word = "infeasible"
    elif status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
        word = "infeasible" if status == ms.kUnboundedOrInfeasible else "unbounded"
    elif status == ms.kInterrupt:
        word = "interrupted"
    elif status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit):
        word = "time_limit"
    else:
        word = "no_solution" if not has_solution else "time_limit"
    if word in ("time_limit", "interrupted") and not has_solution:
        word = "no_solution" if word == "time_limit" else word
    if bound is None or not np.isfinite(bound) or abs(bound) >= 1e29:
        bound = -math.inf
    return BackendResult(word, x, float(objective), float(bound), seconds, "highs")


@dataclass(frozen=True)
class LpResult:
    status: str  # optimal | infeasible | no_solution
    x: np.ndarray | None
    objective: float  # the LP bound
    reduced_costs: np.ndarray | None
    seconds: float


def solve_lp_relaxation(model: MatrixModel, options: SolveOptions | None = None) -> LpResult:
    """The LP relaxation (all columns continuous) with HiGHS: bound, fractional x, reduced costs."""
    import highspy

    options = options or SolveOptions()
    start = time.perf_counter()
    h = _new_highs(options)
    h.passModel(_highs_lp(model))
    h.HandleKeyboardInterrupt = True
    h.solve()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        sol = h.getSolution()
        obj = h.getInfo().objective_function_value
        return LpResult("optimal", np.asarray(sol.col_value, float), obj, np.asarray(sol.col_dual, float), time.perf_counter() - start)
    word = "infeasible" if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible) else "no_solution"
    return LpResult(word, None, math.inf, None, time.perf_counter() - start)


# --------------------------------------------------------------------------- CBC (pulp)

_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)
_CBC_RESULT = re.compile(r"^Result - (.+)$", re.M)


@contextlib.contextmanager
def _ctrl_c_to_children(stopped: list[bool]):
    """While CBC runs as a child process, Ctrl-C is passed on to it (CBC then stops and
    writes its best plan, which pulp reads) instead of raising in Python, which would leave
    CBC running and its plan unread. ``stopped`` records that it happened.

    In a terminal CBC gets the signal from the process group too; forwarding covers a
    signal sent to this process alone. When there is no child to pass it to (pulp is still
    writing the model, or no /proc to find it), and on a second Ctrl-C, it raises as usual.
    Only the main thread may set a handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum, frame):
        children = _child_pids()
        if stopped or not children:
            stopped.append(True)
            raise KeyboardInterrupt
        stopped.append(True)
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _child_pids() -> list[int]:
    """This process's children (Linux /proc; elsewhere none, and the terminal's process
    group signal reaches CBC by itself)."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        tasks = os.listdir("/proc/self/task")
        for task in tasks:
            with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children", encoding="ascii") as fh:
                pids += [int(p) for p in fh.read().split()]
    return pids


def _bundled_cbc(**kwargs):
    import pulp

    return pulp.PULP_CBC_CMD(**kwargs)


def solve_cbc(model: MatrixModel, options: SolveOptions) -> BackendResult:
    import pulp

    start = time.perf_counter()
    prob = pulp.LpProblem("territory_plan", pulp.LpMinimize)
    cat = [pulp.LpInteger if f else pulp.LpContinuous for f in model.integer]
    xs = [
        prob.add_variable(f"x{v}", lowBound=None if not np.isfinite(model.col_lo[v]) else float(model.col_lo[v]),
                          upBound=None if not np.isfinite(model.col_hi[v]) else float(model.col_hi[v]), cat=cat[v])
        for v in range(model.n_cols)
    ]
    prob += pulp.LpAffineExpression(zip(xs, map(float, model.c), strict=True)) + model.offset
    A = model.A.tocsr()
    for r in range(model.n_rows):
        lo, hi = model.row_lo[r], model.row_hi[r]
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        vals = A.data[A.indptr[r] : A.indptr[r + 1]]
        expr = pulp.LpAffineExpression(zip((xs[c] for c in cols), map(float, vals), strict=True))
        if np.isfinite(lo) and np.isfinite(hi) and lo == hi:
            prob += expr == float(lo), f"r{r}"
            continue
        if np.isfinite(lo):
            prob += expr >= float(lo), f"r{r}_lo"
        if np.isfinite(hi):
            prob += expr <= float(hi), f"r{r}_hi"
    if options.warm_start is not None:
        for v, (var, val) in enumerate(zip(xs, options.warm_start, strict=True)):
            var.setInitialValue(round(float(val)) if model.integer[v] else float(val))
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        with warnings.catch_warnings():
            # pulp 3.3 deprecates its bundled-CBC class in favour of a separate CBC install;
            # the bundled binary is what a fresh machine has, so keep using it.
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = _bundled_cbc(
                msg=bool(options.verbose),
                timeLimit=max(1, int(math.ceil(options.time_limit))),
                gapRel=float(options.mip_gap),
                threads=options.threads,
                warmStart=options.warm_start is not None,
                logPath=log_path,
                options=[f"randomCbcSeed {int(options.seed) + 1}"],
            )
        stopped: list[bool] = []
        try:
            with _ctrl_c_to_children(stopped):
                prob.solve(solver)
        except KeyboardInterrupt:
            stopped.append(True)
        except pulp.PulpSolverError as exc:
            if not stopped:
                raise SolverError(f"CBC failed: {exc}") from None
            # Ctrl-C reached CBC before it could catch it: nothing to read back.
            return BackendResult("interrupted", None, math.inf, -math.inf, time.perf_counter() - start, "cbc")
        log = open(log_path, encoding="utf-8", errors="replace").read() if os.path.exists(log_path) else ""
    seconds = time.perf_counter() - start
    result = (_CBC_RESULT.findall(log) or [""])[-1].lower()
    values = [v.varValue for v in xs]
    has_solution = all(v is not None for v in values) and pulp.LpStatus[prob.status] in ("Optimal", "Not Solved")
    x = np.asarray([float(v) if v is not None else 0.0 for v in values]) if has_solution else None
    if "infeasible" in result or pulp.LpStatus[prob.status] == "Infeasible":
        return BackendResult("infeasible", None, math.inf, -math.inf, seconds, "cbc")
    if x is None or "no integer solution" in result or ("time" in result and not _CBC_OBJ.search(log)):
        # After Ctrl-C the callers must hear of it, plan or not, to stop their own search.
        return BackendResult("interrupted" if stopped else "no_solution", None, math.inf, -math.inf, seconds, "cbc")
    objective = float(model.c @ x + model.offset)
    bound_match = _CBC_BOUND.findall(log)
    if stopped:
        word = "interrupted"
        bound = min(float(bound_match[-1]), objective) if bound_match else -math.inf
    elif result.startswith("optimal"):
        word = "optimal"
        bound = float(bound_match[-1]) if bound_match else objective
        bound = min(bound, objective)
    else:
        word = "interrupted" if "user" in result or "ctrl" in result else "time_limit"
        bound = float(bound_match[-1]) if bound_match else -math.inf
    return BackendResult(word, x, objective, bound, seconds, "cbc")


# --------------------------------------------------------------------------- CP-SAT


def _integral(a: np.ndarray) -> bool:
    return bool(np.all(np.abs(a - np.round(a)) < 1e-9)) and bool(np.all(np.abs(a) < 2**40))


def _solve_cpsat_stoppable(solver, cp, callback) -> tuple[int, bool]:
    """``solver.Solve`` with Ctrl-C turned into ``StopSearch`` (in the main thread).

    CP-SAT releases the GIL while it searches, so it runs in a worker thread while the
    main thread waits and receives Ctrl-C. The first Ctrl-C stops the search and CP-SAT
    returns its best plan; a second one, while it winds down, raises as usual.
    Returns (CP-SAT status, whether Ctrl-C stopped it).
    """
    if threading.current_thread() is not threading.main_thread():
        return solver.Solve(cp, callback), False  # only the main thread receives Ctrl-C
    out: dict[str, object] = {}
    began, done = threading.Event(), threading.Event()

    def run():
        began.set()
        try:
            out["status"] = solver.Solve(cp, callback)
        except BaseException as e:  # re-raised in the main thread
            out["error"] = e
        finally:
            done.set()

    # An Event, not Thread.join: a join cut short by KeyboardInterrupt can leave the
    # thread marked as finished while it still runs (CPython 3.11).
    worker = threading.Thread(target=run, daemon=True)
    stopped = started = False
    while True:
        try:
            if not started:
                worker.start()
                started = True
            if done.wait(0.1):
                break
            if stopped:
                # Again at every poll: a stop that lands before CP-SAT has set up its
                # search is lost.
                solver.StopSearch()
        except KeyboardInterrupt:
            if not started:
                # Ctrl-C inside worker.start(): stop the search if the thread runs, else
                # there is nothing to stop.
                if not began.wait(1.0):
                    raise
                started = True
            solver.StopSearch()
            if stopped:
                raise
            stopped = True
    if "error" in out:
        raise out["error"]
    return out["status"], stopped


def solve_cpsat(model: MatrixModel, options: SolveOptions) -> BackendResult:
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    if not model.integer.all():
        raise SolverError("the cpsat backend needs an all-integer model; use highs or cbc for this scenario")
    cp = cp_model.CpModel()
    lo = np.where(np.isfinite(model.col_lo), model.col_lo, -(2**40)).astype(np.int64)
    hi = np.where(np.isfinite(model.col_hi), model.col_hi, 2**40).astype(np.int64)
    xs = [cp.NewBoolVar(f"x{v}") if (lo[v] == 0 and hi[v] == 1) else cp.NewIntVar(int(lo[v]), int(hi[v]), f"x{v}") for v in range(model.n_cols)]
    A = model.A.tocsr()
    restricted = False  # a row with fractional coefficients was rounded conservatively
    for r in range(model.n_rows):
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        vals = A.data[A.indptr[r] : A.indptr[r + 1]].astype(float)
        rlo, rhi = model.row_lo[r], model.row_hi[r]
        terms = [xs[c] for c in cols]
        if _integral(vals):
            # Integer coefficients: the row's value is a whole number at every integer x, so
            # rounding the bounds inwards (⌈lo⌉, ⌊hi⌋) is exact, not a restriction.
            iv = np.round(vals).astype(np.int64).tolist()
            expr = cp_model.LinearExpr.WeightedSum(terms, iv)
            ilo = int(math.ceil(rlo - 1e-9)) if np.isfinite(rlo) else None
            ihi = int(math.floor(rhi + 1e-9)) if np.isfinite(rhi) else None
            if ilo is not None and ihi is not None:
                cp.AddLinearConstraint(expr, ilo, ihi)
            elif ilo is not None:
                cp.Add(expr >= ilo)
            elif ihi is not None:
                cp.Add(expr <= ihi)
            continue
        restricted = True
        scale = 1e6 / max(float(np.abs(vals).max(initial=0.0)), 1e-12)
        # Conservative rounding: an integer point within the rounded row is within the real row.
        if np.isfinite(rhi):
            cp.Add(cp_model.LinearExpr.WeightedSum(terms, np.ceil(vals * scale - 1e-9).astype(np.int64).tolist()) <= int(math.floor(rhi * scale + 1e-9)))
        if np.isfinite(rlo):
            cp.Add(cp_model.LinearExpr.WeightedSum(terms, np.floor(vals * scale + 1e-9).astype(np.int64).tolist()) >= int(math.ceil(rlo * scale - 1e-9)))
    c = np.asarray(model.c, dtype=float)
    if _integral(c):
        obj_scale, ic = 1.0, np.round(c).astype(np.int64)
    else:
        obj_scale = 1e7 / max(float(np.abs(c).max(initial=0.0)), 1e-12)
        ic = np.round(c * obj_scale).astype(np.int64)
    rounding = np.abs(ic / obj_scale - c)
    # Largest total rounding error any feasible point can carry (x within its bounds).
    max_error = float(np.sum(rounding * np.maximum(np.abs(lo), np.abs(hi))))
    cp.Minimize(cp_model.LinearExpr.WeightedSum(xs, ic.tolist()))
    if options.warm_start is not None:
        for v, val in zip(xs, options.warm_start, strict=True):
            cp.AddHint(v, int(round(float(val))))
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = float(options.time_limit)
    p.relative_gap_limit = float(options.mip_gap)
    p.random_seed = int(options.seed)
    p.num_workers = int(options.threads or os.cpu_count() or 1)
    # Ctrl-C is ours, not CP-SAT's: it stops the search (the plan found so far is kept)
    # and we know it was Ctrl-C, not another limit, that stopped it.
    p.catch_sigint_signal = False
    p.log_search_progress = bool(options.verbose)

    class _Cb(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self):
            if options.progress is not None:
                options.progress(self.ObjectiveValue() / obj_scale, self.BestObjectiveBound() / obj_scale, self.WallTime())

    status, interrupted = _solve_cpsat_stoppable(solver, cp, _Cb())
    seconds = time.perf_counter() - start
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        x = np.asarray([solver.Value(v) for v in xs], dtype=float)
        objective = float(c @ x + model.offset)
        bound = solver.BestObjectiveBound() / obj_scale - max_error + model.offset
        # After Ctrl-C, proven or not, say so, so that the caller stops too (the bound
        # still says what was proven).
        word = "interrupted" if interrupted else "optimal" if status == cp_model.OPTIMAL else "time_limit"
        if status == cp_model.OPTIMAL and max_error == 0:
            bound = objective if abs(objective - bound) < 1e-6 else bound
        if restricted:
            # CP-SAT solved a tighter model than the real one: its optimum and bound may lie
            # above the real optimum, so it proves nothing; the plan is only feasible.
            word, bound = "interrupted" if interrupted else "feasible", -math.inf
        return BackendResult(word, x, objective, min(bound, objective), seconds, "cpsat")
    if status == cp_model.INFEASIBLE and not restricted:
        return BackendResult("infeasible", None, math.inf, -math.inf, seconds, "cpsat")
    return BackendResult("interrupted" if interrupted else "no_solution", None, math.inf, -math.inf, seconds, "cpsat")
