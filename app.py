"""Entry point: `flask --app app …` and `gunicorn app:app`."""

from dnc_app import create_app

app = create_app()
