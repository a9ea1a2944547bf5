"""``territory-planner serve [SCENARIO|RUN]``: the planner's workbench in the browser."""

from __future__ import annotations

import errno
import secrets
import socket
from pathlib import Path

import typer
from rich.markup import escape

from territory_planner.cli.common import (
    STORE_OPTION,
    SolveProgress,
    app,
    console,
    err,
    fail,
    open_store,
)
from territory_planner.errors import PlannerError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@app.command("serve")
def serve_command(
    ref: str | None = typer.Argument(None, help="what to open: a scenario file (planned through the store unless "
                                     "kept already), or a run id, label or name; default: the draft edited last"),
    port: int = typer.Option(8765, "--port", help="the port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on; anything but this computer "
                             "(127.0.0.1, localhost) requires the token printed at start"),
    store_dir: Path | None = STORE_OPTION,
    no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser tab"),
    new_draft: bool = typer.Option(False, "--new-draft", help="start a new draft of the run instead of resuming "
                                   "its latest one (the earlier drafts stay in the store)"),
) -> None:
    """Open a plan in the workbench: edit territories on the map, rebalance around the
    edits, save, compare, approve and export — in a local web app.

    Example: territory-planner serve scenarios/demo.yaml   (then open http://127.0.0.1:8765)
    """
    import uvicorn

    from territory_planner.runs.execute import looks_like_scenario
    from territory_planner.workbench.app import Server, create_app
    from territory_planner.workbench.session import Workbench

    if not 1 <= port <= 65535:
        err.print(f"[bold red]Error:[/] --port {port} is not a port; use 1 to 65535 (e.g. 8765)")
        raise typer.Exit(1)
    if not _port_free(host, port):
        err.print(f"[bold red]Error:[/] {escape(host)}:{port} is in use (another workbench?). "
                  f"Fix: stop it, or choose another port: --port {port + 1}")
        raise typer.Exit(1)
    local = host in LOCAL_HOSTS
    try:
        store = open_store(store_dir)
        if ref is not None and looks_like_scenario(ref) and Path(ref).is_file():
            from territory_planner.scenario import load_scenario

            bar = SolveProgress(load_scenario(ref).solver.time_limit)
            with bar.progress:
                bench = Workbench.open(store, ref, progress=bar, new_draft=new_draft)
        else:
            bench = Workbench.open(store, ref, new_draft=new_draft)
    except PlannerError as exc:
        fail(exc)
    token = None if local else secrets.token_urlsafe(24)
    server = Server(bench, token=token, allowed_hosts=LOCAL_HOSTS if local else ())
    bench.colors()  # the territory colours (from the outlines' adjacency) before the page first asks
    try:
        server.rebalancer.solver.ensure()  # import the solvers now, not on the first Rebalance
    except (OSError, RuntimeError) as exc:
        err.print(f"[yellow]Warning:[/] the solver process did not start ({escape(str(exc))}); Rebalance will try "
                  "again. Editing, saving and exporting work without it.")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/" + (f"?token={token}" if token else "")
    d = bench.header()
    console.print(f"[bold]workbench[/] run {escape(d['base_run'])} ({escape(d['base_label'])}), draft "
                  f"{escape(d['id'])} at edit {d['version']} · store {escape(str(store.root))}")
    console.print(f"open [bold]{escape(url)}[/]" + ("" if local else "  (the token is needed: keep it private)"))
    console.print("Ctrl-C stops the server; every edit is already saved in the store.")
    if not no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        uvicorn.run(create_app(server), host=host, port=port, log_level="warning")
    finally:
        server.rebalancer.solver.close()
