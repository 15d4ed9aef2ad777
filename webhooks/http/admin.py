"""The PMO's admin page: `/admin` (Jira Data Center and the standalone service) and its JSON API under
`/api/v1/admin/...`, which the Forge `jira:adminPage` module (Jira Cloud) calls through Forge Remote.

Who may use it (`authenticate_admin`); the credential alone decides the site:

| credential | where from | site |
|---|---|---|
| `Authorization: Bearer <BATON_ADMIN_TOKEN>` | scripts, the Data Center admin | `?site=` (default `default`) |
| the `baton_admin` session cookie | `/admin/login`: a form takes the admin token once and sets an HttpOnly, SameSite=Strict cookie holding a signed expiry (never the token) | `?site=` |
| `Authorization: Bearer <Forge Invocation Token>` | the `jira:adminPage` module (`baton-admin`) | the token's site (`BATON_FORGE_SITES`); a `?site=` naming another is refused (403) |

A Forge token is accepted here only when it was minted for the admin page: its module (`app.module.type`,
and `context.extension.type` when present) is `jira:adminPage`. Jira shows that module to Jira
administrators only, so a dashboard gadget's token (any user) is refused with 403. And its account
(`principal`) must hold Jira's Administer Jira global permission on the site: asked over REST with the
site's `BATON_JIRA_*` credentials (`baton.connector.permissions`), cached for BATON_ADMIN_CHECK_TTL
seconds; not an administrator is 403, no answer from Jira is 503 with a hint. The admin token is
compared in constant time and never appears in a URL, a log line or a response; wrong ones are counted
per client address and rate-limited (`baton.webhooks.http.ratelimit`: 429 with Retry-After).

Every write (`POST`) must be JSON (`Content-Type: application/json`): a cross-site form cannot send
that without a CORS preflight, which this service never grants, so the cookie cannot be ridden (CSRF).

| endpoint | what |
|---|---|
| `GET /api/v1/admin/state` | the site, who is signed in, read-only (configuration as code) and why, the live version with its YAML, the re-derivation |
| `GET /api/v1/admin/statuses` | the site's Jira statuses (`connector/statuses.py`) |
| `GET /api/v1/admin/unmapped` | the unmapped hand-offs per process, from the stored requests |
| `POST /api/v1/admin/draft/validate` | `{yaml}` -> the problems of `baton config check` (path, line, message), the outline, the hand-off graph |
| `POST /api/v1/admin/draft/edit` | `{yaml, edit}` -> the edited YAML (comments kept; `baton.config.draft`), validated |
| `POST /api/v1/admin/preview` | `{yaml, period, since, until}` -> before/after rows and changed hand-offs (`baton.store.preview`) |
| `POST /api/v1/admin/publish` | `{yaml, comment, base_version}` -> 201 the new version; 409 `config_conflict` with the latest version; 422 `config_invalid` |
| `GET /api/v1/admin/history`, `GET /api/v1/admin/versions/<n>` | versions (newest first), one version with its YAML |
| `POST /api/v1/admin/rollback` | `{number, comment}` -> 201 a new version copying `number` |
| `GET /api/v1/admin/export[?version=N]` | the YAML as a file |
| `GET /api/v1/admin/rederive` | `{version, state, done_issues, total_issues, error}` |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Literal

import pandas as pd
from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, redirect, request
from sqlalchemy.orm import Session

from baton.config.errors import ConfigError
from baton.connector.forge import ForgeAuthError, SiteResolver, bearer_token, verifier_from_settings
from baton.webhooks.http.auth import token_matches
from baton.webhooks.http.errors import (
    BadRequest,
    ConfigAsCode,
    Conflict,
    Forbidden,
    InvalidDraft,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)
from baton.webhooks.http.ratelimit import refused_admin_token
from baton.webhooks.settings import DEFAULT_SITE, Settings

log = logging.getLogger("baton.webhooks.admin")

ADMIN_API = "/api/v1/admin"
ADMIN_MODULE_TYPE = "jira:adminPage"
SESSION_COOKIE = "baton_admin"
SESSION_TTL_S = 12 * 3600
MAX_DRAFT_BYTES = 1_000_000
"""The largest draft accepted (UTF-8 bytes), the same bound as a published version."""
MAX_COMMENT = 2000
Method = Literal["token", "session", "forge"]


class AdminAuthError(Unauthorized):
    hint = "sign in at /admin/login with BATON_ADMIN_TOKEN, or open the Baton admin page in Jira"


@dataclass(frozen=True, slots=True)
class Admin:
    """Who is administering which site."""

    site: str
    method: Method
    author: str


# --- the session cookie ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _session_key(admin_token: str) -> bytes:
    """Derived from the admin token: rotating the token ends every session."""
    return hashlib.sha256(b"baton-admin-session.v1." + admin_token.encode()).digest()


def make_session(admin_token: str, now: float, ttl_s: int = SESSION_TTL_S) -> str:
    payload = _b64(json.dumps({"v": 1, "exp": int(now + ttl_s)}, separators=(",", ":")).encode())
    mac = _b64(hmac.new(_session_key(admin_token), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{mac}"


def session_valid(admin_token: str, cookie: str, now: float) -> bool:
    payload, sep, mac = cookie.partition(".")
    if not sep or len(cookie) > 512 or not cookie.isascii():
        return False
    expected = _b64(hmac.new(_session_key(admin_token), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return isinstance(exp, int) and exp > now


# --- authentication ------------------------------------------------------------------------------


def _settings() -> Settings:
    return current_app.extensions["baton"].settings  # type: ignore[no-any-return]


def _asked_site(req: Request) -> str | None:
    site = (req.args.get("site") or "").strip()
    if len(site) > 100:
        raise BadRequest("site is too long", "use the Baton site id, e.g. ?site=default")
    return site or None


def _forge_admin(req: Request, token: str, settings: Settings, app: Flask) -> Admin:
    verifier = app.extensions.get("baton_forge_verifier") or verifier_from_settings(
        settings.forge_app_id, settings.forge_jwks_url
    )
    if verifier is None:
        raise AdminAuthError("missing or wrong admin token")
    try:
        invocation = verifier.verify(token)
        site = SiteResolver(dict(settings.forge_sites)).site_for(invocation)
    except ForgeAuthError as exc:
        if exc.status == 503:
            raise Unavailable(
                str(exc), hint="check outbound HTTPS to BATON_FORGE_JWKS_URL, then retry"
            ) from exc
        if exc.status == 403:
            raise Forbidden(str(exc)) from exc
        raise AdminAuthError(str(exc)) from exc
    claims = invocation.claims
    module = claims.get("app", {}).get("module", {}) if isinstance(claims.get("app"), dict) else {}
    context = claims.get("context") if isinstance(claims.get("context"), dict) else {}
    extension = context.get("extension") if isinstance(context, dict) else None
    module_type = module.get("type") if isinstance(module, dict) else None
    extension_type = extension.get("type") if isinstance(extension, dict) else None
    if module_type != ADMIN_MODULE_TYPE or extension_type not in (None, ADMIN_MODULE_TYPE):
        log.warning(
            "a Forge call from outside the admin page asked for an admin action",
            extra={"event": "admin_forbidden", "site": site, "forge_module": module_type},
        )
        raise Forbidden(
            "only Jira administrators may change Baton's configuration",
            hint="open Baton's page under Jira settings > Apps (Jira administrators only)",
        )
    asked = _asked_site(req)
    if asked is not None and asked != site:
        raise Forbidden(
            f"this Jira site is connected to Baton site '{site}', not '{asked}'",
            hint="the admin page administers the Jira site it is opened in",
        )
    account = invocation.principal
    if not account:
        raise Forbidden(
            "only Jira administrators may change Baton's configuration: this Forge call names no Jira account",
            hint="open Baton's page under Jira settings > Apps while signed in to Jira",
        )
    if not _is_jira_admin(site, account, settings, app):
        log.warning(
            "a Forge call from the admin page by an account that is no Jira administrator",
            extra={"event": "admin_forbidden", "site": site, "reason": "not_jira_admin"},
        )
        raise Forbidden(
            "only Jira administrators may change Baton's configuration: your Jira account does not hold "
            "the Administer Jira global permission on this site",
            hint="ask a Jira administrator to grant it (Jira settings > System > Global permissions), "
            "or to make the change",
        )
    return Admin(site=site, method="forge", author=f"forge:{account}")


def _is_jira_admin(site_name: str, account: str, settings: Settings, app: Flask) -> bool:
    """Whether `account` holds Administer Jira on the site, asked over REST with the site's
    `BATON_JIRA_*` credentials (`baton.connector.permissions`) and cached for BATON_ADMIN_CHECK_TTL
    seconds. Jira unreachable, or unable to answer, is 503 (nothing is cached then)."""
    from baton.connector.client import JiraAuthError, JiraError, JiraPermissionError, client_for
    from baton.connector.permissions import CHECK_TIMEOUT_S, AdminCache, InteractiveRetry, is_jira_admin
    from baton.connector.sites import SiteConfigError, env_key, resolve_site
    from baton.store.models import Site

    cache: AdminCache | None = app.extensions.get("baton_admin_cache")
    if cache is None:
        cache = app.extensions.setdefault("baton_admin_cache", AdminCache(settings.admin_check_ttl_s))
    credentials = f"{env_key(site_name, 'EMAIL')} and {env_key(site_name, 'TOKEN')}"

    def fetch() -> bool:
        with Session(app.extensions["baton"].engine) as session:
            rows = [r for r in [session.get(Site, site_name)] if r is not None]
            try:
                site = resolve_site(site_name, settings.jira, rows)
            except (SiteConfigError, ValueError) as error:
                raise Unavailable(
                    f"Baton cannot ask Jira whether you are a Jira administrator: {error}",
                    hint="the operator sets the site's BATON_JIRA_* credentials (docs/jira-connector.md)",
                ) from error
        client = client_for(site, timeout=CHECK_TIMEOUT_S, retry=InteractiveRetry())
        try:
            return is_jira_admin(client, account)
        except SiteConfigError as error:
            raise Unavailable(
                f"Baton cannot ask Jira whether you are a Jira administrator: {error}",
                hint="the operator fixes the site's BATON_JIRA_* settings (docs/jira-connector.md)",
            ) from error
        except JiraPermissionError as error:
            raise Unavailable(
                "Jira does not tell Baton whether you are a Jira administrator: the account Baton signs "
                f"in with on site '{site_name}' is not one itself",
                hint=f"the operator gives the account of {credentials} the Administer Jira global "
                "permission (Jira answers this question about others only to administrators)",
            ) from error
        except JiraAuthError as error:
            raise Unavailable(
                f"Jira refused Baton's credentials for site '{site_name}'",
                hint=f"the operator checks {credentials} (docs/jira-connector.md)",
            ) from error
        except JiraError as error:
            raise Unavailable(
                f"Jira did not answer whether you are a Jira administrator ({type(error).__name__})",
                hint=f"retry in a moment; if it persists, check that Baton reaches {site.url}",
            ) from error
        finally:
            client.close()

    return cache.get(site_name, account, fetch)


def authenticate_admin(req: Request, app: Flask | None = None) -> Admin:
    """The administrator of this request, or `AdminAuthError` (401) / `Forbidden` (403)."""
    app = app or current_app
    settings: Settings = app.extensions["baton"].settings
    admin_token = settings.secret("admin_token")
    token = bearer_token(req.headers.get("Authorization"))
    if token is not None:
        if token_matches(admin_token, token):
            return Admin(site=_asked_site(req) or DEFAULT_SITE, method="token", author="admin-token")
        if token.count(".") == 2 and settings.forge_app_id:
            return _forge_admin(req, token, settings, app)
        refused_admin_token()
        raise AdminAuthError("missing or wrong admin token")
    cookie = req.cookies.get(SESSION_COOKIE)
    if cookie and admin_token and session_valid(admin_token, cookie, time.time()):
        return Admin(site=_asked_site(req) or DEFAULT_SITE, method="session", author="admin")
    if not admin_token and not settings.forge_app_id:
        raise AdminAuthError(
            "the admin page is disabled", hint="set BATON_ADMIN_TOKEN on the service (docs/operations.md)"
        )
    raise AdminAuthError("this page needs the admin token or the Jira admin page")


# --- helpers -------------------------------------------------------------------------------------


def _baton() -> Any:
    return current_app.extensions["baton"]


def _now() -> datetime:
    return _baton().clock()  # type: ignore[no-any-return]


def _session() -> Session:
    return Session(_baton().engine)


def _body() -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest("send the body as JSON", "Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", 'for example {"yaml": "..."}')
    return data


def _yaml_of(data: dict[str, Any]) -> str:
    text = data.get("yaml")
    if not isinstance(text, str):
        raise BadRequest(
            "the body needs `yaml`, the draft's text", 'for example {"yaml": "version: 1\\n..."}'
        )
    if len(text.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise PayloadTooLarge(f"the draft is larger than {MAX_DRAFT_BYTES:,} bytes")
    return text


def _text_field(data: dict[str, Any], name: str, limit: int = MAX_COMMENT) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        raise BadRequest(f"`{name}` must be text", f'for example {{"{name}": "..."}}')
    return value.strip()[:limit]


def _int_field(data: dict[str, Any], name: str, *, optional: bool) -> int | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"`{name}` must be a version number", f'for example {{"{name}": 3}}')
    return value


def problem_records(error: ConfigError) -> list[dict[str, Any]]:
    """`baton config check`'s lines, one object each: where (YAML path, dotted, line) and what."""
    return [
        {
            "path": list(p.path),
            "dotted": p.dotted_path,
            "line": p.line,
            "message": p.message,
            "text": p.format("draft.yaml"),
        }
        for p in error.problems
    ]


def _invalid(error: ConfigError) -> InvalidDraft:
    count = len(error.problems)
    return InvalidDraft(
        f"the draft has {count} problem{'s' if count != 1 else ''}; nothing was stored",
        problems=problem_records(error),
    )


def read_only_reason(settings: Settings) -> str | None:
    """Why the page may not publish: configuration as code (`baton serve --config FILE`, or
    BATON_CONFIG_AS_CODE): the file is the truth for every site (docs/configuration.md, "Precedence")."""
    if settings.config_as_code:
        return (
            f"this service runs with --config {settings.config_path}: the file is the configuration of "
            "every site (configuration as code). Change the file and restart, or start the service "
            "without --config (BATON_CONFIG alone is only the default) to publish from this page."
        )
    return None


def _file_config_text(settings: Settings) -> str | None:
    if not settings.config_path:
        return None
    try:
        with open(settings.config_path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _live(session: Session, site: str, settings: Settings) -> tuple[Any, str | None]:
    """(the site's latest published version or None, the YAML text a draft starts from): the latest
    version's text, else the configuration file's (configuration as code, or nothing published yet)."""
    from baton.store import config_versions

    version = None if settings.config_as_code else config_versions.latest(session, site)
    if version is not None:
        return version, version.yaml_text
    return None, _file_config_text(settings)


def _applied_config(session: Session, site: str) -> Any:
    """The configuration the site's stored numbers are under (`baton.store.live_config`), or None."""
    baton = _baton()
    resolver = baton.configs() if getattr(baton, "configs", None) is not None else None
    if resolver is not None:
        return resolver.for_site(session, site)
    from baton.store import config_versions

    number = config_versions.applied_version(session, site)
    return config_versions.get(session, site, number).config() if number is not None else None


def _latest_config(session: Session, site: str) -> Any:
    from baton.store import config_versions

    version = config_versions.latest(session, site)
    return version.config() if version is not None else None


def _requests(session: Session, site: str) -> pd.DataFrame:
    from baton.store.requests import load_requests_frame

    return load_requests_frame(session, site)


def unmapped_rows(frame: pd.DataFrame, processes: list[str]) -> list[dict[str, Any]]:
    """The unmapped report (`baton.scoring.engine.unmapped_report`) per process, most frequent first."""
    from baton.scoring import engine
    from baton.webhooks import serialize

    rows: list[dict[str, Any]] = []
    names = [p for p in processes if p in set(frame["process"].dropna())] if len(frame) else []
    for process in names:
        table = engine.unmapped_report(frame[frame["process"] == process])
        rows.extend({"process": process, **r} for r in serialize.unmapped_records(table))
    rows.sort(key=lambda r: (-int(r["count"]), r["process"], str(r["requester"]), str(r["provider"])))
    return rows


def graph(outline: dict[str, Any], unmapped: list[dict[str, Any]]) -> dict[str, Any]:
    """Teams as nodes, the draft's forward rules as routine edges, and the stored unmapped hand-offs the
    draft does not make routine as unmapped edges with their counts (summed over status pairs)."""
    nodes = [t["name"] for t in outline["teams"]]
    routine = {(e["process"], e["from"], e["to"]) for e in outline["edges"]}
    edges: list[dict[str, Any]] = [{**e, "kind": "routine", "count": None} for e in outline["edges"]]
    counts: dict[tuple[str, str, str], int] = {}
    for row in unmapped:
        key = (row["process"], row["requester"], row["provider"])
        if None in key or key in routine:
            continue
        counts[key] = counts.get(key, 0) + int(row["count"])
    for (process, a, b), count in counts.items():
        edges.append({"process": process, "from": a, "to": b, "kind": "unmapped", "count": count})
        for team in (a, b):
            if team not in nodes:
                nodes.append(team)
    return {"nodes": nodes, "edges": edges}


def _draft_report(session: Session, site: str, text: str) -> dict[str, Any]:
    from baton.config.draft import outline
    from baton.store.config_versions import validate_text

    try:
        config = validate_text(text)
    except ConfigError as error:
        return {"valid": False, "problems": problem_records(error), "outline": None, "graph": None}
    shape = outline(config)
    unmapped = unmapped_rows(_requests(session, site), list(config.processes))
    return {"valid": True, "problems": [], "outline": shape, "graph": graph(shape, unmapped)}


def _version(version: Any, *, with_text: bool = False) -> dict[str, Any]:
    return version.as_dict(with_text=with_text)  # type: ignore[no-any-return]


def _refuse_if_read_only(settings: Settings) -> None:
    reason = read_only_reason(settings)
    if reason:
        raise ConfigAsCode(reason)


def _conflict(error: Any, draft: str) -> Conflict:
    from baton.store import config_versions

    with _session() as session:
        latest = config_versions.latest(session, error.site)
    return Conflict(
        str(error),
        hint="your draft is kept in the page: compare it with the latest version, then publish again from it",
        latest=_version(latest, with_text=True) if latest is not None else None,
        yaml=draft,
    )


# --- the page, sign-in -----------------------------------------------------------------------------


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Baton admin: sign in</title>
<style>body{{font:15px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.4rem .6rem}}input{{width:100%;box-sizing:border-box}}
.error{{color:#b3261e}}label{{display:block;margin:1rem 0 .3rem}}</style></head>
<body><h1>Baton admin</h1>{message}
<form method="post" action="/admin/login" autocomplete="off">
<label for="token">Admin token (BATON_ADMIN_TOKEN)</label>
<input id="token" name="token" type="password" required autofocus>
<p><button type="submit">Sign in</button></p></form>
<p>Jira Cloud administrators use Baton's page under <em>Jira settings &gt; Apps</em> instead.</p>
</body></html>"""


def login_page(message: str | None, status: int) -> Response:
    note = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    resp = Response(LOGIN_PAGE.format(message=note), status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def admin_pages_blueprint(_baton: Any = None) -> Blueprint:
    from baton.webhooks.http.auth import security_headers
    from baton.webhooks.http.gadgets import dist_dir

    bp = Blueprint("baton_admin_pages", __name__)

    @bp.after_request
    def _headers(response: Response) -> Response:
        response = security_headers(response, api=False)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/admin")
    def page() -> Response:
        try:
            authenticate_admin(request)
        except (Unauthorized, Forbidden):
            return redirect("/admin/login", code=303)  # type: ignore[return-value]
        html = (dist_dir(_settings().plugin_dist) / "index.html").read_bytes()
        return Response(html, mimetype="text/html")

    @bp.get("/admin/login")
    def login_form() -> Response:
        if not _settings().secret("admin_token"):
            return login_page("The admin page is disabled: set BATON_ADMIN_TOKEN on the service.", 503)
        return login_page(None, 200)

    @bp.post("/admin/login")
    def login() -> Response:
        admin_token = _settings().secret("admin_token")
        if not admin_token:
            return login_page("The admin page is disabled: set BATON_ADMIN_TOKEN on the service.", 503)
        given = request.form.get("token", "")
        if not token_matches(admin_token, given.strip()):
            refused_admin_token()
            log.warning("admin sign-in refused", extra={"event": "admin_login_refused"})
            return login_page("Wrong admin token.", 401)
        resp = redirect("/admin", code=303)
        resp.set_cookie(
            SESSION_COOKIE,
            make_session(admin_token, time.time()),
            max_age=SESSION_TTL_S,
            httponly=True,
            secure=request.is_secure,
            samesite="Strict",
            path="/",
        )
        log.info("admin signed in", extra={"event": "admin_login"})
        return resp  # type: ignore[return-value]

    @bp.post("/admin/logout")
    def logout() -> Response:
        resp = redirect("/admin/login", code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
        return resp  # type: ignore[return-value]

    return bp


# --- the JSON API ----------------------------------------------------------------------------------


def admin_api_blueprint(_baton: Any = None) -> Blueprint:
    from baton.webhooks.http.auth import security_headers

    bp = Blueprint("baton_admin_api", __name__, url_prefix=ADMIN_API)

    @bp.before_request
    def _authenticate() -> None:
        g.baton_admin = authenticate_admin(request)

    @bp.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response, api=True)

    def admin() -> Admin:
        return g.baton_admin  # type: ignore[no-any-return]

    @bp.get("/state")
    def state() -> Response:
        from baton.store import config_versions

        a = admin()
        settings = _settings()
        with _session() as session:
            version, text = _live(session, a.site, settings)
            rederive = config_versions.rederive_status(session, a.site)
        reason = read_only_reason(settings)
        return jsonify(
            site=a.site,
            method=a.method,
            author=a.author,
            read_only=reason is not None,
            read_only_reason=reason,
            live=_version(version) if version is not None else None,
            live_yaml=text,
            base_version=version.number if version is not None else None,
            rederive=rederive,
        )

    @bp.get("/statuses")
    def statuses() -> Response:
        from baton.connector.client import JiraError, client_for
        from baton.connector.sites import SiteConfigError, resolve_site
        from baton.connector.statuses import fetch_statuses
        from baton.store.models import Site

        a = admin()
        settings = _settings()
        with _session() as session:
            rows = [r for r in [session.get(Site, a.site)] if r is not None]
            try:
                site = resolve_site(a.site, settings.jira, rows)
            except (SiteConfigError, ValueError) as error:
                return jsonify(
                    site=a.site,
                    statuses=[],
                    available=False,
                    message=f"Jira is not connected for this site: {error}",
                )
        client = client_for(site, timeout=20)
        try:
            found = fetch_statuses(client)
        except JiraError as error:
            raise Unavailable(
                f"cannot read the statuses from Jira: {error}", hint="check the site's Jira credentials"
            ) from error
        finally:
            client.close()
        return jsonify(site=a.site, statuses=[s.as_dict() for s in found], available=True, message=None)

    @bp.get("/unmapped")
    def unmapped() -> Response:
        a = admin()
        with _session() as session:
            config = _applied_config(session, a.site)
            frame = _requests(session, a.site)
        processes = list(config.processes) if config is not None else sorted(set(frame["process"].dropna()))
        return jsonify(site=a.site, rows=unmapped_rows(frame, processes))

    @bp.post("/draft/validate")
    def validate() -> Response:
        a = admin()
        text = _yaml_of(_body())
        with _session() as session:
            return jsonify(site=a.site, **_draft_report(session, a.site, text))

    @bp.post("/draft/edit")
    def edit() -> Response:
        from baton.config.draft import DraftEditError, assign_status, make_routine

        a = admin()
        data = _body()
        text = _yaml_of(data)
        change = data.get("edit")
        if not isinstance(change, dict):
            raise BadRequest(
                "the body needs `edit`",
                'e.g. {"op": "make_routine", "process": "delivery", "from": "dev", "to": "ops"}',
            )
        op = change.get("op")
        try:
            if op == "make_routine":
                new = make_routine(
                    text,
                    str(change.get("process") or ""),
                    str(change.get("from") or ""),
                    str(change.get("to") or ""),
                )
            elif op == "assign_status":
                team = change.get("team") or None
                role = change.get("role") or None
                new = assign_status(text, str(change.get("status") or ""), team, role)
            else:
                raise BadRequest(f"unknown edit {op!r}", "use make_routine or assign_status")
        except DraftEditError as error:
            raise BadRequest(str(error), "fix the draft's YAML first (Validate shows where)") from error
        with _session() as session:
            return jsonify(site=a.site, yaml=new, **_draft_report(session, a.site, new))

    @bp.post("/preview")
    def preview() -> Response:
        from baton.store.config_versions import validate_text
        from baton.store.preview import run_preview
        from baton.webhooks import serialize

        a = admin()
        data = _body()
        text = _yaml_of(data)
        period: Literal["week", "month"] = "month" if data.get("period") == "month" else "week"
        if data.get("period") not in (None, "", "week", "month"):
            raise BadRequest(f"unknown period {data.get('period')!r}", "use week or month")
        since, until = (_when(data, "since"), _when(data, "until"))
        try:
            draft = validate_text(text)
        except ConfigError as error:
            raise _invalid(error) from None
        with _session() as session:
            live = _applied_config(session, a.site) or _latest_config(session, a.site) or draft
            result = run_preview(
                session,
                a.site,
                live=live,
                draft=draft,
                now=_now(),
                period=period,
                since=since,
                until=until,
                workers=_settings().preview_workers,
            )
        return jsonify(site=a.site, **serialize.preview_record(result))

    @bp.post("/publish")
    def publish() -> Response:
        from baton.store import config_versions

        a = admin()
        settings = _settings()
        _refuse_if_read_only(settings)
        data = _body()
        text = _yaml_of(data)
        comment = _text_field(data, "comment")
        base = _int_field(data, "base_version", optional=True)
        try:
            with _session() as session:
                version = config_versions.publish(
                    session, a.site, text, author=a.author, comment=comment, base_version=base, now=_now()
                )
        except ConfigError as error:
            raise _invalid(error) from None
        except config_versions.ConfigConflict as error:
            raise _conflict(error, text) from None
        log.info(
            "configuration published",
            extra={"event": "config_published", "site": a.site, "version": version.number, "via": a.method},
        )
        _wake()
        resp = jsonify(site=a.site, version=_version(version))
        resp.status_code = 201
        return resp

    @bp.get("/history")
    def history_() -> Response:
        from baton.store import config_versions

        a = admin()
        with _session() as session:
            versions = config_versions.history(session, a.site)
        return jsonify(site=a.site, versions=[_version(v) for v in versions])

    @bp.get("/versions/<int:number>")
    def show(number: int) -> Response:
        a = admin()
        version = _get_version(a.site, number)
        return jsonify(site=a.site, version=_version(version, with_text=True))

    @bp.post("/rollback")
    def rollback() -> Response:
        from baton.store import config_versions

        a = admin()
        _refuse_if_read_only(_settings())
        data = _body()
        number = _int_field(data, "number", optional=False)
        comment = _text_field(data, "comment") or None
        _get_version(a.site, int(number or 0))
        with _session() as session:
            version = config_versions.rollback(
                session, a.site, int(number or 0), author=a.author, now=_now(), comment=comment
            )
        log.info(
            "configuration rolled back",
            extra={"event": "config_rolled_back", "site": a.site, "version": version.number, "to": number},
        )
        _wake()
        resp = jsonify(site=a.site, version=_version(version))
        resp.status_code = 201
        return resp

    @bp.get("/export")
    def export() -> Response:
        a = admin()
        raw = request.args.get("version")
        if raw:
            if not raw.isdigit():
                raise BadRequest("version must be a whole number", "for example ?version=3")
            version = _get_version(a.site, int(raw))
            text, name = version.yaml_text, f"baton-{a.site}-v{version.number}.yaml"
        else:
            with _session() as session:
                version, live_text = _live(session, a.site, _settings())
            if live_text is None:
                raise NotFound("this site has no configuration yet", hint="publish one from the admin page")
            number = f"-v{version.number}" if version is not None else ""
            text, name = live_text, f"baton-{a.site}{number}.yaml"
        resp = Response(text, mimetype="application/yaml")
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp

    @bp.get("/rederive")
    def rederive() -> Response:
        from baton.store import config_versions

        a = admin()
        with _session() as session:
            return jsonify(site=a.site, **config_versions.rederive_status(session, a.site))

    return bp


def _when(data: dict[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        stamp = pd.Timestamp(str(value))
    except ValueError as error:
        raise BadRequest(f"{name} is not a date", f'for example "{name}": "2026-03-01"') from error
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").to_pydatetime()


def _get_version(site: str, number: int) -> Any:
    from baton.store import config_versions

    with _session() as session:
        try:
            return config_versions.get(session, site, number)
        except config_versions.ConfigVersionNotFound as error:
            raise NotFound(str(error), hint="GET /api/v1/admin/history lists the site's versions") from None


def _wake() -> None:
    """Let the embedded drainer start the re-derivation now rather than at its next poll."""
    drainer = getattr(_baton(), "drainer", None)
    if drainer is not None:
        drainer.wake()


def register(app: Flask) -> None:
    app.register_blueprint(admin_pages_blueprint())
    app.register_blueprint(admin_api_blueprint())
