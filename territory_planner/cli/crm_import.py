"""``territory-planner import salesforce|hubspot|dynamics``: today's alignment from the CRM's exports.

Each command reads the CRM's own export files and writes, into ``--out``, the planner's
``accounts.csv`` and ``reps.csv`` (with the CRM's ids), a starter ``scenario.yaml`` and
``IMPORT_REPORT.md``. ``import samples`` regenerates the synthetic sample exports of
``scenarios/crm_sample/`` from the demo data.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from territory_planner.cli.common import app, console, fail
from territory_planner.errors import PlannerError

import_app = typer.Typer(
    no_args_is_help=True,
    help="Read today's alignment from a CRM's export files into accounts.csv, reps.csv and a starter scenario.\n\n"
         "Example: territory-planner import salesforce --accounts Account.csv --users User.csv --out out/crm",
)
app.add_typer(import_app, name="import")

OUT = typer.Option(..., "--out", "-o", help="new folder for accounts.csv, reps.csv, scenario.yaml, IMPORT_REPORT.md")
POTENTIAL = typer.Option(None, "--potential", help="numeric accounts field to use as potential "
                         "(default: the CRM's annual revenue)")
WORKLOAD_HOURS = typer.Option(10.0, "--workload-hours", min=0, help="hours per year per account: a placeholder "
                              "the starter scenario asks you to replace")
WORKLOAD = typer.Option(None, "--workload", help="numeric accounts field of hours per year (blank cells: "
                        "--workload-hours)")
SEGMENT = typer.Option(None, "--segment", help="accounts field to use as segment (e.g. Industry)")
KEEP = typer.Option(None, "--keep", help="also copy this accounts field into accounts.csv, e.g. to balance on it "
                    "(repeat for more)")
CAPACITY_HOURS = typer.Option(1056.0, "--capacity-hours", min=1, help="selling hours per rep per year "
                              "(default 220 days x 8 h x 0.6)")
SKIP_UNPLACED = typer.Option(False, "--skip-unplaced", help="leave out accounts without coordinates, known ZIP "
                             "or city + state (listed in IMPORT_REPORT.md) instead of stopping")
ALL_USERS = typer.Option(False, "--all-users", help="every active user becomes a rep, not only those who own "
                         "accounts today")


def _options(potential, workload_hours, workload, segment, keep, capacity_hours, skip_unplaced, all_users, **more):
    from territory_planner.crm.importing import ImportOptions

    return ImportOptions(potential=potential, workload_hours=workload_hours, workload=workload, segment=segment,
                         keep=tuple(keep or ()), capacity_hours=capacity_hours, skip_unplaced=skip_unplaced,
                         all_users=all_users, **more)


def _run(out: Path, read) -> None:
    """Check --out, read the exports, write the folder, print what was imported."""
    from territory_planner.crm.importing import write_import
    from territory_planner.outputs.files import check_output_folder

    try:
        check_output_folder(out)  # before reading, not after
        imported = read()
        written = write_import(imported, out)
    except PlannerError as exc:
        fail(exc)
    facts = imported.facts
    table = Table(title=f"Imported from {imported.crm}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    sources = ", ".join(f"{k} {v:,}" for k, v in facts["account_sources"].items())
    table.add_row("accounts", f"{facts['accounts']:,} of {facts['accounts_read']:,} (placed by: {sources})")
    if facts["skipped"]:
        table.add_row("left out", f"{len(facts['skipped']):,} accounts that cannot be placed (see IMPORT_REPORT.md)")
    status = imported.reps["status"].value_counts()
    table.add_row("reps", f"{facts['reps']:,} ({', '.join(f'{k} {v}' for k, v in status.items())}); "
                          f"{len(facts['left_out']):,} users own no account and were left out")
    table.add_row("potential", f"{escape(str(facts['potential_field']))}: {imported.accounts['potential'].sum():,.0f}")
    console.print(table)
    console.print("[bold]Review before planning[/] (also in scenario.yaml and IMPORT_REPORT.md):")
    for number, point in enumerate(facts["review"], start=1):
        console.print(f"  {number}. {escape(point)}", highlight=False)
    console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False)
    console.print(f"Next: territory-planner plan {escape(str(out / 'scenario.yaml'))} --out <plan folder>",
                  highlight=False)


@import_app.command("salesforce")
def salesforce_command(
    accounts: Path = typer.Option(..., "--accounts", help="Account export (Data Loader CSV or Excel): Id, Name, "
                                  "Billing address, BillingLatitude/Longitude, AnnualRevenue, OwnerId"),
    users: Path = typer.Option(..., "--users", help="User export: Id, Name, Email, City, State, PostalCode, IsActive"),
    territories: Path | None = typer.Option(None, "--territories", help="Territory2 export (Id, Name, "
                                            "DeveloperName): align by territory instead of OwnerId"),
    account_territories: Path | None = typer.Option(None, "--account-territories", help="ObjectTerritory2Association "
                                                    "export (Id, ObjectId, Territory2Id)"),
    user_territories: Path | None = typer.Option(None, "--user-territories", help="UserTerritory2Association export "
                                                 "(UserId, Territory2Id, RoleInTerritory2, IsActive)"),
    territory_role: str = typer.Option("Owner", "--territory-role", help="the RoleInTerritory2 of a territory's rep "
                                       "when a territory has several users"),
    out: Path = OUT, potential: str | None = POTENTIAL, workload_hours: float = WORKLOAD_HOURS,
    workload: str | None = WORKLOAD, segment: str | None = SEGMENT, keep: list[str] | None = KEEP,
    capacity_hours: float = CAPACITY_HOURS, skip_unplaced: bool = SKIP_UNPLACED, all_users: bool = ALL_USERS,
) -> None:
    """Import Salesforce: accounts and their owners, or (with the three territory exports) their territories' users.

    Example: territory-planner import salesforce --accounts scenarios/crm_sample/salesforce/Account.csv
    --users scenarios/crm_sample/salesforce/User.csv --segment Segment__c --out out/crm
    """
    from territory_planner.crm.salesforce_import import import_salesforce

    options = _options(potential, workload_hours, workload, segment, keep, capacity_hours, skip_unplaced, all_users,
                       territory_role=territory_role)
    _run(out, lambda: import_salesforce(accounts, users, territories=territories,
                                        account_territories=account_territories,
                                        user_territories=user_territories, options=options))


@import_app.command("hubspot")
def hubspot_command(
    companies: Path = typer.Option(..., "--companies", help="companies export: Record ID, Company name, Company "
                                   "owner, City, State/Region, Postal Code, Annual Revenue"),
    owners: Path = typer.Option(..., "--owners", help="owners list: the owners API's JSON (GET /crm/v3/owners) or a "
                                "CSV with id, email, firstName, lastName"),
    out: Path = OUT, potential: str | None = POTENTIAL, workload_hours: float = WORKLOAD_HOURS,
    workload: str | None = WORKLOAD, segment: str | None = SEGMENT, keep: list[str] | None = KEEP,
    capacity_hours: float = CAPACITY_HOURS, skip_unplaced: bool = SKIP_UNPLACED, all_users: bool = ALL_USERS,
) -> None:
    """Import HubSpot: companies and their owners (matched to the owners list by name or email).

    Example: territory-planner import hubspot --companies scenarios/crm_sample/hubspot/companies.csv
    --owners scenarios/crm_sample/hubspot/owners.json --out out/hubspot
    """
    from territory_planner.crm.hubspot_import import import_hubspot

    options = _options(potential, workload_hours, workload, segment, keep, capacity_hours, skip_unplaced, all_users)
    _run(out, lambda: import_hubspot(companies, owners, options=options))


@import_app.command("dynamics")
def dynamics_command(
    accounts: Path = typer.Option(..., "--accounts", help="account export: accountid, name, address1_*, revenue, "
                                  "ownerid, territoryid"),
    users: Path = typer.Option(..., "--users", help="systemuser export: systemuserid, fullname, "
                               "internalemailaddress, address1_*, isdisabled"),
    territories: Path | None = typer.Option(None, "--territories", help="territory export: territoryid, name, "
                                            "managerid"),
    out: Path = OUT, potential: str | None = POTENTIAL, workload_hours: float = WORKLOAD_HOURS,
    workload: str | None = WORKLOAD, segment: str | None = SEGMENT, keep: list[str] | None = KEEP,
    capacity_hours: float = CAPACITY_HOURS, skip_unplaced: bool = SKIP_UNPLACED, all_users: bool = ALL_USERS,
) -> None:
    """Import Dynamics 365: accounts, their owners and territories.

    Example: territory-planner import dynamics --accounts scenarios/crm_sample/dynamics/account.csv
    --users scenarios/crm_sample/dynamics/systemuser.csv --territories scenarios/crm_sample/dynamics/territory.csv
    --out out/dynamics
    """
    from territory_planner.crm.dynamics_import import import_dynamics

    options = _options(potential, workload_hours, workload, segment, keep, capacity_hours, skip_unplaced, all_users)
    _run(out, lambda: import_dynamics(accounts, users, territories=territories, options=options))


@import_app.command("samples")
def samples_command(
    out: Path = typer.Option(Path("scenarios/crm_sample"), "--out", "-o", help="folder for the sample exports"),
    demo: Path = typer.Option(Path("scenarios/demo"), "--demo", help="the demo data to make them from"),
    seed: int = typer.Option(7, help="random seed (same seed, same files)"),
) -> None:
    """Regenerate the synthetic sample exports (Salesforce, HubSpot, Dynamics 365) from the demo data.

    Example: territory-planner import samples --out scenarios/crm_sample --demo scenarios/demo --seed 7
    """
    from territory_planner.crm.samples import write_samples

    try:
        written = write_samples(out, demo=demo, seed=seed)
    except PlannerError as exc:
        fail(exc)
    except FileNotFoundError as exc:
        fail(_missing_demo(exc, demo))
    console.print("Wrote: " + escape(", ".join(str(p) for p in written.values())), highlight=False)


def _missing_demo(exc: FileNotFoundError, demo: Path) -> PlannerError:
    from territory_planner.errors import InputError

    return InputError("the demo data is missing", file=exc.filename or demo,
                      fix="generate it first: territory-planner demo-data --out scenarios/demo --seed 7")
