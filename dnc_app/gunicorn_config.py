"""gunicorn settings, for the embedded default and for production mode.

Embedded default: one process with threads on loopback, SQLite, in-memory rate limits.
Production mode (scripts/serve-production, docs/production.md): WEB_CONCURRENCY workers,
PostgreSQL and Redis. Command-line options override what is set here.

Part of the package, so that an installed wheel has them too
(`gunicorn -c python:dnc_app.gunicorn_config`): without these hooks each worker would
count its own metrics and the delivery loops would neither start with the workers nor
drain at SIGTERM. The checkout's gunicorn.conf.py is this module.
"""

import os
import shutil
import signal
import tempfile

from dnc_app.config import (
    ConfigError,
    Settings,
    configuration,
    exit_on_config_error,
    rate_limit_settings,
)

# Every setting is checked here, in the master, before a port is bound or a worker forked:
# a wrong one stops gunicorn with one line naming it (a worker failing to boot would
# print a traceback per attempt).
try:
    settings = configuration().values
except ConfigError as error:
    exit_on_config_error(error)

bind = settings.BIND
worker_class = "gthread"
workers = settings.WEB_CONCURRENCY
threads = settings.GUNICORN_THREADS
# After SIGTERM, in-flight requests get this long to finish before workers are killed.
graceful_timeout = settings.GUNICORN_GRACEFUL_TIMEOUT
timeout = 30
keepalive = 5
# The app writes one structured JSON line per request (dnc_app/logging.py).
accesslog = None
# gunicorn 24+ opens a control socket at one fixed path per user; several instances on a
# host (machines in tests, blue/green deploys) would take it from each other. Unused here.
control_socket_disable = True


def on_starting(server):
    """Refuse several workers on a per-process (memory://) rate-limit store; prepare the
    metrics directory."""
    problem = multi_process_memory_limits(server.cfg.workers, os.environ)
    if problem:
        # gunicorn prints a RuntimeError raised here as "Error: …" and exits with 1,
        # before binding the port or forking a worker.
        raise RuntimeError(problem)
    prepare_metrics_dir(os.environ)


# Metrics directories this master made (removed when it exits), and the one its workers
# write to.
_owned_dirs: list[str] = []
_metrics_dir: list[str] = []
# In a directory a master made for itself (never in one the operator chose).
_MADE_BY_A_MASTER = ".made-by-gunicorn-master"


def prepare_metrics_dir(env) -> None:
    """With METRICS_ENABLED, every worker writes its metrics to files in one directory
    (prometheus_client's multiprocess mode) that a scrape adds up. Set here, in the
    master, before any worker imports the app (the mode is chosen at import). Emptied at
    each start: the files of a previous master's workers would be counted again."""
    values = Settings.from_env(env)
    if not values.METRICS_ENABLED:
        return
    path = values.PROMETHEUS_MULTIPROC_DIR
    # Unset, or the directory a previous master made for itself (a master re-executed by
    # USR2 inherits its environment, and that directory goes when the old master exits).
    if not path or os.path.exists(os.path.join(path, _MADE_BY_A_MASTER)):
        # One directory per master: two masters on one host must not share files.
        path = tempfile.mkdtemp(prefix="dnc-metrics-")
        open(os.path.join(path, _MADE_BY_A_MASTER), "x").close()
        env["PROMETHEUS_MULTIPROC_DIR"] = path  # for the workers and prometheus_client
        _owned_dirs.append(path)
    _metrics_dir[:] = [path]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def on_exit(server):
    for path in _owned_dirs:
        shutil.rmtree(path, ignore_errors=True)


def child_exit(server, worker):
    """A worker's live values leave the sums when it exits (its counters stay counted)."""
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _metrics_dir[0])


def multi_process_memory_limits(worker_count, env):
    """The reason not to start, or None."""
    # The app's own reader of these variables: both see the same store.
    limits = rate_limit_settings(env)
    storage = limits["RATELIMIT_STORAGE_URI"]
    if worker_count <= 1 or not limits["RATELIMIT_ENABLED"] or not storage.startswith("memory://"):
        return None
    return (
        f"refusing to start {worker_count} workers with RATELIMIT_STORAGE_URI={storage}: "
        "each worker process would keep its own rate-limit counters, so every limit "
        f"(e.g. 30 writes/minute per team) would silently become {worker_count} times "
        "higher. Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 (a Redis shared by all "
        "workers and machines), or run a single worker (WEB_CONCURRENCY=1)."
    )


def post_worker_init(worker):
    """Each worker delivers webhooks from its start (unless WEBHOOK_DELIVERY=off),
    not only after its first request: events left by a killed server go out at once."""
    from dnc_app.events.webhooks.delivery import begin_stop_in_process, start_in_process

    # The service only: the benchmarks' bare Flask app (same configuration) has no webhooks.
    if "WEBHOOK_DELIVERY" in getattr(worker.wsgi, "config", {}):
        start_in_process(worker.wsgi)
        # SIGTERM: the worker drains its requests first (up to graceful_timeout), and only
        # then calls worker_exit. The delivery loop stops claiming at the signal, not then:
        # an attempt started during the drain could be cut off by the master's kill at the
        # end of graceful_timeout, and be sent again by another worker.
        on_term = signal.getsignal(signal.SIGTERM)

        def term(signum, frame):
            begin_stop_in_process()
            if callable(on_term):
                on_term(signum, frame)

        signal.signal(signal.SIGTERM, term)


def worker_exit(server, worker):
    """Graceful stop: the attempts in flight finish, no more are claimed."""
    from dnc_app.events.webhooks.delivery import stop_in_process

    stop_in_process(timeout=graceful_timeout)
