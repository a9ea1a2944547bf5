"""A deterministic, realistic US demo dataset: accounts, reps and counties.

``generate_demo(seed=7, n_accounts=3000, n_reps=30)`` builds the shipped demo in
``scenarios/demo``; the benchmarks call it with up to 500,000 accounts and 500 reps.
Where the accounts are (metros, ZIP codes, counties) is in ``geography.py``, their
firmographics in ``firmographics.py``; the rest (segments, potential, workload, reps,
today's alignment) is here.

How the data is made
--------------------
* **Where accounts are.** 85% of accounts fall in metro clusters, the metro drawn in
  proportion to its population (``METROS``, about 75 metropolitan areas of the lower 48
  with rounded 2020 Census populations) and the ZIP code drawn among the ZIPs near the
  metro centre with a weight that decays with distance; 15% form a rural tail drawn
  uniformly over all ZIP codes. Each account sits at its ZIP centroid moved by a few
  hundred metres of jitter.
* **County (``unit_id``).** The 5-digit county FIPS of the ZIP centroid, found by
  point-in-polygon (one spatial join over all ZIP centroids, cached), never by name.
  ZIPs whose centroid lies in no county polygon (offshore centroids) are not used, and
  a jittered account that would leave the simplified county polygon keeps the exact
  ZIP centroid, so every account lies inside the shipped polygon of its ``unit_id``.
* **Potential and history.** Lognormal potential by segment (before the cap:
  Enterprise ~$1–5M, Mid-Market ~$130–600k, SMB ~$20–80k), compressed smoothly so
  that no account exceeds ``MAX_ACCOUNT_SHARE`` (10%) of the mean territory potential,
  the width of a ±5% balance band. With ~100 accounts per rep that cap binds on
  Enterprise (shipped demo: $0.74–1.8M). A tighter cap such as 1.5% cannot hold at
  that size: it would force every account below 1.5× the mean account. Last year's
  revenue is a noisy, segment-dependent share of potential, zero for some prospects,
  so potential is only partly visible in revenue.
* **Firmographics** (``industry``, ``employees``, ``revenue_prior_year``), for the
  lookalike potential estimate (scenario ``potential:``), drawn last from their own
  random stream ``default_rng([seed, 29])`` so every other column is the same as
  without them. The ``industry`` (ten, ``INDUSTRIES``) is drawn with segment-dependent
  shares (more Software and Financial Services among Enterprise accounts, more Retail,
  Construction and Hospitality among SMB). The head count follows from potential:
  ``employees = round(potential / (SPEND_PER_EMPLOYEE[industry] × region factor ×
  lognormal noise, sigma 0.5))``, at least 1, with $300–2,800 per employee by industry
  and a census-region factor (Northeast 1.15, West 1.10, Midwest 0.95, South 0.90), so
  log(potential) ≈ log(employees) + industry + region + noise: a model on industry,
  employees and state ranks potential well but not perfectly (shipped demo: Spearman
  0.69 between potential and employees). The year before last's revenue
  (``revenue_prior_year``) is last year's divided by a lognormal growth factor (median
  +5%, sigma 0.15), never above potential, and 0 for the 5% of customers won last year;
  of last year's non-buyers 20% are churned customers who bought a Beta(2, 6) share of
  potential the year before, the rest bought nothing.
* **Workload** (FIELD.md §2; Zoltners & Sinha, *The Complete Guide to Sales Force
  Sizing*): calls/yr × (call minutes + travel allowance) / 60 + account-management
  hours, with travel growing with the distance from the nearest metro centre. The time
  parameters are scaled by one factor so that total workload is
  ``TARGET_UTILISATION`` (82.5%) of total rep capacity, whatever the number of accounts
  and reps; at the shipped size the factor is close to 1.
* **Reps** follow demand: weighted k-means on the accounts' ZIPs (weight = workload),
  each centre snapped to a distinct nearby account ZIP. Capacity is 220 days × 8 h ×
  0.6 = 1,056 selling hours, about one rep in fifteen part-time at 0.8 FTE.
* **Today's alignment** (``current_rep_id``) is realistic but imperfect: the nearest rep
  by a distance skewed by a per-rep "pull" (so some reps are overloaded), some accounts
  with their second or third nearest rep, and a few legacy owners anywhere.

Data sources (all offline, from PyPI packages)
----------------------------------------------
* ZIP code centroids, cities and states: the ``zipcodes`` package (MIT licence).
* County and state boundaries: US Census Bureau cartographic boundary files 2016
  (``cb_2016_us_county_500k``), public domain, shipped by ``plotly-geo``. The shapefile
  carries no ``.prj``; its NAD83 coordinates are used as EPSG:4326 (they differ by
  about a metre).
* Metro populations: rounded US Census 2020 metropolitan statistical area counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd

from territory_planner.demo_data.firmographics import INDUSTRIES, draw_firmographics
from territory_planner.demo_data.geography import (
    LOWER48_BOUNDS,
    haversine_km,
    jittered_coordinates,
    lower48_counties,
    sample_zip_rows,
    zip_table,
)
from territory_planner.outputs.files import atomic_write_text

__all__ = ["INDUSTRIES", "LOWER48_BOUNDS", "DemoData", "generate_demo", "write_demo"]

SEGMENT_SHARES = {"Enterprise": 0.05, "Mid-Market": 0.25, "SMB": 0.70}
#: Lognormal potential per segment: (median $/yr, sigma of the log).
POTENTIAL_LOGNORMAL = {"Enterprise": (2_200_000, 0.40), "Mid-Market": (280_000, 0.45), "SMB": (40_000, 0.35)}
CALLS_PER_YEAR = {"Enterprise": 24, "Mid-Market": 12, "SMB": 4}
CALL_MINUTES = {"Enterprise": 60.0, "Mid-Market": 45.0, "SMB": 30.0}
ACCOUNT_MANAGEMENT_HOURS = {"Enterprise": 16.0, "Mid-Market": 4.0, "SMB": 1.0}
#: Travel allowance per call: from the urban value towards the rural one with distance.
TRAVEL_MINUTES_URBAN, TRAVEL_MINUTES_RURAL, TRAVEL_DISTANCE_SCALE_KM = 20.0, 60.0, 60.0

#: Rep selling hours: 220 days × 8 h × 0.6 selling share (FIELD.md §2).
REP_SELLING_HOURS = 220 * 8 * 0.6
PART_TIME_FTE = 0.8
TARGET_UTILISATION = 0.825
#: No account above this share of the mean territory potential (the ±5% band is 10% wide).
MAX_ACCOUNT_SHARE = 0.10
#: The cap needs enough accounts per rep to be attainable; below this it is not applied.
MIN_ACCOUNTS_PER_REP_FOR_CAP = 20
#: Spread of the per-rep factor that blurs today's borders (log scale).
CURRENT_PULL_SIGMA = 0.07

_SURNAMES = (
    "Anderson", "Baker", "Barnes", "Bennett", "Brooks", "Carter", "Castillo", "Chen", "Collins",
    "Cooper", "D'Angelo", "Delgado", "Dixon", "Ellis", "Fischer", "Foster", "Garcia", "Graham",
    "Hayes", "Hoffman", "Holt", "Hughes", "Jensen", "Kaplan", "Keller", "Kim", "Lambert",
    "Larsen", "Lopez", "Marsh", "McAllister", "Meyer", "Moreno", "Murphy", "Nguyen", "Novak",
    "O'Brien", "O'Connor", "Olsen", "Park", "Patel", "Pierce", "Porter", "Quinn", "Ramirez",
    "Reed", "Reyes", "Russo", "Schultz", "Shapiro", "Singh", "Sullivan", "Tanaka", "Thompson",
    "Torres", "Vance", "Walsh", "Warren", "Weber", "Whitaker", "Yates", "Zimmerman",
)
_FIRST_NAMES = (
    "Aaron", "Aisha", "Alex", "Amelia", "Andre", "Angela", "Ben", "Carla", "Carlos", "Chloe",
    "Daniel", "Deepa", "Diego", "Elena", "Emily", "Ethan", "Fatima", "Grace", "Hannah", "Hiro",
    "Isaac", "Jamal", "Jasmine", "Jordan", "Julia", "Kevin", "Laura", "Leo", "Lucia", "Marcus",
    "Maria", "Megan", "Mei", "Michael", "Nadia", "Nathan", "Olivia", "Omar", "Priya", "Rachel",
    "Raj", "Rosa", "Ryan", "Samuel", "Sara", "Sean", "Sofia", "Tariq", "Tyler", "Victoria",
    "Wei", "Zoe",
)
_ADJECTIVES = (
    "Acme", "Allied", "Apex", "Atlas", "Beacon", "Blue Ridge", "Bright", "Cardinal", "Cedar",
    "Central", "Coastal", "Continental", "Crescent", "Crown", "Eagle", "Evergreen", "First",
    "Frontier", "Golden", "Granite", "Great Lakes", "Harbor", "Heartland", "Heritage", "Horizon",
    "Keystone", "Liberty", "Lone Star", "Meridian", "Midwest", "Northern", "Oak", "Pacific",
    "Paragon", "Patriot", "Peak", "Pinnacle", "Pioneer", "Prairie", "Premier", "Redwood",
    "Riverside", "Sierra", "Silver", "Southern", "Sterling", "Summit", "Sunbelt", "Titan",
    "Trinity", "United", "Valley", "Vanguard", "Western",
)
_NOUNS = (
    "Analytics", "Auto Parts", "Bakery", "Builders", "Chemicals", "Construction", "Dental",
    "Distribution", "Electric", "Engineering", "Equipment", "Fabrication", "Farms", "Foods",
    "Freight", "Hardware", "Health", "Home Care", "Hospitality", "Industries", "Insurance",
    "Labs", "Logistics", "Machine Works", "Manufacturing", "Marine", "Medical", "Metals",
    "Office Supply", "Packaging", "Pharmacy", "Plastics", "Plumbing", "Printing", "Properties",
    "Realty", "Restaurants", "Robotics", "Software", "Solutions", "Steel", "Supply",
    "Systems", "Technologies", "Textiles", "Tool & Die", "Transport", "Veterinary",
)
_COMPANY_SUFFIXES = ("Inc.", "LLC", "Co.", "Corp.", "Group", "Partners", "Holdings", "& Sons", "")
_PARTNERSHIP_SUFFIXES = ("LLP", "Associates", "Co.", "")


@dataclass(frozen=True)
class DemoData:
    """The demo scenario: accounts, reps and the counties that hold accounts."""

    accounts: pd.DataFrame
    reps: pd.DataFrame
    counties: geopandas.GeoDataFrame


# --------------------------------------------------------------------------- accounts

def _company_names(rng: np.random.Generator, cities: np.ndarray) -> np.ndarray:
    """Plausible company names; some carry '&' or an apostrophe, none starts with = + - @."""
    n = cities.size

    def pick(words) -> np.ndarray:
        return np.asarray(words, dtype=object)[rng.integers(0, len(words), size=n)]

    surname_a, surname_b = pick(_SURNAMES), pick(_SURNAMES)
    adjective, noun, trade = pick(_ADJECTIVES), pick(_NOUNS), pick(_NOUNS)
    suffix, partnership = pick(_COMPANY_SUFFIXES), pick(_PARTNERSHIP_SUFFIXES)
    pattern = rng.choice(5, size=n, p=[0.12, 0.13, 0.40, 0.15, 0.20])
    candidates = (
        surname_a + " & " + surname_b + " " + partnership,
        surname_a + "'s " + trade,
        adjective + " " + noun + " " + suffix,
        cities.astype(object) + " " + noun + " " + suffix,
        surname_a + " " + noun,
    )
    names = np.choose(pattern, candidates)
    return pd.Series(names, dtype=object).str.strip().to_numpy()


def _potential(rng: np.random.Generator, segment: np.ndarray, n_reps: int) -> np.ndarray:
    """Lognormal potential by segment, compressed so no account tops MAX_ACCOUNT_SHARE.

    Above a knee at half the cap, potentials follow a smooth shoulder
    ``knee + (cap - knee) * u / (1 + u)``, ``u = (raw - knee) / (cap - knee)``, which keeps
    their order and approaches the cap without reaching it. The cap depends on the
    total, which the compression lowers, so repeat until the largest account fits.
    """
    raw = np.empty(segment.size)
    for name, (median, sigma) in POTENTIAL_LOGNORMAL.items():
        mask = segment == name
        raw[mask] = median * np.exp(rng.normal(0.0, sigma, size=int(mask.sum())))
    potential = np.round(raw)
    if segment.size < MIN_ACCOUNTS_PER_REP_FOR_CAP * n_reps:
        return potential.astype(np.int64)  # too few accounts per rep for any cap to hold
    cap = MAX_ACCOUNT_SHARE * potential.sum() / n_reps
    while potential.max() > MAX_ACCOUNT_SHARE * potential.sum() / n_reps:
        cap *= 0.99  # aim a little below the cap the compressed total allows
        knee = 0.5 * cap
        excess = np.maximum(raw - knee, 0.0) / (cap - knee)
        potential = np.round(np.where(raw > knee, knee + (cap - knee) * excess / (1.0 + excess), raw))
    return potential.astype(np.int64)


def _revenue_last_year(rng: np.random.Generator, segment: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """Last year's revenue: a Beta-distributed share of potential; some prospects buy nothing."""
    share = np.empty(segment.size)
    for name, (a, b, prospect) in {"Enterprise": (4, 6, 0.02), "Mid-Market": (3, 6, 0.08), "SMB": (2, 6, 0.15)}.items():
        mask = segment == name
        count = int(mask.sum())
        share[mask] = rng.beta(a, b, size=count) * (rng.random(count) >= prospect)
    return np.round(potential * share).astype(np.int64)


def _raw_workload_hours(segment: np.ndarray, travel_minutes: np.ndarray) -> np.ndarray:
    calls = pd.Series(segment).map(CALLS_PER_YEAR).to_numpy(float)
    call_minutes = pd.Series(segment).map(CALL_MINUTES).to_numpy(float)
    management = pd.Series(segment).map(ACCOUNT_MANAGEMENT_HOURS).to_numpy(float)
    return calls * (call_minutes + travel_minutes) / 60.0 + management


# --------------------------------------------------------------------------- reps


def _kmeans_plus_plus(rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Weighted k-means++ seeding (Arthur & Vassilvitskii 2007); (k, 2) centres."""
    n = xy.shape[0]
    centres = np.empty((k, 2))
    centres[0] = xy[rng.choice(n, p=weight / weight.sum())]
    nearest_sq = ((xy - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        score = weight * nearest_sq
        total = score.sum()
        pick = rng.choice(n, p=score / total) if total > 0 else int(rng.integers(n))
        centres[j] = xy[pick]
        nearest_sq = np.minimum(nearest_sq, ((xy - centres[j]) ** 2).sum(axis=1))
    return centres


def _pulled_nearest(distance: np.ndarray, pull: np.ndarray) -> np.ndarray:
    """Index of the nearest centre by ``distance / pull`` (a multiplicatively weighted Voronoi)."""
    return (distance / pull).argmin(axis=1)


def _balancing_pull(
    distance: np.ndarray, weight: np.ndarray, target: np.ndarray, iterations: int = 60
) -> np.ndarray:
    """Per-centre pulls that make the pulled-nearest masses roughly ``target``.

    A centre short of its target widens its reach, an overloaded one shrinks it
    (a multiplicatively weighted Voronoi diagram fitted to the masses).
    """
    pull = np.ones(distance.shape[1])
    for _ in range(iterations):
        mass = np.bincount(_pulled_nearest(distance, pull), weights=weight, minlength=pull.size)
        pull *= np.clip((target / np.maximum(mass, 1e-9 * target)) ** 0.25, 0.8, 1.25)
    return pull


def _balanced_centres(
    rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, target: np.ndarray, iterations: int = 40
) -> np.ndarray:
    """Centres that each serve about ``target`` weight: k-means with balancing pulls.

    Plain k-means under-serves dense areas (centre density grows only with the square
    root of demand density); re-fitting pulls at each Lloyd step puts reps where the
    work is. Returns (k, 2) centres.
    """
    k = target.size
    centres = _kmeans_plus_plus(rng, xy, weight, k)
    pull = np.ones(k)
    for _ in range(iterations):
        distance = np.hypot(xy[:, None, 0] - centres[None, :, 0], xy[:, None, 1] - centres[None, :, 1])
        for _ in range(5):
            label = _pulled_nearest(distance, pull)
            mass = np.bincount(label, weights=weight, minlength=k)
            pull *= np.clip((target / np.maximum(mass, 1e-9 * target)) ** 0.25, 0.8, 1.25)
        label = _pulled_nearest(distance, pull)
        mass = np.bincount(label, weights=weight, minlength=k)
        filled = mass > 0
        centres[filled, 0] = np.bincount(label, weights=weight * xy[:, 0], minlength=k)[filled] / mass[filled]
        centres[filled, 1] = np.bincount(label, weights=weight * xy[:, 1], minlength=k)[filled] / mass[filled]
    return centres


def _planar(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Equirectangular degrees at the lower 48's mid-latitude: good enough for clustering."""
    return np.column_stack([lon * np.cos(np.radians(38.0)), lat])


def _rep_homes(
    rng: np.random.Generator, zip_rows: np.ndarray, workload: np.ndarray, capacity_hours: np.ndarray
) -> np.ndarray:
    """ZIP rows of rep homes: balanced centres snapped to distinct account ZIPs.

    Each rep's centre serves workload in proportion to the rep's capacity; the home is
    the nearest account ZIP to that centre not yet taken by another rep.
    """
    zips = zip_table()
    n_reps = capacity_hours.size
    unique_rows, inverse = np.unique(zip_rows, return_inverse=True)
    weight = np.bincount(inverse, weights=workload)
    xy = _planar(zips["lat"].to_numpy()[unique_rows], zips["lon"].to_numpy()[unique_rows])
    k = min(n_reps, unique_rows.size)
    target = weight.sum() * capacity_hours[:k] / capacity_hours[:k].sum()
    centres = _balanced_centres(rng, xy, weight, target)
    homes = np.empty(n_reps, dtype=np.int64)
    taken = np.zeros(unique_rows.size, dtype=bool)
    for j in range(n_reps):
        squared = ((xy - centres[j % k]) ** 2).sum(axis=1)
        if taken.all():
            taken[:] = False
        squared[taken] = np.inf
        best = int(np.argmin(squared))
        taken[best] = True
        homes[j] = unique_rows[best]
    return homes


def _current_owner(
    rng: np.random.Generator,
    zip_rows: np.ndarray,
    workload: np.ndarray,
    rep_lat: np.ndarray,
    rep_lon: np.ndarray,
    capacity_hours: np.ndarray,
) -> np.ndarray:
    """Today's imperfect alignment: index of the owning rep per account.

    History drew the borders roughly by workload but not exactly: the balancing pulls
    are blurred by a per-rep lognormal factor (so some reps hold oversized books), then
    80% of accounts sit with their (pulled) nearest rep, 10% with the second, 6% with
    the third and 4% with a legacy owner drawn from all reps, near or far.
    """
    zips = zip_table()
    n_reps = rep_lat.size
    unique_rows, inverse = np.unique(zip_rows, return_inverse=True)
    weight = np.bincount(inverse, weights=workload)
    distance = haversine_km(
        zips["lat"].to_numpy()[unique_rows][:, None], zips["lon"].to_numpy()[unique_rows][:, None], rep_lat, rep_lon
    )
    target = weight.sum() * capacity_hours / capacity_hours.sum()
    pull = _balancing_pull(distance, weight, target) * np.exp(rng.normal(0.0, CURRENT_PULL_SIGMA, size=n_reps))
    n_ranked = min(3, n_reps)
    ranked = np.argsort(distance / pull, axis=1, kind="stable")[:, :n_ranked]
    rank = rng.choice(4, size=zip_rows.size, p=[0.80, 0.10, 0.06, 0.04])
    legacy = rng.integers(0, n_reps, size=zip_rows.size)
    owner = ranked[inverse, np.minimum(rank, n_ranked - 1)]
    return np.where(rank == 3, legacy, owner)


# --------------------------------------------------------------------------- API


def generate_demo(*, seed: int = 7, n_accounts: int = 3000, n_reps: int = 30) -> DemoData:
    """Build the demo accounts, reps and counties, deterministically from ``seed``.

    Total workload is 82.5% of total rep capacity, and no account's potential exceeds
    10% of the mean territory potential, so balanced plans within ±5% potential and
    ±10% workload, under every rep's capacity, exist.

    >>> demo = generate_demo(seed=1, n_accounts=200, n_reps=4)
    >>> len(demo.accounts), len(demo.reps), bool(demo.accounts["current_rep_id"].isin(demo.reps["rep_id"]).all())
    (200, 4, True)
    """
    if n_accounts < 1 or n_reps < 1:
        raise ValueError(f"n_accounts and n_reps must be at least 1, got {n_accounts} and {n_reps}")
    rng = np.random.default_rng(seed)
    zips = zip_table()

    zip_rows = sample_zip_rows(rng, n_accounts)
    lat, lon = jittered_coordinates(rng, zip_rows)
    city = zips["city"].to_numpy()[zip_rows]
    segment_names = np.array(list(SEGMENT_SHARES), dtype=object)
    segment = segment_names[rng.choice(len(SEGMENT_SHARES), size=n_accounts, p=list(SEGMENT_SHARES.values()))]
    names = _company_names(rng, city)
    potential = _potential(rng, segment, n_reps)
    revenue = _revenue_last_year(rng, segment, potential)

    # Reps: capacity first, because workload is calibrated to it.
    fte = np.ones(n_reps)
    n_part_time = max(1, round(n_reps / 15)) if n_reps > 1 else 0
    fte[rng.choice(n_reps, size=n_part_time, replace=False)] = PART_TIME_FTE
    capacity_hours = np.round(REP_SELLING_HOURS * fte, 1)

    metro_km = zips["metro_distance_km"].to_numpy()[zip_rows]
    travel_minutes = TRAVEL_MINUTES_RURAL - (TRAVEL_MINUTES_RURAL - TRAVEL_MINUTES_URBAN) * np.exp(
        -metro_km / TRAVEL_DISTANCE_SCALE_KM
    )
    raw_workload = _raw_workload_hours(segment, travel_minutes)
    # One factor on all time parameters hits the target utilisation at any size.
    time_scale = TARGET_UTILISATION * capacity_hours.sum() / raw_workload.sum()
    workload = np.round(raw_workload * time_scale, 1)

    home_rows = _rep_homes(rng, zip_rows, workload, capacity_hours)
    rep_lat = zips["lat"].to_numpy()[home_rows]
    rep_lon = zips["lon"].to_numpy()[home_rows]
    owner = _current_owner(rng, zip_rows, workload, rep_lat, rep_lon, capacity_hours)

    rep_width = max(3, len(str(n_reps)))
    rep_ids = np.array([f"R{i:0{rep_width}d}" for i in range(1, n_reps + 1)], dtype=object)
    account_width = max(5, len(str(n_accounts)))
    account_ids = np.array([f"A{i:0{account_width}d}" for i in range(1, n_accounts + 1)], dtype=object)

    # Firmographics last, from their own stream: no draw above depends on them.
    state = zips["state"].to_numpy()[zip_rows]
    industry, employees, revenue_prior = draw_firmographics(seed, segment, state, potential, revenue)

    accounts = pd.DataFrame(
        {
            "account_id": pd.array(account_ids, dtype="str"),
            "name": pd.array(names, dtype="str"),
            "segment": pd.array(segment, dtype="str"),
            "lat": lat,
            "lon": lon,
            "postal_code": pd.array(zips["postal_code"].to_numpy()[zip_rows], dtype="str"),
            "city": pd.array(city, dtype="str"),
            "state": pd.array(state, dtype="str"),
            "unit_id": pd.array(zips["unit_id"].to_numpy()[zip_rows], dtype="str"),
            "potential": potential,
            "revenue_last_year": revenue,
            "revenue_prior_year": revenue_prior,
            "industry": pd.array(industry, dtype="str"),
            "employees": employees,
            "calls_per_year": pd.Series(segment).map(CALLS_PER_YEAR).to_numpy(np.int64),
            "workload": workload,
            "current_rep_id": pd.array(rep_ids[owner], dtype="str"),
        }
    )

    first = np.asarray(_FIRST_NAMES, dtype=object)
    last = np.asarray(_SURNAMES, dtype=object)
    combos = len(first) * len(last)
    person = rng.choice(combos, size=n_reps, replace=n_reps > combos)
    # Quotas: a 10% growth target on last year's revenue, split by FTE.
    target = 1.10 * revenue.sum()
    quota = np.round(target * fte / fte.sum(), -3).astype(np.int64)
    reps = pd.DataFrame(
        {
            "rep_id": pd.array(rep_ids, dtype="str"),
            "name": pd.array(first[person // len(last)] + " " + last[person % len(last)], dtype="str"),
            "role": pd.array(["Account Executive"] * n_reps, dtype="str"),
            "lat": rep_lat,
            "lon": rep_lon,
            "city": pd.array(zips["city"].to_numpy()[home_rows], dtype="str"),
            "state": pd.array(zips["state"].to_numpy()[home_rows], dtype="str"),
            "capacity_hours": capacity_hours,
            "quota": quota,
            "status": pd.array(["active"] * n_reps, dtype="str"),
        }
    )

    all_counties = lower48_counties()
    keep = np.isin(all_counties["unit_id"].to_numpy(), np.unique(accounts["unit_id"].to_numpy()))
    counties = all_counties.loc[keep, ["unit_id", "name", "state", "geometry"]].reset_index(drop=True)
    counties = geopandas.GeoDataFrame(counties, geometry="geometry", crs="EPSG:4326")
    return DemoData(accounts=accounts, reps=reps, counties=counties)


def write_demo(
    out_dir, *, seed: int = 7, n_accounts: int = 3000, n_reps: int = 30, counties: bool = True
) -> dict[str, Path]:
    """Generate the demo and write accounts.csv, reps.csv (and counties.geojson).

    Returns the written paths by name (``accounts``, ``reps``, ``counties``). Each file
    is replaced atomically, so a reader never sees a half-written file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo = generate_demo(seed=seed, n_accounts=n_accounts, n_reps=n_reps)
    written = {"accounts": out / "accounts.csv", "reps": out / "reps.csv"}
    atomic_write_text(written["accounts"], demo.accounts.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(written["reps"], demo.reps.to_csv(index=False, lineterminator="\n"))
    if counties:
        written["counties"] = out / "counties.geojson"
        atomic_write_text(written["counties"], demo.counties.to_json(drop_id=True) + "\n")
    return written
