"""Gadget pages: the plugin's built bundle (plugin/dist) for the standalone view and per gadget,
plus a Jira Data Center gadget XML spec per gadget.

| route | what |
|---|---|
| `/` | standalone view: every gadget in a grid (`?share=<token>`, or demo mode) |
| `/gadgets/<name>` | one gadget (names: `gadgets.json`, the gadget registry); `?team=&process=&period=&theme=` |
| `/gadgets/<name>.xml` | Jira Data Center gadget spec whose iframe is `/gadgets/<name>` |
| `/assets/...`, `/gadgets/assets/...` | the bundle's hashed assets |

The pages hold no data and no secrets: the bundle fetches `/api/v1/...`, which authenticates.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory

from baton.webhooks.http.auth import security_headers
from baton.webhooks.http.errors import Unavailable
from baton.webhooks.http.gadget_registry import GADGETS


def packaged_dist() -> Path:
    """The bundle shipped as package data, `baton/webhooks/http/static/dist`. In a checkout that is a
    link to `plugin/dist`, so a rebuilt bundle is served without reinstalling."""
    return Path(str(resources.files("baton.webhooks.http") / "static" / "dist"))


def dist_dir(configured: str | None = None) -> Path:
    """Where the built bundle is: `configured` (BATON_PLUGIN_DIST), else the packaged copy."""
    for candidate in (Path(configured) if configured else None, packaged_dist()):
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate
    raise Unavailable(
        "the gadget bundle is missing",
        "build it with `npm ci && npm run build` in plugin/ (or set BATON_PLUGIN_DIST)",
    )


def _configured_dist() -> Path:
    baton = current_app.extensions.get("baton")
    return dist_dir(baton.settings.plugin_dist if baton is not None else None)


def _index() -> Response:
    html = (_configured_dist() / "index.html").read_bytes()
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def gadget_xml(name: str, base_url: str) -> str:
    gadget = GADGETS[name]
    base = base_url.rstrip("/")
    params = "team=__UP_team__&process=__UP_process__&period=__UP_period__&share=__UP_share__"
    href = f"{base}/gadgets/{name}?{params}"
    thumb = f"{base}/static/{gadget.thumbnail}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title={quoteattr(gadget.title)} description={quoteattr(gadget.description)}
               author="Baton" height="{gadget.height}" thumbnail={quoteattr(thumb)}>
    <Require feature="dynamic-height"/>
    <Require feature="setprefs"/>
    <Require feature="views"/>
  </ModulePrefs>
  <UserPref name="share" display_name="Baton share link token (from `baton share-link`)" datatype="string" required="true"/>
  <UserPref name="team" display_name="Team" datatype="string" default_value=""/>
  <UserPref name="process" display_name="Process (empty: all)" datatype="string" default_value=""/>
  <UserPref name="period" display_name="Period" datatype="enum" default_value="week">
    <EnumValue value="week" display_value="Week"/>
    <EnumValue value="month" display_value="Month"/>
  </UserPref>
  <Content type="url" href={quoteattr(href)}/>
</Module>
"""


def gadgets_blueprint(_baton: Any = None) -> Blueprint:
    bp = Blueprint("baton_gadgets", __name__)

    @bp.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response, api=False)

    @bp.get("/")
    def standalone() -> Response:
        return _index()

    @bp.get("/gadgets/")
    def gadget_list() -> Response:
        base = request.url_root.rstrip("/")
        items = "".join(
            f'<li><a href="/gadgets/{n}">{escape(g.title)}</a> — '
            f'<a href="/gadgets/{n}.xml">{escape(base)}/gadgets/{n}.xml</a></li>'
            for n, g in GADGETS.items()
        )
        return Response(f"<!doctype html><title>Baton gadgets</title><ul>{items}</ul>", mimetype="text/html")

    @bp.get("/gadgets/<string:name>")
    def gadget(name: str) -> Response:
        if name.endswith(".xml"):
            stem = name[: -len(".xml")]
            if stem not in GADGETS:
                abort(404)
            return Response(gadget_xml(stem, request.url_root), mimetype="application/xml")
        if name not in GADGETS:
            abort(404)
        return _index()

    @bp.get("/assets/<path:filename>")
    @bp.get("/gadgets/assets/<path:filename>")
    def assets(filename: str) -> Response:
        resp = send_from_directory(_configured_dist() / "assets", filename, max_age=31536000)
        resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return resp

    return bp


def register(app: Flask) -> None:
    app.register_blueprint(gadgets_blueprint())
