"""Constants and helpers shared by the tests and their fixtures (no fixtures and no tests
here)."""

from __future__ import annotations

from dnc_app.config import TEST_SECRET_KEY as TEST_SECRET
from dnc_app.domain.changelog import Actor, ActorType

__all__ = ["TEST_ACTOR", "TEST_SECRET", "api_data", "downgrade_before"]
# The actor of changes a test makes directly through the services.
TEST_ACTOR = Actor(ActorType.CLI, None, "tests")


def api_data(client, path: str, team, **params):
    """The `data` of a successful GET of the API (asserting the 200 and `error: null`)."""
    resp = client.get(path, query_string=params, headers=team.headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["error"] is None
    return body["data"]


def downgrade_before(app, revision: str) -> None:
    """Downgrade the test database to the revision before `revision` (in an app context;
    the session is closed first so that SQLite's schema changes are not locked out)."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade

    from dnc_app.extensions import db

    config = app.extensions["migrate"].migrate.get_config()
    db.session.remove()
    downgrade(revision=ScriptDirectory.from_config(config).get_revision(revision).down_revision)


def flask_dispatch(app):
    """The app as a WSGI callable without the API's WSGI shortcut in front (api/hotpath.py):
    every request goes through Flask's routing and dispatch (inside ProxyFix, if any)."""
    import copy

    from werkzeug.middleware.proxy_fix import ProxyFix

    from dnc_app.http.api.hotpath import HotPath

    outer = app.wsgi_app
    hot = outer.app if isinstance(outer, ProxyFix) else outer
    assert isinstance(hot, HotPath)
    if not isinstance(outer, ProxyFix):
        return hot.flask_wsgi
    flask_outer = copy.copy(outer)
    flask_outer.app = hot.flask_wsgi
    return flask_outer
