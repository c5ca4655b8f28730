"""Can the predict endpoint take the site down? (issue 12, item 1) Measured on a real server.

    .venv/bin/python scripts/reliability_predict.py                    # SQLite + filesystem broker
    .venv/bin/python scripts/reliability_predict.py --port 8610 \\
        --database-url postgres://postgres@127.0.0.1:5432/predict_async --broker-url redis://127.0.0.1:6379/2

It starts gunicorn with the repository's gunicorn.conf.py (4 sync workers, DEBUG off, production
throttles) and one Celery worker, on a throwaway var folder (and the given database, migrated;
use a throwaway one: the script adds users, a corpus and a job to it). Then:

1. the latency of an assessor's ``GET /api/campaigns/`` alone, for a few seconds (the baseline);
2. the issue's four abuse files sent 4 at a time (``--rounds`` rounds) to ``POST /api/predict/``
   by a researcher, while the assessor keeps listing campaigns every ``--poll-interval`` seconds:
   the 58-minute 192 kHz stereo FLAC (a real 2.7 MB file, encoded once and kept in var/reliability/;
   ``--quick`` uses a 1-second FLAC whose header announces the same), the 10.8 kB WAV whose header
   says 3 Hz and one hour, a truncated WAV, and a header claiming 4 GB;
3. real 10-second clips 4 at a time (two researchers), each followed to its result, while the
   assessor lists campaigns: waiting for short clips (EMOLAB_PREDICT_WAIT_S) must not hold every
   web worker (EMOLAB_PREDICT_MAX_WAITING);
4. a real 3-second clip afterwards: the whole path still works;
5. gunicorn's log read for ``WORKER TIMEOUT`` and ``SIGKILL`` (a killed web worker), and the
   upload folder for anything stored.

Before the fix (issue 12): the FLAC ran past gunicorn's 30 s timeout, four at once killed every
web worker and the campaign list waited 47 s. Target: the list under 1 s throughout, no worker killed.

``run()`` returns the rows (scenario, figure, value) for scripts/reliability.py; ``__main__`` prints them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PORT = 8610
WEB_WORKERS = 4
TARGET_LIST_S = 1.0
REAL_FLAC = REPO / "var" / "reliability" / "flac-58min-192k-stereo-silence.flac"


# --- the files -----------------------------------------------------------------------------------


def real_58_minute_flac() -> bytes:
    """58 minutes of 192 kHz stereo digital silence, encoded for real (about 40 s once, then kept):
    2.7 MB, within the byte and duration limits the issue found."""
    if not REAL_FLAC.is_file():
        import numpy as np
        import soundfile

        REAL_FLAC.parent.mkdir(parents=True, exist_ok=True)
        partial = REAL_FLAC.with_suffix(".partial")
        rate = 192_000
        with soundfile.SoundFile(str(partial), "w", rate, 2, format="FLAC", subtype="PCM_16") as handle:
            minute = np.zeros((rate * 60, 2), np.int16)
            for _ in range(58):
                handle.write(minute)
        partial.rename(REAL_FLAC)
    return REAL_FLAC.read_bytes()


def abuse_files(*, quick: bool) -> dict[str, tuple[str, bytes]]:
    sys.path.insert(0, str(REPO))
    from tests.predict_abuse import flac_58_minutes_192k_stereo, wav_3hz_one_hour, wav_claims_4gb, wav_truncated

    return {
        "58 min 192 kHz stereo FLAC": ("long.flac", flac_58_minutes_192k_stereo() if quick else real_58_minute_flac()),
        "3 Hz, one hour WAV (10.8 kB)": ("3hz.wav", wav_3hz_one_hour()),
        "truncated WAV": ("truncated.wav", wav_truncated()),
        "header claiming 4 GB": ("4gb.wav", wav_claims_4gb()),
    }


# --- inside the server's environment: the data --------------------------------------------------


def setup_data() -> None:
    """Run with the server's environment: an assessor with campaigns, a researcher, a job with a
    CTC model. Prints the tokens as JSON."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
    import django

    django.setup()
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from annotation.services.campaigns import campaign_create
    from tests.factories import job_with_ctc_model, make_user, small_corpus, tiny_ctc_model

    suffix = uuid.uuid4().hex[:6]
    assessor = make_user("assessor", username=f"rp-assessor-{suffix}")
    researcher = make_user("researcher", username=f"rp-researcher-{suffix}")
    second = make_user("researcher", username=f"rp-researcher2-{suffix}")
    corpus_root = Path(settings.VAR_DIR) / "reliability-corpus"
    corpus = small_corpus(corpus_root, name=f"rp-{suffix}")
    job = job_with_ctc_model(corpus, tiny_ctc_model())
    campaigns = 0
    for index in range(5):
        campaign_create(
            corpus=corpus,
            name=f"rp-{suffix}-{index}",
            created_by=None,
            judgments_per_item=2,
            gold_share=0.0,
            warmup_per_class=0,
            assessors=[assessor.username],
            seed=index,
        )
        campaigns += 1
    print(
        json.dumps(
            {
                "assessor": Token.objects.create(user=assessor).key,
                "researcher": Token.objects.create(user=researcher).key,
                "second_researcher": Token.objects.create(user=second).key,
                "job": job.pk,
                "campaigns": campaigns,
            }
        )
    )


# --- HTTP ----------------------------------------------------------------------------------------


def _request(port: int, method: str, path: str, token: str, body: bytes = b"", content_type: str = "", timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}
    if content_type:
        headers["Content-Type"] = content_type
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    except (OSError, http.client.HTTPException) as exc:
        return 0, str(exc).encode(), time.perf_counter() - started
    finally:
        connection.close()


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class ListPoller(threading.Thread):
    """The assessor listing campaigns every ``interval`` seconds; each request's latency."""

    def __init__(self, port: int, token: str, interval: float):
        super().__init__(daemon=True)
        self.port, self.token, self.interval = port, token, interval
        self.latencies: list[float] = []
        self.failures: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            status, _, seconds = _request(self.port, "GET", "/api/campaigns/", self.token, timeout=120)
            self.latencies.append(seconds)
            if status != 200:
                self.failures.append(status)
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=180)


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


# --- the run -------------------------------------------------------------------------------------


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def run(
    *,
    port: int = DEFAULT_PORT,
    rounds: int = 25,
    clip_rounds: int = 3,
    poll_interval: float = 0.2,
    baseline_s: float = 5.0,
    quick: bool = False,
    database_url: str | None = None,
    broker_url: str | None = None,
    keep: bool = False,
) -> list[dict]:
    files = abuse_files(quick=quick)
    folder = Path(tempfile.mkdtemp(prefix="emolab-reliability-predict-"))
    var = folder / "var"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emolab.settings",
        "EMOLAB_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url or f"sqlite:///{var / 'emolab.sqlite3'}",
        "CELERY_BROKER_URL": broker_url or "filesystem://",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WEB_WORKERS),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CACHE_URL", "REDIS_URL"):  # the throttles' cache: the database's table, as in production
        env.pop(name, None)
    gunicorn_log, worker_log = folder / "gunicorn.log", folder / "worker.log"
    web = worker = None
    rows: list[dict] = []
    scenario_abuse = f"predict abuse files, 4 at a time x {rounds}"

    def row(scenario: str, figure: str, value) -> None:
        rows.append({"scenario": scenario, "figure": figure, "value": value})

    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True
        )
        subprocess.run([PYTHON, "manage.py", "createcachetable"], cwd=REPO, env=env, check=True, capture_output=True)
        setup = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--setup"], cwd=REPO, env=env, check=True, capture_output=True
        )
        data = json.loads(setup.stdout.decode().strip().splitlines()[-1])

        with gunicorn_log.open("w") as log:
            web = subprocess.Popen(
                [str(Path(PYTHON).parent / "gunicorn"), "-c", "gunicorn.conf.py", "emolab.wsgi:application"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with worker_log.open("w") as log:
            worker = subprocess.Popen(
                [PYTHON, "-m", "celery", "-A", "emolab", "worker", "--loglevel=INFO", "--concurrency=1"]
                + [
                    "-n",
                    f"reliability-predict-{port}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(
            lambda: _request(port, "GET", "/api/campaigns/", data["assessor"], timeout=5)[0] == 200, 180, "gunicorn"
        )
        _wait_for(lambda: " ready." in worker_log.read_text(), 180, "the Celery worker")

        # 1. The baseline.
        baseline = ListPoller(port, data["assessor"], poll_interval)
        baseline.start()
        time.sleep(baseline_s)
        baseline.stop()
        row("campaign list alone", "requests", len(baseline.latencies))
        row("campaign list alone", "p95 latency (ms)", round(1000 * _p95(baseline.latencies)))
        row("campaign list alone", "max latency (ms)", round(1000 * max(baseline.latencies)))

        # 2. The abuse files, 4 at a time, while the assessor lists campaigns.
        poller = ListPoller(port, data["assessor"], poll_interval)
        poller.start()
        answers: dict[str, list] = {name: [] for name in files}
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(rounds):
                futures = {
                    name: pool.submit(
                        _request, port, "POST", "/api/predict/", data["researcher"], *_multipart(file_name, content)
                    )
                    for name, (file_name, content) in files.items()
                }
                for name, future in futures.items():
                    answers[name].append(future.result())
        load_s = time.perf_counter() - started
        time.sleep(1.0)  # the list once more after the last upload
        poller.stop()
        row(scenario_abuse, "campaign list requests during the load", len(poller.latencies))
        row(scenario_abuse, "campaign list p95 latency (ms)", round(1000 * _p95(poller.latencies)))
        row(scenario_abuse, "campaign list max latency (ms)", round(1000 * max(poller.latencies)))
        row(scenario_abuse, "campaign list answers other than 200", len(poller.failures))
        row(
            scenario_abuse,
            f"campaign list under {TARGET_LIST_S:.0f} s throughout",
            max(poller.latencies) < TARGET_LIST_S,
        )
        row(scenario_abuse, "load duration (s)", round(load_s, 2))
        for name, results in answers.items():
            statuses = sorted({status for status, _, _ in results})
            detail = _detail(results[-1][1])
            row(f"POST /api/predict/: {name}", "statuses", "/".join(map(str, statuses)) + f" x {len(results)}")
            row(f"POST /api/predict/: {name}", "slowest answer (ms)", round(1000 * max(s for _, _, s in results)))
            row(f"POST /api/predict/: {name}", "detail", detail[:160])
        stored = sorted((var / "media" / "predictions").glob("*")) if (var / "media" / "predictions").is_dir() else []
        row(scenario_abuse, "uploads stored for refused files", len(stored))

        # 3. Real clips, 4 at a time (two researchers, two each: their EMOLAB_PREDICT_MAX_ACTIVE): the
        # waits must not hold every web worker either.
        sys.path.insert(0, str(REPO))
        from tests.predict_abuse import real_wav

        scenario_clips = f"10 s clips, 4 at a time (2 researchers) x {clip_rounds}"
        clip = real_wav(10.0)
        tokens = [data["researcher"], data["researcher"], data["second_researcher"], data["second_researcher"]]
        poller = ListPoller(port, data["assessor"], poll_interval)
        poller.start()
        statuses: list[int] = []
        to_result: list[float] = []
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(clip_rounds):
                futures = [pool.submit(_post_and_follow, port, token, clip) for token in tokens]
                for future in futures:
                    status, seconds = future.result()
                    statuses.append(status)
                    to_result.append(seconds)
        poller.stop()
        counts = {code: statuses.count(code) for code in sorted(set(statuses))}
        row(scenario_clips, "first answers", ", ".join(f"{n} x {code}" for code, n in counts.items()))
        row(
            scenario_clips,
            "seconds to the result, median / max",
            f"{statistics.median(to_result):.1f} / {max(to_result):.1f}",
        )
        row(scenario_clips, "campaign list p95 latency (ms)", round(1000 * _p95(poller.latencies)))
        row(scenario_clips, "campaign list max latency (ms)", round(1000 * max(poller.latencies)))
        row(
            scenario_clips,
            f"campaign list under {TARGET_LIST_S:.0f} s throughout",
            max(poller.latencies) < TARGET_LIST_S,
        )

        # 4. The whole path still works.
        started_clip = time.perf_counter()
        status, body, seconds = _request(
            port, "POST", "/api/predict/", data["researcher"], *_multipart("clip.wav", real_wav(3.0))
        )
        row("a 3 s clip afterwards", "status", status)
        row("a 3 s clip afterwards", "answer (ms)", round(1000 * seconds))
        if status == 202:  # not done within the wait: follow it to the end
            location = json.loads(body)["id"]
            deadline = time.monotonic() + 120
            state = "queued"
            while state in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
                state = json.loads(_request(port, "GET", f"/api/predictions/{location}/", data["researcher"])[1])[
                    "status"
                ]
            row("a 3 s clip afterwards", "status when polled to the end", state)
            row("a 3 s clip afterwards", "seconds to the result", round(time.perf_counter() - started_clip, 2))
    finally:
        _stop(web)
        _stop(worker)
    log = gunicorn_log.read_text() if gunicorn_log.exists() else ""
    killed = log.count("WORKER TIMEOUT") + log.count("SIGKILL")
    row("gunicorn", "web workers killed (WORKER TIMEOUT / SIGKILL in its log)", killed)
    row("gunicorn", "web workers booted (4 at the start)", log.count("Booting worker"))
    if not keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    else:
        row("logs", "folder", str(folder))
    return rows


def _post_and_follow(port: int, token: str, content: bytes) -> tuple[int, float]:
    """POST a clip and poll its prediction to the end: (the POST's status, seconds to the result)."""
    started = time.perf_counter()
    status, body, _ = _request(port, "POST", "/api/predict/", token, *_multipart("clip.wav", content))
    if status == 202:
        prediction = json.loads(body)["id"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            time.sleep(0.5)
            polled = _request(port, "GET", f"/api/predictions/{prediction}/", token)
            if json.loads(polled[1])["status"] in ("succeeded", "failed"):
                break
    return status, time.perf_counter() - started


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", ""))
    except (ValueError, AttributeError):
        return body[:160].decode(errors="replace")


def print_table(rows: list[dict]) -> None:
    width_s = max(len(r["scenario"]) for r in rows)
    width_f = max(len(r["figure"]) for r in rows)
    print(f"| {'scenario':<{width_s}} | {'figure':<{width_f}} | value |")
    print(f"|{'-' * (width_s + 2)}|{'-' * (width_f + 2)}|-------|")
    for r in rows:
        print(f"| {r['scenario']:<{width_s}} | {r['figure']:<{width_f}} | {r['value']} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)  # inside the server's environment
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--rounds", type=int, default=25, help="rounds of the four files sent at once")
    parser.add_argument("--clip-rounds", type=int, default=3, help="rounds of four real clips at once")
    parser.add_argument("--poll-interval", type=float, default=0.2, help="seconds between campaign lists")
    parser.add_argument("--quick", action="store_true", help="a FLAC whose header lies instead of the real 2.7 MB one")
    parser.add_argument("--database-url", help="a throwaway database (default: SQLite in a temporary folder)")
    parser.add_argument("--broker-url", help="the Celery broker (default: the filesystem, in the temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the logs")
    args = parser.parse_args()
    if args.setup:
        setup_data()
        return 0
    rows = run(
        port=args.port,
        rounds=args.rounds,
        clip_rounds=args.clip_rounds,
        poll_interval=args.poll_interval,
        quick=args.quick,
        database_url=args.database_url,
        broker_url=args.broker_url,
        keep=args.keep,
    )
    print_table(rows)
    met = all(r["value"] for r in rows if r["figure"].startswith("campaign list under"))
    killed = next(r["value"] for r in rows if r["figure"].startswith("web workers killed"))
    return 0 if met and killed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
