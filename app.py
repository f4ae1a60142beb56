"""Entry point: `flask --app app …` and `gunicorn app:app`."""

from dnc_app import create_app
from dnc_app.config import ConfigError, exit_on_config_error

try:
    app = create_app()
except ConfigError as error:
    # A wrong setting: one line naming it, no traceback.
    exit_on_config_error(error)
