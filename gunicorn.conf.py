"""gunicorn's settings for the checkout (`gunicorn app:app -c gunicorn.conf.py`, read by
default from this directory): those of the package, dnc_app/gunicorn_config.py, which an
installed wheel uses as `-c python:dnc_app.gunicorn_config`."""

from dnc_app.gunicorn_config import *  # noqa: F403
from dnc_app.gunicorn_config import multi_process_memory_limits, prepare_metrics_dir  # noqa: F401
