"""Bare extension objects; each is bound to the app in `create_app`."""

from typing import TYPE_CHECKING, ClassVar

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Registers the service's own store for memory:// before any limiter is configured.
from dnc_app.storage import limitstore  # noqa: F401


class Base(DeclarativeBase):
    # Every model maps one table (DeclarativeBase's annotation allows any FROM clause).
    __table__: ClassVar[Table]

    # Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Objects stay readable after commit: the service layer returns what it just wrote
# without a second SELECT.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
if TYPE_CHECKING:
    # What the models derive from, as the type checker sees it: Flask-SQLAlchemy builds
    # db.Model from Base at run time, which a checker cannot follow.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Translations of the public opt-out page; its templates call optout.strings.t, so Jinja's
# own i18n extension and Babel's filters are not installed.
babel = Babel(configure_jinja=False)
# No default limits: every limit is declared where it applies (API per team, pages per IP).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def configured(name: str):
    """A limit read from the app's configuration when a request is checked (so the app
    factory, not import time, decides it)."""
    return lambda: current_app.config[name]
