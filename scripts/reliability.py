"""The failure tests of a real deployment, in one run (issue 12, item 7): prints a table of figures.

    .venv/bin/python scripts/reliability.py
    .venv/bin/python scripts/reliability.py --scenarios assessors,double    # a subset

On its own PostgreSQL database (``--database``, recreated) and Redis (``--broker-url``), it starts
gunicorn with the repository's ``gunicorn.conf.py`` (DEBUG off), Celery beat and Celery workers,
and runs:

1. ``assessors``: ``--clients`` (50) assessors without a pause through the API for ``--seconds``;
   the answers the clients saw accepted (201) are counted against the judgment rows, with the other
   invariants of scripts/bench_labelling.py (whose set-up, server and load helpers this reuses).
2. ``double``: double-submits sent at the same instant: the same answer twice (one row, one 201,
   the other 200 or 409) and two different answers (one row, holding the answer that got the 201;
   the other 409).
3. ``worker``: a training job whose Celery worker is SIGKILLed (main process and pool, as by the
   OOM killer) in the middle of a fold. Celery beat runs the watchdog every
   ``--watchdog-interval`` seconds with a fold time limit of ``--fold-limit`` seconds (short, so
   the run is short; production: 3 hours, every minute); a replacement worker is started at once,
   as a supervisor would. Nobody opens a page. The job must succeed with the same results and
   predictions as the same job run without interruption.
4. ``broker``: the broker unreachable when a job is started (the web server reaches Redis through a
   TCP relay in this script, which is stopped): 503 JSON within seconds, the job failed with the
   reason, resume 503 while down; the relay back, resume 200 and the job succeeds.
5. ``predict``: if ``scripts/reliability_predict.py`` exists (the predict abuse files sent 4 at a
   time while an assessor lists campaigns; its own server on ``--port`` + 2), its rows.

Exit status 1 if any check fails. The figures depend on the machine's load (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

import bench_labelling as bench  # noqa: E402  (the server, set-up and load helpers; scripts/ is on the path)

SCENARIOS = ("assessors", "double", "worker", "broker", "predict")
CLASSES = bench.CLASSES


# --- In a subprocess with Django: the job's corpus and an admin token --------------------------------


def _jobs_setup(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus-dir", required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from tests.factories import make_corpus, make_user

    # Tones of different pitch per class: four speakers, so two folds grouped by speaker pair.
    corpus = make_corpus(
        Path(args.corpus_dir), name="tones", speakers=("s1", "s2", "s3", "s4"), per_speaker_class=3, seconds=1.5
    )
    admin = make_user("admin", username="reliability-admin")
    token, _ = Token.objects.get_or_create(user=admin)
    print(json.dumps({"corpus": corpus.name, "admin_token": token.key}))


# --- A TCP relay to Redis: "the broker is down" without touching the shared Redis ---------------------


class Relay:
    """Forwards ``listen_port`` to ``target``; ``stop()`` closes the port and every connection (a
    broker that went away: connection refused), ``start()`` opens it again."""

    def __init__(self, listen_port: int, target: tuple[str, int]):
        self.listen_port, self.target = listen_port, target
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.writers: set = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.writers |= {client_writer, upstream_writer}
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        self.writers -= {client_writer, upstream_writer}

    async def _start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port, reuse_address=True)

    async def _stop(self):
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)


# --- The run -------------------------------------------------------------------------------------------


class Table:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, scenario: str, figure: str, value, expected: str = "", ok: bool | None = None) -> None:
        self.rows.append({"scenario": scenario, "figure": figure, "value": value, "expected": expected, "ok": ok})
        mark = "" if ok is None else ("  ok" if ok else "  FAIL")
        print(f"   {figure}: {value}{f' (expected {expected})' if expected else ''}{mark}", flush=True)

    @property
    def failed(self) -> bool:
        return any(row["ok"] is False for row in self.rows)

    def print(self) -> None:
        print("\n| scenario | figure | value | expected | |")
        print("|---|---|---|---|---|")
        for row in self.rows:
            ok = {None: "", True: "ok", False: "**FAIL**"}[row.get("ok")]
            print(f"| {row['scenario']} | {row['figure']} | {row['value']} | {row.get('expected', '')} | {ok} |")


def api(args, method: str, path: str, token: str, body: dict | None = None, timeout: float = 60.0):
    status, content = asyncio.run(bench.http(args.host, args.port, method, path, token, body, timeout))
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, content[:200]


def start_celery(env: dict, var_dir: Path, name: str, *command: str) -> subprocess.Popen:
    log = open(var_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "emolab", *command],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_worker(env: dict, var_dir: Path, name: str) -> subprocess.Popen:
    return start_celery(env, var_dir, name, "worker", "--loglevel=INFO", "--concurrency=1", "-n", f"{name}@%h")


def stop_process(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


class Database:
    def __init__(self, url: str):
        import psycopg

        self.db = psycopg.connect(url, autocommit=True)

    def one(self, sql: str, *params):
        return self.db.execute(sql, params).fetchone()

    def all(self, sql: str, *params):
        return self.db.execute(sql, params).fetchall()


def scenario_assessors(args, table: Table, setup: dict, server, database_url: str) -> None:
    print(f"\n== {args.clients} concurrent assessors for {args.seconds:g} s", flush=True)
    workload = setup["workloads"]["closed"]
    bench.warm_up_workers(args, workload)
    run = bench.run_workload("closed", args, workload, server.pid, database_url)
    summary = bench.summarise(run)
    checks = bench.check_invariants(database_url, workload, run)
    answered = sum(len(items) for items in run.answered.values())
    errors = sum(summary[e]["5xx"] + summary[e]["no answer"] for e in ("next", "answers") if e in summary)
    table.add("assessors", "requests (req/s)", f"{len(run.samples)} ({summary['rps']:.1f}/s)")
    table.add("assessors", "answers accepted (201)", answered)
    for endpoint in ("next", "answers"):
        if endpoint in summary:
            table.add("assessors", f"p95 {endpoint}", f"{summary[endpoint]['p95']:.0f} ms")
    table.add("assessors", "5xx or no answer", errors, "0", errors == 0)
    for label, ok, detail in checks:
        table.add("assessors", label, detail, "holds", ok)


async def _double(args, campaign: int, assessor: dict, labels: tuple[str, str]):
    token = assessor["token"]
    status, content = await bench.http(
        args.host, args.port, "GET", f"/api/campaigns/{campaign}/next/", token, None, args.request_timeout
    )
    item = json.loads(content)["item"] if status == 200 else None
    if item is None:
        return None
    path = f"/api/campaigns/{campaign}/answers/"
    bodies = [{"item": item["id"], "label": label, "response_ms": 2000, "replays": 0} for label in labels]
    results = await asyncio.gather(
        *[bench.http(args.host, args.port, "POST", path, token, body, args.request_timeout) for body in bodies]
    )
    return item["id"], [status for status, _ in results]


def scenario_double(args, table: Table, setup: dict, database: Database) -> None:
    print(f"\n== double submits ({args.double_submits} duplicate, {args.double_submits} conflicting)", flush=True)
    workload = setup["workloads"]["open"]
    campaign = workload["campaign"]
    assessors = workload["assessors"]
    half = len(assessors) // 2

    async def main():
        duplicate = [_double(args, campaign, a, (CLASSES[0], CLASSES[0])) for a in assessors[:half]]
        conflicting = [_double(args, campaign, a, (CLASSES[0], CLASSES[1])) for a in assessors[half : 2 * half]]
        return await asyncio.gather(*duplicate), await asyncio.gather(*conflicting)

    duplicate, conflicting = asyncio.run(main())

    def rows(assessor_id, public_id):
        return database.all(
            """SELECT j.answer FROM annotation_judgment j JOIN annotation_campaignitem i ON i.id = j.item_id
               WHERE j.assessor_id = %s AND i.public_id::text = %s""",
            assessor_id,
            public_id,
        )

    def judge(name, pairs, users, labels, accept):
        good = sent = 0
        outcomes = {}
        for user, pair in zip(users, pairs, strict=True):
            if pair is None:
                continue
            sent += 1
            item, statuses = pair
            outcomes[tuple(sorted(statuses))] = outcomes.get(tuple(sorted(statuses)), 0) + 1
            stored = rows(user["id"], item)
            winner = labels[statuses.index(201)] if statuses.count(201) == 1 else None
            if accept(statuses) and len(stored) == 1 and stored[0][0] == winner:
                good += 1
        answers = ", ".join(f"{'+'.join(map(str, k))}: {v}" for k, v in sorted(outcomes.items()))
        table.add("double", f"{name}: status pairs", answers or "none")
        table.add("double", f"{name}: one row with the 201's answer", f"{good}/{sent}", f"{sent}/{sent}", good == sent)

    judge(
        "same answer twice",
        duplicate,
        assessors[:half],
        (CLASSES[0], CLASSES[0]),
        lambda s: sorted(s) in ([200, 201], [201, 409]),
    )
    judge(
        "two different answers",
        conflicting,
        assessors[half : 2 * half],
        (CLASSES[0], CLASSES[1]),
        lambda s: sorted(s) == [201, 409],
    )


def _start_job(args, jobs: dict, database: Database, epochs: int):
    status, body = api(
        args,
        "POST",
        "/api/jobs/",
        jobs["admin_token"],
        {"corpus": jobs["corpus"], "methods": ["onelabel"], "preset": "fast", "folds": 2, "seed": 3},
    )
    if status != 201:
        sys.exit(f"POST /api/jobs/ answered {status}: {body}")
    # Before any worker takes it: enough epochs for a fold to last a few seconds.
    database.db.execute(
        "UPDATE models_app_trainingjob SET config = jsonb_set(config::jsonb, '{training,epochs}', %s::jsonb) "
        "WHERE id = %s",
        (json.dumps(epochs), body["id"]),
    )
    return body["id"]


def _job_status(database: Database, job_id: int) -> str:
    return database.one("SELECT status FROM models_app_trainingjob WHERE id = %s", job_id)[0]


def _finished(database: Database, job_id: int) -> str | None:
    status = _job_status(database, job_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def _outcome(database: Database, job_id: int):
    results = database.one("SELECT results FROM models_app_trainingjob WHERE id = %s", job_id)[0]
    predictions = database.all(
        """SELECT row, utterance_id, predicted_label, probabilities::text FROM models_app_utteranceprediction
           WHERE job_id = %s ORDER BY row, utterance_id""",
        job_id,
    )
    return results, predictions


def scenario_worker(args, table: Table, jobs: dict, database: Database, env: dict, var_dir: Path):
    print("\n== a worker SIGKILLed during a fold; beat's watchdog; a replacement worker", flush=True)
    job_id = _start_job(args, jobs, database, args.epochs)
    worker = start_worker(env, var_dir, "worker-1")
    unit = wait_for(
        lambda: database.one(
            "SELECT id FROM models_app_jobunit WHERE job_id = %s AND kind = 'fold' AND status = 'running' "
            "AND progress > 0",
            job_id,
        ),
        timeout=300,
    )
    if unit is None:
        stop_process(worker)
        table.add("worker", "a fold started training", "no (see worker-1.log)", "yes", False)
        return None
    unit_id = unit[0]
    stop_process(worker, signal.SIGKILL)
    killed = time.monotonic()
    table.add("worker", "killed", f"worker main process and pool (SIGKILL), fold unit {unit_id} running")
    replacement = start_worker(env, var_dir, "worker-2")
    requeued = wait_for(
        lambda: database.one("SELECT requeues FROM models_app_jobunit WHERE id = %s AND requeues > 0", unit_id),
        timeout=args.fold_limit + 10 * args.watchdog_interval + 120,
    )
    requeue_s = time.monotonic() - killed
    limit = args.fold_limit + args.watchdog_interval
    table.add(
        "worker",
        "kill -> re-queued by the watchdog",
        f"{requeue_s:.0f} s" if requeued else "never",
        f"<= limit + interval = {limit} s (+ a few s)",
        bool(requeued) and requeue_s <= limit + 30,
    )
    status = wait_for(lambda: _finished(database, job_id), timeout=600, interval=0.5)
    table.add(
        "worker",
        "kill -> job finished",
        f"{time.monotonic() - killed:.0f} s, {status}",
        "succeeded",
        status == "succeeded",
    )
    attempts = database.one("SELECT attempts, requeues FROM models_app_jobunit WHERE id = %s", unit_id)
    table.add(
        "worker",
        "the killed unit's attempts, re-queues",
        f"{attempts[0]}, {attempts[1]}",
        "2, 1",
        tuple(attempts) == (2, 1),
    )
    reference_id = _start_job(args, jobs, database, args.epochs)
    reference = wait_for(lambda: _finished(database, reference_id), timeout=600, interval=0.5)
    same = status == reference == "succeeded" and _outcome(database, job_id) == _outcome(database, reference_id)
    table.add(
        "worker", "results and predictions = an uninterrupted run's", "same" if same else "DIFFERENT", "same", same
    )
    return replacement


def scenario_broker(args, table: Table, jobs: dict, database: Database, relay: Relay) -> None:
    print("\n== the broker unreachable at enqueue", flush=True)
    token = jobs["admin_token"]
    relay.stop()
    try:
        started = time.monotonic()
        status, body = api(
            args,
            "POST",
            "/api/jobs/",
            token,
            {"corpus": jobs["corpus"], "methods": ["dummy"], "preset": "fast", "folds": 2, "seed": 0},
        )
        elapsed = time.monotonic() - started
        is_json = isinstance(body, dict)
        table.add(
            "broker",
            "POST /api/jobs/ while down",
            f"{status} in {elapsed:.1f} s",
            "503 JSON in < 10 s",
            status == 503 and is_json and elapsed < 10,
        )
        job_id = body.get("job") if is_json else None
        if job_id is None:
            return
        error = database.one("SELECT status, error FROM models_app_trainingjob WHERE id = %s", job_id)
        table.add(
            "broker",
            "the job",
            f"{error[0]}: {error[1][:40]}...",
            "failed: the task queue is unreachable",
            error[0] == "failed" and error[1].startswith("the task queue is unreachable"),
        )
        status, _ = api(args, "POST", f"/api/jobs/{job_id}/resume/", token)
        table.add("broker", "resume while down", status, "503", status == 503)
    finally:
        relay.start()
    status, body = api(args, "POST", f"/api/jobs/{job_id}/resume/", token)
    table.add("broker", "resume once back", status, "200", status == 200)
    finished = wait_for(lambda: _finished(database, job_id), timeout=300, interval=0.5)
    table.add("broker", "the resumed job", finished or "not finished in 300 s", "succeeded", finished == "succeeded")


def scenario_predict(args, table: Table) -> None:
    print("\n== predict abuse files (scripts/reliability_predict.py)", flush=True)
    try:
        import reliability_predict
    except ImportError:
        table.add("predict", "scripts/reliability_predict.py", "absent: not run")
        return
    # Its own gunicorn and worker, on the next port, a throwaway PostgreSQL database and this Redis.
    database = f"{args.database}_predict"
    bench.recreate_database(args.database_url, database)
    rows = reliability_predict.run(
        port=args.port + 2,
        rounds=args.predict_rounds,
        database_url=bench._database_url(args.database_url, database),
        broker_url=args.broker_url,
    )
    for row in rows:
        table.rows.append({"expected": "", "ok": None, **row})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), type=lambda s: [w for w in s.split(",") if w])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="jobs_reliability_run")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8620)
    parser.add_argument("--relay-port", type=int, default=8621, help="the web server's way to Redis")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--double-submits", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=600, help="per fold of the killed job (a few seconds)")
    parser.add_argument("--fold-limit", type=int, default=60, help="the folds' hard time limit, seconds")
    parser.add_argument("--watchdog-interval", type=int, default=5)
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--predict-rounds", type=int, default=25, help="rounds of the four abuse files at once")
    args = parser.parse_args(argv)
    # What bench_labelling's helpers read.
    args.closed_seconds = args.seconds
    broker = urllib.parse.urlparse(args.broker_url)
    web_args = argparse.Namespace(**vars(args))
    web_args.broker_url = args.broker_url.replace(broker.netloc, f"127.0.0.1:{args.relay_port}")

    print(f"uptime: {bench._loadavg()}", flush=True)
    import redis

    queue = redis.Redis.from_url(args.broker_url)
    queue.delete("celery", "unacked", "unacked_index")  # nothing left from an earlier run
    database_url = bench._database_url(args.database_url, args.database)
    var_dir = Path(tempfile.mkdtemp(prefix="reliability-"))
    env = bench.server_environment(web_args, database_url, var_dir)
    env.update(
        MEDIA_ROOT=str(var_dir / "media"),
        EMOLAB_FOLD_TIME_LIMIT_S=str(args.fold_limit),
        EMOLAB_WATCHDOG_INTERVAL_S=str(args.watchdog_interval),
    )
    celery_env = {**env, "CELERY_BROKER_URL": args.broker_url}
    bench.recreate_database(args.database_url, args.database)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)
    n_double = 2 * args.double_submits
    setup_args = argparse.Namespace(**vars(args))
    setup = json.loads(
        bench._worker(
            setup_args,
            REPO,
            env,
            "_setup",
            "--items",
            str(args.items),
            "--target",
            "2",
            "--gold-share",
            "0.1",
            "--clients",
            str(args.clients),
            "--assessors",
            str(n_double),
            "--seed",
            "12",
        )
    )
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_jobs_setup", "--corpus-dir", str(var_dir / "corpus")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"job set-up failed:\n{result.stderr[-3000:]}")
    jobs = json.loads(result.stdout.strip().splitlines()[-1])
    database = Database(database_url)
    relay = Relay(args.relay_port, (broker.hostname or "127.0.0.1", broker.port or 6379))
    relay.start()
    table = Table()
    processes = []
    server = bench.start_server(REPO, env, var_dir, args)
    try:
        processes.append(
            start_celery(
                celery_env, var_dir, "beat", "beat", "--loglevel=INFO", "--schedule", str(var_dir / "beat-schedule")
            )
        )
        if "assessors" in args.scenarios:
            scenario_assessors(args, table, setup, server, database_url)
        if "double" in args.scenarios:
            scenario_double(args, table, setup, database)
        worker = None
        if "worker" in args.scenarios:
            worker = scenario_worker(args, table, jobs, database, celery_env, var_dir)
        if "broker" in args.scenarios:
            worker = worker or start_worker(celery_env, var_dir, "worker-2")
            scenario_broker(args, table, jobs, database, relay)
        if worker is not None:
            processes.append(worker)
    finally:
        bench.stop_server(server)
        for process in processes:
            stop_process(process)
    if "predict" in args.scenarios:
        scenario_predict(args, table)
    table.print()
    print(f"\nuptime: {bench._loadavg()}; logs kept in {var_dir}" if table.failed else f"\nuptime: {bench._loadavg()}")
    if not table.failed:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 1 if table.failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_jobs_setup":
        _jobs_setup(sys.argv[2:])
    else:
        sys.exit(main())
