"""Benchmark readers, the cost convention of the OR-Library CPMP set, GAP through the planner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.readers import read_gap, read_pmedcap, read_pmedcap_solution

DATA = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


def test_pmedcap_reader():
    inst = read_pmedcap(DATA / "cpmp_osman" / "instances" / "pmedcap1_01.txt")
    assert (inst.n, inst.p, inst.capacity[0], inst.reference) == (50, 5, 120.0, 713.0)
    assert inst.demand.sum() == 490
    assert inst.cost.shape == (50, 50) and np.all(inst.cost == np.floor(inst.cost))


def test_floor_euclidean_reproduces_the_published_optimum():
    inst = read_pmedcap(DATA / "cpmp_osman" / "instances" / "pmedcap1_01.txt")
    a = read_pmedcap_solution(DATA / "cpmp_osman" / "solutions_albuquef" / "soluOPT.cpmp01_713.txt", inst.n, inst.p)
    assert len(np.unique(a)) == inst.p
    assert inst.cost[np.arange(inst.n), a].sum() == 713
    assert np.all(np.bincount(a, weights=inst.demand, minlength=inst.n) <= 120)


def test_gap_reader():
    problems = read_gap(DATA / "gap_orlib" / "gap1.txt")
    assert len(problems) == 5
    g = problems[0]
    assert (g.n, g.m, g.maximise, g.name) == (15, 5, True, "gap1-1")
    assert g.cost.shape == g.resource.shape == (15, 5) and g.capacity.shape == (5,)


def test_gap1_instance1_reaches_its_optimum_through_solve_problem():
    from territory_planner.optimize.problem import Band

    if "per_pair" not in Band.__dict__:
        pytest.skip("per-pair band values (GAP) are not in optimize/problem.py yet")
    from benchmarks.run import gap_problem
    from territory_planner.optimize.solve import solve_problem

    g = read_gap(DATA / "gap_orlib" / "gap1.txt")[0]
    sol = solve_problem(gap_problem(g), time_limit=30, mip_gap=1e-6)
    assert -sol.objective == 336 and sol.status == "optimal"
    load = np.zeros(g.m)
    np.add.at(load, sol.assignment, g.resource[np.arange(g.n), sol.assignment])
    assert np.all(load <= g.capacity)


def test_benchmark_run_writes_the_table(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "cpmp_osman", "--limit", "2", "--data", str(DATA),
         "--out", str(out), "--time-limit", "30"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    text = out.read_text()
    for column in ("instance", "optimum", "our bound", "gap to optimum %", "proven gap %", "ours s", "baseline", "baseline s"):
        assert column in text
    assert "pmedcap1_01" in text and "pmedcap1_02" in text and "713" in text


def test_the_scale_set_writes_its_table_with_memory_and_keeps_the_other_sets(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n## Balanced alignment: kept from an earlier run\n\n| a | b |\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "large", "--large-sizes", "400x6:20", "--data", str(DATA),
         "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    text = out.read_text()
    assert "## Balanced alignment: kept from an earlier run" in text
    row = next(line for line in text.splitlines() if line.startswith("| demo 400 × 6"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    ours, bound, gap, peak, violations = float(cells[2].replace(",", "")), float(cells[3].replace(",", "")), cells[4], cells[7], cells[8]
    assert bound <= ours and float(gap) < 5 and float(peak.replace(",", "")) > 50 and violations == "0"
    assert cells[9] != "–"  # the baseline ran at this size


def test_the_cpmp_scale_set_reads_its_folder_and_keeps_the_osman_section(tmp_path):
    # A toy instance in the Stefanello format (n p, then x y Q d), with its best known value.
    rng = np.random.default_rng(4)
    folder = tmp_path / "cpmp_stefanello"
    folder.mkdir()
    n, p = 14, 3
    xy = rng.uniform(0, 50, size=(n, 2)).round(1)
    demand = rng.integers(1, 9, size=n)
    capacity = int(np.ceil(demand.sum() / p * 1.3))
    lines = [f"{n} {p}"] + [f"{x:.1f}\t{y:.1f}\t{capacity}\t{d}" for (x, y), d in zip(xy, demand, strict=True)]
    (folder / "toy14_003.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "toy9999_003.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")  # above n ≤ 1,304 by name
    (folder / "optima.csv").write_text("instance,n,p,optimal_or_best,is_proven_optimal,source\ntoy14_003,14,3,1,no,test\n",
                                       encoding="utf-8")
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n## Capacitated p-median: OR-Library pmedcap1 kept\n\n| a | b |\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "cpmp_stefanello", "--stefanello-seconds", "10",
         "--data", str(tmp_path), "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    text = out.read_text()
    assert "## Capacitated p-median: OR-Library pmedcap1 kept" in text
    assert "toy9999_003" not in text
    row = next(line for line in text.splitlines() if line.startswith("| toy14_003"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    ours, bound, violations = float(cells[4].replace(",", "")), float(cells[6].replace(",", "")), cells[11]
    assert bound <= ours + 1e-6 and violations == "0"
    assert cells[12] != "–" and float(cells[12].replace(",", "")) >= bound - 1e-6  # the baseline ran


def test_merge_keeps_each_runs_sections(tmp_path):
    a, b, out = tmp_path / "a.md", tmp_path / "b.md", tmp_path / "BENCHMARKS.md"
    a.write_text("# Benchmarks\n\n## Scale: demo generator\n\n*This section: run 2026-01-02, load average 1.50 when "
                 "the run started.*\n\n| demo 10 × 2 | 1 |\n", encoding="utf-8")
    b.write_text("# Benchmarks\n\n## Capacitated p-median at scale: Lorena & Senne p3038\n\n| p3038_600 | 2 |\n",
                 encoding="utf-8")
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--merge", str(a), str(b), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    text = out.read_text()
    scale, lorena = text.index("## Scale"), text.index("## Capacitated p-median at scale: Lorena")
    assert "| demo 10 × 2 | 1 |" in text[scale:lorena] and "| p3038_600 | 2 |" in text[lorena:]
    assert "load average 1.50" in text[scale:lorena] and "run line" in text[:scale]
