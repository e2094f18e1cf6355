"""``gateway serve`` with cProfile on every thread, for ``bench.service --profile-server``.

The same start-up as ``gateway.cli_service.serve`` (migrated store, master key, metrics bound,
``create_app`` under uvicorn), but each thread the server starts (anyio's worker threads
run the pipeline, the delivery runner its own) gets its own ``cProfile.Profile``; at shutdown
(SIGINT) they are merged into one stats file. cProfile slows Python code down by about 2x,
so this run's throughput is not a figure; its shares are.

With ``--cpu`` the timer is ``time.thread_time``: each thread's CPU, so the waits (a pooled
connection, the SQLite write lock, the validator) drop out and what is left is where the
server's one GIL goes.

    python -m bench._load --port P --out FILE [--cpu]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_timer: Any = None  # time.thread_time with --cpu: each thread's CPU time, waits left out


def _start_in_thread(frame: Any, event: str, arg: Any) -> None:
    """First profile event of a new thread: replace this hook with a real profiler."""
    profiler = cProfile.Profile(_timer) if _timer else cProfile.Profile()
    with _lock:
        _profiles.append(profiler)
    sys.setprofile(None)
    profiler.enable()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cpu", action="store_true", help="time CPU per thread, not wall time")
    args = parser.parse_args()
    global _timer
    if args.cpu:
        import time

        _timer = time.thread_time

    import uvicorn

    from gateway.api import create_app
    from gateway.cli_service import master_box, open_store
    from gateway.logging import configure
    from gateway.metrics import bind_store

    configure(json=True)
    store = open_store()
    box = master_box(store)
    bind_store(store)
    app = create_app(store=store, box=box)
    threading.setprofile(_start_in_thread)
    main_profile = cProfile.Profile(_timer) if _timer else cProfile.Profile()
    main_profile.enable()
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None)
    finally:
        main_profile.disable()
        threading.setprofile(None)
        with _lock:
            profiles = [main_profile, *_profiles]
        for p in profiles[1:]:
            p.disable()  # only stops this thread's; the others' data is read as it is
        stats = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            try:
                stats.add(p)
            except (TypeError, ValueError):
                continue  # a profiler still running in a thread that did not end
        stats.dump_stats(args.out)


if __name__ == "__main__":
    main()
