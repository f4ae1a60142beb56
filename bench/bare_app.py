"""The yardstick: a bare Flask app with one JSON endpoint, no database, no extensions.

Served by bench/common.py:bare_server() under the same gunicorn configuration as the
service, so that "the API's requests/s as a share of this" measures what the service's
own work (authentication, rate limiting, the database, serialization) costs.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    # The size and shape of a small API answer: the envelope with a little data.
    return {
        "error": None,
        "data": {"onList": False, "entry": None},
        "message": "URL is not on the list",
    }
