"""The workbench's web layer: HTTP ⇄ :class:`~territory_planner.workbench.session.Workbench`.

Starlette (the ASGI toolkit FastAPI is built on, without its extras) serves the page, its
assets (app.js, app.css, Leaflet from the installed ``django-js-lib-leaflet`` package:
nothing from the internet) and a small JSON API. Every request is checked like file
input before anything changes: its body must be a JSON object of the expected fields
and types, the ids it names must exist, and the draft version it states must be the
current one; otherwise a 4xx with ``{"error": what is wrong, "fix": what to do}``.

Safe by default: the server listens on 127.0.0.1, and there it refuses requests whose
Host header is not a local name (DNS rebinding). On any other address it requires the
token printed at start (header ``X-Workbench-Token``). On every address it refuses POSTs
that are not ``application/json`` (a form on another site cannot post to it: JSON needs
CORS, which it never grants), and a change made on a page that shows another draft.
"""

from __future__ import annotations

import importlib.resources
import io
import json
import secrets
import zipfile
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from territory_planner.errors import InputError, PlannerError
from territory_planner.runs.drafts import StaleDraftError
from territory_planner.workbench.rebalance import Rebalancer
from territory_planner.workbench.session import NotFoundError, Workbench

TOKEN_HEADER = "X-Workbench-Token"
EXPORT_TARGETS = ("salesforce", "hubspot", "dynamics", "xlsx", "csv", "geojson")
MAX_BODY = 8 * 1024 * 1024  # a move of every account of a 100,000-account plan fits


class ApiError(Exception):
    def __init__(self, status: int, error: str, fix: str | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.fix = status, error, fix


# --- request bodies ------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MoveBody(_Body):
    draft: str | None = Field(default=None, max_length=200)  # the draft the page shows (checked when given)
    items: list[str] = Field(min_length=1, max_length=1_000_000)
    to: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=0)


class VersionBody(_Body):
    draft: str | None = Field(default=None, max_length=200)  # the draft the page shows (checked when given)
    version: int = Field(ge=0)


class LockBody(_Body):
    draft: str | None = Field(default=None, max_length=200)  # the draft the page shows (checked when given)
    items: list[str] = Field(min_length=1, max_length=1_000_000)
    locked: bool
    version: int = Field(ge=0)


class RebalanceBody(_Body):
    draft: str | None = Field(default=None, max_length=200)  # the draft the page shows (checked when given)
    version: int = Field(ge=0)
    time_limit: float | int | None = Field(default=None, ge=1, le=86400)


class SaveBody(_Body):
    draft: str | None = Field(default=None, max_length=200)  # the draft the page shows (checked when given)
    version: int = Field(ge=0)
    label: str | None = Field(default=None, max_length=200)


class OpenBody(_Body):
    run: str = Field(min_length=1, max_length=200)


class ApproveBody(_Body):
    run: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=200)


class StopBody(_Body):
    pass


def _first_error(exc: ValidationError, model: type[BaseModel]) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    fields = ", ".join(model.model_fields)
    if err.get("type") == "extra_forbidden":
        return f"unknown field '{where}' (this request takes: {fields})"
    if err.get("type") == "missing":
        return f"field '{where}' is missing (this request takes: {fields})"
    return f"field '{where}': {err.get('msg', 'invalid')}"


async def _body(request: Request, model: type[BaseModel]) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, f"the request body must be JSON (Content-Type: application/json), not '{kind or 'none'}'",
                       "send the body as JSON with that header")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the request body is {len(raw):,} bytes, more than {MAX_BODY:,}", "send fewer items at once")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON: {exc}", "send a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, not {type(data).__name__}",
                       f"send {{{', '.join(repr(f) for f in model.model_fields)}}}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, _first_error(exc, model), "correct that field and send the request again") from None


# --- the app -------------------------------------------------------------------------


class Server:
    """What one running workbench serves: its Workbench, its rebalancer, its token."""

    def __init__(self, bench: Workbench, *, token: str | None = None, allowed_hosts: tuple[str, ...] = (),
                 rebalancer: Rebalancer | None = None) -> None:
        self.bench = bench
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.rebalancer = rebalancer or Rebalancer(bench)

    def state(self) -> dict:
        """``GET /api/state``: the draft's state with the rebalance job's."""
        return {**self.bench.state(), "rebalance": self.rebalancer.status()}

    def same_draft(self, body) -> None:
        """A change made on a page that shows another draft (another tab opened a run) is stale."""
        draft = getattr(body, "draft", None)
        if draft is not None and draft != self.bench.draft.id:
            raise ApiError(409, f"stale edit: this page shows draft {draft}, but the workbench now has draft "
                                f"{self.bench.draft.id} of run {self.bench.run.id} open (another tab opened it)",
                           "reload the page to see the plan the workbench has open")

    def busy(self) -> None:
        if self.rebalancer.job.state in ("starting", "running", "stopping"):
            raise ApiError(409, "a rebalance is running: the plan cannot change until it ends",
                           "wait for it to finish, or press Stop (it keeps the best plan found)")

    def open(self, run: str) -> None:
        self.busy()
        store = self.bench.store
        try:
            run_id = store.get(run).id
        except PlannerError as exc:
            raise ApiError(404, error_parts(exc)[0], "pick a run of the list") from None
        bench = Workbench.for_run(store, run_id)
        self.bench = bench
        self.rebalancer = Rebalancer(bench, self.rebalancer.solver)


def _static_dir():
    return importlib.resources.files("territory_planner.workbench").joinpath("static")


def _leaflet_dir():
    return importlib.resources.files("js_lib_leaflet").joinpath("static", "js_lib_leaflet")


def _error_response(status: int, error: str, fix: str | None) -> JSONResponse:
    return JSONResponse({"error": error, "fix": fix}, status_code=status, headers={"Cache-Control": "no-store"})


def error_parts(exc: PlannerError) -> tuple[str, str | None]:
    """(what is wrong and where, the fix) of a planner error, apart."""
    if isinstance(exc, InputError):
        fix = exc.fix
        exc.fix = None
        try:
            return exc.render(), fix
        finally:
            exc.fix = fix
    return str(exc), None


def _planner_error(exc: PlannerError) -> JSONResponse:
    text, fix = error_parts(exc)
    if isinstance(exc, StaleDraftError):
        return _error_response(409, text.split("\n")[0], fix)
    if isinstance(exc, NotFoundError):
        return _error_response(404, text.split("\n")[0], fix)
    return _error_response(400, text.split("\n")[0], fix)


def create_app(server: Server) -> Starlette:
    """The ASGI app of a workbench ``server`` (see :func:`serve` to run it)."""

    def api(handler):
        async def endpoint(request: Request):
            host = _host_name(request.headers.get("host") or "")
            if server.allowed_hosts and host not in server.allowed_hosts:
                return _error_response(400, f"unexpected Host header '{host}'",
                                       "open the workbench at the address the server printed")
            if server.token is not None and request.url.path.startswith("/api/"):
                given = request.headers.get(TOKEN_HEADER)
                if not given:
                    return _error_response(401, "this workbench needs its token (it listens beyond this computer)",
                                           "open the address with ?token=… that 'territory-planner serve' printed")
                if not secrets.compare_digest(given.encode(), server.token.encode()):
                    return _error_response(403, "wrong workbench token",
                                           "open the address with ?token=… that 'territory-planner serve' printed")
            try:
                return await handler(request)
            except ApiError as exc:
                return _error_response(exc.status, exc.error, exc.fix)
            except PlannerError as exc:
                return _planner_error(exc)
        return endpoint

    def ok(data, status: int = 200) -> JSONResponse:
        return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})

    async def index(request: Request):
        return FileResponse(str(_static_dir().joinpath("index.html")), headers={"Cache-Control": "no-store"})

    async def state(request: Request):
        return ok(server.state())

    async def change(request: Request, model: type[BaseModel]):
        """A change's body, checked: its draft is the open one, and no rebalance runs."""
        body = await _body(request, model)
        server.same_draft(body)
        server.busy()
        return body

    async def move(request: Request):
        body = await change(request, MoveBody)
        return ok(server.bench.move(body.items, body.to, body.version))

    async def undo(request: Request):
        body = await change(request, VersionBody)
        return ok(server.bench.undo(body.version))

    async def redo(request: Request):
        body = await change(request, VersionBody)
        return ok(server.bench.redo(body.version))

    async def lock(request: Request):
        body = await change(request, LockBody)
        return ok(server.bench.set_locked(body.items, body.locked, body.version))

    async def rebalance(request: Request):
        if request.method == "GET":
            return ok(server.rebalancer.status())
        body = await _body(request, RebalanceBody)
        server.same_draft(body)
        return ok(server.rebalancer.start(body.version, body.time_limit), 202)

    async def stop(request: Request):
        await _body(request, StopBody)
        return ok(server.rebalancer.stop())

    async def runs(request: Request):
        rows = sorted(server.bench.store.runs(), key=lambda r: (r.created_at, r.id), reverse=True)
        return ok({"runs": [_run_row(r) for r in rows]})

    async def open_run(request: Request):
        body = await _body(request, OpenBody)
        server.open(body.run)
        return ok(server.state())

    async def save(request: Request):
        body = await change(request, SaveBody)
        run = server.bench.save(body.version, (body.label or "").strip() or None)
        return ok({"run": _run_row(run), "state": server.state()})

    async def approve(request: Request):
        body = await _body(request, ApproveBody)
        if not body.by.strip():
            raise ApiError(400, "the approver's name is empty", "type your name in the approval form")
        store = server.bench.store
        run = _get_run(store, body.run)
        if run.status == "edited":
            raise ApiError(409, f"run {run.id} breaks constraints of its scenario (edited by hand); it cannot be "
                                "approved", "open it, rebalance or move accounts back within the bands, save, and "
                                               "approve that run")
        return ok({"run": _run_row(store.approve(run.id, body.by))})

    async def compare(request: Request):
        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            raise ApiError(400, "compare needs two runs: ?a=RUN&b=RUN", "pick two runs of the list")
        store = server.bench.store
        _get_run(store, a), _get_run(store, b)
        return ok(server.bench.compare(a, b))

    async def export(request: Request):
        from territory_planner.crm.export import render_export
        from territory_planner.crm.exporting import ExportOptions

        target = request.query_params.get("to", "")
        if target not in EXPORT_TARGETS:
            raise ApiError(400, f"unknown export target '{target}'", f"use to= one of {', '.join(EXPORT_TARGETS)}")
        run = _get_run(server.bench.store, request.query_params.get("run", ""))
        if run.status == "edited":
            raise ApiError(409, f"run {run.id} breaks constraints of its scenario (edited by hand); it is not exported",
                           "rebalance it or move accounts back within the bands, save, approve and export that run")
        plan = run.plan()
        _, files = render_export(plan, target, ExportOptions(label=run.label or run.name))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                content = files[name]
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content if isinstance(content, bytes) else content.encode("utf-8"))
        name = f"{run.id}-{target}.zip"
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    async def cells(request: Request):
        return ok({"cells": server.bench.cells()})

    async def not_found(request: Request, exc: HTTPException):
        if exc.status_code == 405:
            return _error_response(405, f"{request.method} is not allowed on {request.url.path}",
                                   "see the workbench API in the README")
        return _error_response(exc.status_code, f"no such page: {request.url.path}", "open / for the workbench")

    routes = [
        Route("/", api(index)),
        Route("/api/state", api(state)),
        Route("/api/move", api(move), methods=["POST"]),
        Route("/api/undo", api(undo), methods=["POST"]),
        Route("/api/redo", api(redo), methods=["POST"]),
        Route("/api/lock", api(lock), methods=["POST"]),
        Route("/api/rebalance", api(rebalance), methods=["GET", "POST"]),
        Route("/api/rebalance/stop", api(stop), methods=["POST"]),
        Route("/api/runs", api(runs)),
        Route("/api/open", api(open_run), methods=["POST"]),
        Route("/api/save", api(save), methods=["POST"]),
        Route("/api/approve", api(approve), methods=["POST"]),
        Route("/api/compare", api(compare)),
        Route("/api/export", api(export)),
        Route("/api/cells", api(cells)),
        Mount("/static/leaflet", app=StaticFiles(directory=str(_leaflet_dir())), name="leaflet"),
        Mount("/static", app=StaticFiles(directory=str(_static_dir())), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.server = server
    return app


def _host_name(header: str) -> str:
    """The host of a Host header, without its port: "127.0.0.1:8765" → "127.0.0.1", "[::1]:8765" → "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _get_run(store, ref: str):
    try:
        return store.get(ref)
    except PlannerError as exc:
        raise ApiError(404, error_parts(exc)[0], "pick a run of the list (GET /api/runs)") from None


def _run_row(run) -> dict:
    return {"id": run.id, "name": run.name, "kind": run.kind, "status": run.status, "gap": run.gap,
            "objective": run.objective, "created_at": run.created_at, "label": run.label,
            "approved": run.approved, "approved_by": run.approved_by, "approved_at": run.approved_at,
            "parent": run.parent, "ok": run.ok}
