"""DNC service: a team's Do Not Contact list of LinkedIn profiles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider

from dnc_app import config


class _JSONProvider(DefaultJSONProvider):
    # Keep the documented field order ($id, teamId, url, …) in JSON responses.
    sort_keys = False


class DncFlask(Flask):
    json_provider_class = _JSONProvider

    def make_default_options_response(self) -> Response:
        """OPTIONS under /v1: 204 with `Allow` and no body (pages keep Flask's empty 200)."""
        from dnc_app.http.errors import is_api_request

        response = super().make_default_options_response()
        if is_api_request():
            response.status_code = 204
            del response.headers["Content-Type"]
        return response

    def full_dispatch_request(self) -> Response:
        """A route of the API pipeline is answered by its chain alone: Flask's request
        hooks and signals do not run for it (api/pipeline.py says why that is safe)."""
        from dnc_app.http.api import pipeline

        route = pipeline.route_of(self)
        if route is None:
            return super().full_dispatch_request()
        return pipeline.respond(self, route, request.environ)


def create_app(test_config: Mapping | None = None) -> Flask:
    """The app, configured from the environment (config.Config, or ProductionConfig when
    DNC_ENV=production), or from config.TestConfig and `test_config` without reading the
    environment when one is given."""
    settings = config.configuration(test_config)
    app = DncFlask(
        __name__,
        instance_path=str(settings.instance_path()),
        template_folder=str(config.resource_dir("templates")),
        static_folder=str(config.resource_dir("static")),
    )
    app.config.from_mapping(settings.settings(Path(app.instance_path)))

    register_proxy_fix(app)
    register_logging(app)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_request_guard(app)
    register_templating(app)
    register_error_handlers(app)
    register_cli(app)
    register_api_fast_path(app)
    register_webhook_delivery(app)
    register_metrics(app)
    register_api_pipeline(app)  # last: it fixes the hooks it stands for
    return app


def register_proxy_fix(app: Flask) -> None:
    # Only behind trusted proxies (PROXY_FIX_* > 0): limits and audit then see the client
    # IP the proxies forwarded; otherwise X-Forwarded-* is ignored and cannot be spoofed.
    hops = {
        name: int(app.config.get(f"PROXY_FIX_X_{name.upper()}", 0))
        for name in ("for", "proto", "host")
    }
    if any(hops.values()):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to add WSGI middleware, which mypy reads as replacing a
        # method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, **{f"x_{name}": n for name, n in hops.items()}
        )


def register_logging(app: Flask) -> None:
    from dnc_app.logging import register_logging

    register_logging(app)


def register_extensions(app: Flask) -> None:
    from dnc_app.extensions import babel, csrf, limiter, login_manager, migrate
    from dnc_app.http.optout.strings import select_locale
    from dnc_app.storage import database

    database.init_app(app)
    migrate.init_app(app, database.db, directory=str(config.resource_dir("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    # The public opt-out page's catalogues (the team pages are English only).
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(config.resource_dir("translations")))
    babel.init_app(app, locale_selector=select_locale)


def register_security(app: Flask) -> None:
    from dnc_app.http.security import register_security as register

    register(app)


def register_blueprints(app: Flask) -> None:
    from dnc_app.http.api import bp as api_bp
    from dnc_app.http.docs import bp as docs_bp
    from dnc_app.http.favicon import bp as favicon_bp
    from dnc_app.http.health import bp as health_bp
    from dnc_app.http.optout import bp as optout_bp
    from dnc_app.http.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(favicon_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(optout_bp)


def register_request_guard(app: Flask) -> None:
    from dnc_app.http import request_guard

    request_guard.register(app)


def register_templating(app: Flask) -> None:
    from dnc_app.http import templating

    templating.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from dnc_app.http import errors

    errors.init_app(app)


def _app_wide_limits() -> bool:
    # Flask-Limiter's middleware has work on /v1 only for default/application limits.
    from dnc_app.extensions import limiter

    return bool(limiter.limit_manager.default_limits or limiter.limit_manager.application_limits)


def register_api_fast_path(app: Flask) -> None:
    from dnc_app.extensions import limiter, login_manager
    from dnc_app.http.api import fastpath, hotpath

    fastpath.register(app, owners={limiter: _app_wide_limits, login_manager: lambda: False})
    hotpath.install(app)


def register_api_pipeline(app: Flask) -> None:
    from dnc_app.http.api import pipeline

    pipeline.install(app, _app_wide_limits)


def register_cli(app: Flask) -> None:
    # `db backup`: a command of Flask-Migrate's `db` group, attached when imported.
    from dnc_app import cli
    from dnc_app.cli.companies import company_cli
    from dnc_app.cli.optout import optout_cli
    from dnc_app.cli.webhooks import webhooks_cli
    from dnc_app.storage import backup  # noqa: F401

    for command in (*cli.COMMANDS, optout_cli, webhooks_cli, company_cli):
        app.cli.add_command(command)


def register_webhook_delivery(app: Flask) -> None:
    from dnc_app.events.webhooks import delivery

    delivery.init_app(app)


def register_metrics(app: Flask) -> None:
    from dnc_app import metrics

    metrics.init_app(app)
