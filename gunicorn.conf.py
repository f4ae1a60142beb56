"""gunicorn settings for the embedded default: one process, threads, loopback only.

Override on the command line or with GUNICORN_* / WEB_CONCURRENCY environment variables.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# In-flight requests get this long to finish after SIGTERM.
graceful_timeout = 20
timeout = 30
keepalive = 5
accesslog = None
