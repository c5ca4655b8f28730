"""Labelling at crowd scale: the production server under many assessors, before and after, in one run.

    .venv/bin/python scripts/bench_labelling.py                      # baseline and current code
    .venv/bin/python scripts/bench_labelling.py --baseline none      # current code only

For each variant of the code (``--baseline``: a git commit, checked out with ``git archive`` into a
temporary folder, default the main branch before the crowd-scale work; and the working tree), it

1. recreates its own PostgreSQL database (``bench_labelling_baseline``, ``bench_labelling``), runs
   the migrations of that code, and creates a corpus of ``--items`` utterances (rows only: the
   workloads never fetch audio), assessors with API tokens, and one campaign per workload;
2. starts gunicorn with the repository's ``gunicorn.conf.py`` (``--workers`` sync workers, DEBUG
   off, throttles set far above the load so they cannot shape it);
3. runs the closed loop (``--clients`` assessors, each ``next`` then ``answers`` with no pause) and
   the open loop (``--assessors`` assessors: ``next``, a think time drawn from 3-8 s while the clip
   plays, ``answers``, another think time while the feedback is read, and again), with an asyncio
   client on plain sockets in this process;
4. checks the invariants against the database: judgment rows = 201 answers seen by the clients, no
   main utterance over its target (judgments, nor judgments + live reservations), nobody twice on
   an utterance, every item handed out either answered or still reserved for its assessor, at most
   one open reservation per assessor, and (when the schema has the counters) every item's stored
   load equal to its judgments + counted reservations;
5. profiles single requests in process (``--profile-requests`` of each endpoint, on the closed-loop
   campaign after its run): statements and SQL time per request, time a lock is held, service time
   and the rest (Django, DRF, serialisation).

It prints throughput and p50/p95/p99 per endpoint, 5xx and other refusals, the client's and the
server's CPU share and the load average (the figures mean little on a busy machine), the targets
of issue 17, and the ratio current / baseline. Exit status 1 if an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The main branch when issue 17 was started: one campaign-wide lock around every choice.
DEFAULT_BASELINE = "9690d32cdde5e7163598023318bb9cbceb504fa6"
CLASSES = ["anger", "happiness", "neutral", "sadness"]
GENEROUS_RATE = "1000000/minute"  # throttles exist to stop abuse, not to shape a benchmark
TARGETS = {
    "closed_rps": 150.0,
    "closed_p95_ms": 500.0,
    "open_p95_ms": 150.0,
}


# --- Inside one variant of the code: data set-up and the in-process profile -----------------------


def _django(code_dir: Path) -> None:
    sys.path.insert(0, str(code_dir))
    os.chdir(code_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
    import django

    django.setup()


def worker_setup(args) -> None:
    """Corpus, assessors with tokens and the campaigns; prints what the load generator needs."""
    _django(Path(args.code_dir))
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from annotation.models import Corpus, Session, Speaker, Utterance
    from annotation.services.campaigns import campaign_create

    rng = random.Random(args.seed)
    corpus = Corpus.objects.create(
        name="bench", format="manifest", source_path="/nonexistent/bench", classes=CLASSES, is_synthetic=True
    )
    speakers = [
        Speaker.objects.create(corpus=corpus, code=f"s{i:02d}", gender="F" if i % 2 else "M") for i in range(10)
    ]
    sessions = [Session.objects.create(corpus=corpus, code=f"s{i:02d}") for i in range(10)]
    utterances = []
    for index in range(args.items):
        speaker = index % 10
        dissenting = 0 if rng.random() < 0.6 else 1
        utterances.append(
            Utterance(
                corpus=corpus,
                name=f"u{index:06d}",
                speaker=speakers[speaker],
                session=sessions[speaker],
                audio_path=f"u{index:06d}.wav",
                audio_sha256="0" * 64,
                duration_s=round(rng.uniform(2.0, 8.0), 3),
                sample_rate=16000,
                label=CLASSES[index % len(CLASSES)],
                source_label=CLASSES[index % len(CLASSES)],
                rule_label=CLASSES[index % len(CLASSES)],
                n_raters=3,
                n_dissenting=dissenting,
            )
        )
    Utterance.objects.bulk_create(utterances, batch_size=1000)

    group, _ = Group.objects.get_or_create(name="assessor")

    def make_users(prefix: str, n: int) -> list:
        users = User.objects.bulk_create([User(username=f"{prefix}{i:04d}", password="!") for i in range(n)])
        users = list(User.objects.filter(username__startswith=prefix).order_by("username"))
        group.user_set.add(*users)
        Token.objects.bulk_create([Token(user=user, key=Token.generate_key()) for user in users])
        return users

    # The parameter naming the assessors was renamed after the baseline commit.
    parameters = inspect.signature(campaign_create).parameters
    named = "assessors" if "assessors" in parameters else "assessor_usernames"
    # The listening rule (issue 15) refuses answers sooner than the clip's length: a browser's
    # behaviour, not the server path measured here, and absent from the baseline commit.
    listening = {"min_listen_fraction": 0.0} if "min_listen_fraction" in parameters else {}
    out = {"workloads": {}}
    for workload, n_users in (("closed", args.clients), ("open", args.assessors)):
        # One more named assessor than the load uses: the profile runs as that one afterwards.
        users = make_users(f"{workload}-", n_users + 1)
        campaign = campaign_create(
            corpus=corpus,
            name=workload,
            created_by=None,
            judgments_per_item=args.target,
            gold_share=args.gold_share,
            **{named: [user.username for user in users]},
            **listening,
            seed=args.seed,
        )
        tokens = dict(Token.objects.filter(user__in=users).values_list("user__username", "key"))
        out["workloads"][workload] = {
            "campaign": campaign.pk,
            "target": campaign.judgments_per_item,
            "classes": campaign.classes,
            "assessors": [{"username": u.username, "id": u.pk, "token": tokens[u.username]} for u in users],
        }
    print(json.dumps(out))


def worker_profile(args) -> None:
    """Single requests through Django's full stack (middleware, DRF, services), one after the other:
    statements, SQL time, lock held, service time. Prints JSON."""
    _django(Path(args.code_dir))
    from django.db import connections
    from django.test import Client

    import annotation.api.views as api_views

    connection = connections["default"]
    events: list = []  # (kind, t_start, t_end, sql)

    def record_sql(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            events.append(("sql", started, time.perf_counter(), sql))

    connection.ensure_connection()
    original_commit = connection.commit

    def commit():
        started = time.perf_counter()
        original_commit()
        events.append(("commit", started, time.perf_counter(), "COMMIT"))

    connection.commit = commit

    def timed_service(function):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                events.append(("service", started, time.perf_counter(), function.__name__))

        return wrapper

    api_views.assignment_next = timed_service(api_views.assignment_next)
    api_views.judgment_record = timed_service(api_views.judgment_record)

    def takes_shared_lock(sql: str) -> bool:
        """A lock other assessors can meet: the campaign row (the baseline's lock around every choice)
        or, now, one item's row (FOR NO KEY UPDATE). Locks on the assessor's own reservations are not."""
        upper = sql.upper()
        return "FOR NO KEY UPDATE" in upper or ("FOR UPDATE" in upper and 'FROM "annotation_campaign" ' in sql)

    def held_until_commit(statements, commits) -> float:
        if not statements or not commits:
            return 0.0
        return (commits[-1][2] - statements[0][2]) * 1000

    client = Client(HTTP_AUTHORIZATION=f"Token {args.token}")
    campaign = args.campaign
    rows = []
    with connection.execute_wrapper(record_sql):
        for _ in range(args.requests):
            for endpoint in ("next", "answers"):
                events.clear()
                started = time.perf_counter()
                if endpoint == "next":
                    response = client.get(f"/api/campaigns/{campaign}/next/")
                    body = response.json()
                    if body.get("item") is None:
                        break
                    item_id = body["item"]["id"]
                else:
                    response = client.post(
                        f"/api/campaigns/{campaign}/answers/",
                        {"item": item_id, "label": CLASSES[0], "response_ms": 1000, "replays": 0},
                        content_type="application/json",
                    )
                wall = time.perf_counter() - started
                sql = [e for e in events if e[0] == "sql"]
                commits = [e for e in events if e[0] == "commit"]
                shared_lock = held_until_commit([e for e in sql if takes_shared_lock(e[3])], commits)
                own_lock = held_until_commit([e for e in sql if "pg_advisory_xact_lock(" in e[3]], commits)
                service = sum(e[2] - e[1] for e in events if e[0] == "service")
                rows.append(
                    {
                        "endpoint": endpoint,
                        "status": response.status_code,
                        "wall_ms": wall * 1000,
                        "n_sql": len(sql),
                        "sql_ms": sum(e[2] - e[1] for e in sql) * 1000,
                        "shared_lock_ms": shared_lock,
                        "own_lock_ms": own_lock,
                        "service_ms": service * 1000,
                        "statements": [(round((e[2] - e[1]) * 1000, 3), " ".join(e[3].split())[:150]) for e in sql],
                    }
                )
            else:
                continue
            break
    print(json.dumps(rows))


# --- The load generator ---------------------------------------------------------------------------


@dataclass
class Sample:
    endpoint: str
    started: float
    latency: float
    status: int  # 0: no answer (connection refused or reset, client timeout)


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    handed: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # user id -> item ids
    answered: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))  # 201s
    repeats: int = 0  # 200 answers (an idempotent repeat; the clients never send one)
    finished: int = 0  # assessors told they are finished
    elapsed: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    system_busy: float = 0.0
    load_before: str = ""
    load_after: str = ""


async def http(host: str, port: int, method: str, path: str, token: str, body: dict | None, timeout: float):
    """One HTTP/1.0 request on a fresh connection (gunicorn's sync workers close it anyway)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
        "Accept: application/json\r\n"
    )
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"

    async def exchange():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(head.encode() + b"\r\n" + payload)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    try:
        raw = await asyncio.wait_for(exchange(), timeout)
        status = int(raw[9:12])
        content = raw[raw.index(b"\r\n\r\n") + 4 :]
        return status, content
    except (TimeoutError, OSError, ValueError):
        return 0, b""


class Assessor:
    def __init__(self, run: Run, args, workload: dict, user: dict):
        self.run, self.args, self.user = run, args, user
        self.campaign = workload["campaign"]
        self.classes = workload["classes"]
        self.rng = random.Random(user["id"])

    async def call(self, endpoint: str, method: str, path: str, body=None):
        started = time.perf_counter()
        status, content = await http(
            self.args.host, self.args.port, method, path, self.user["token"], body, self.args.request_timeout
        )
        self.run.samples.append(Sample(endpoint, started, time.perf_counter() - started, status))
        return status, content

    async def next_item(self) -> tuple[bool, str | None]:
        """(went through, item id or None when finished)."""
        status, content = await self.call("next", "GET", f"/api/campaigns/{self.campaign}/next/")
        if status != 200:
            return False, None
        item = json.loads(content)["item"]
        if item is None:
            self.run.finished += 1
            return True, None
        self.run.handed[self.user["id"]].append(item["id"])
        return True, item["id"]

    async def answer(self, item_id: str) -> None:
        body = {
            "item": item_id,
            "label": self.rng.choice(self.classes),
            "response_ms": self.rng.randint(1500, 9000),
            "replays": 0,
        }
        status, _ = await self.call("answers", "POST", f"/api/campaigns/{self.campaign}/answers/", body)
        if status == 201:
            self.run.answered[self.user["id"]].add(item_id)
        elif status == 200:
            self.run.repeats += 1

    async def closed_loop(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            ok, item_id = await self.next_item()
            if not ok:
                await asyncio.sleep(0.05)  # a refusal: do not spin
                continue
            if item_id is None:
                return
            await self.answer(item_id)

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(self.args.think_min, self.args.think_max))

    async def open_loop(self, deadline: float) -> None:
        """``next``, a think time (the clip plays), ``answers``, and (``--thinks-per-item 2``, the
        default) a second think time (the feedback is read) before the next ``next``."""
        await asyncio.sleep(self.rng.uniform(0, self.args.think_max))  # arrivals spread, not in one burst
        while time.perf_counter() < deadline:
            ok, item_id = await self.next_item()
            if not ok:
                await self.think()
                continue
            if item_id is None:
                return
            await self.think()
            if time.perf_counter() >= deadline:
                return  # leaves a live reservation, which the invariants allow for
            await self.answer(item_id)
            if self.args.thinks_per_item == 2:
                await self.think()


class CpuTracker:
    """CPU seconds used by a changing set of processes (gunicorn recycles workers, PostgreSQL
    backends come and go): sampled every half second, so a process that exits loses at most that."""

    def __init__(self, find_pids):
        self.find_pids = find_pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def sample(self) -> None:
        for pid in self.find_pids():
            used = _process_cpu_seconds([pid])
            # A process first seen after the start began near zero.
            self.first.setdefault(pid, used if not self.started else 0.0)
            self.last[pid] = used
        self.started = True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _process_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _system_busy() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _database_backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (the gunicorn workers' connections)."""
    import psycopg

    name = urllib.parse.urlparse(database_url).path.lstrip("/")
    with psycopg.connect(database_url) as db:
        own = db.info.backend_pid
        return [
            pid for (pid,) in db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)) if pid != own
        ]


def run_workload(kind: str, args, workload: dict, server_pid: int, database_url: str) -> Run:
    run = Run()
    users = workload["assessors"][:-1]  # the last one is kept for the profile
    seconds = args.closed_seconds if kind == "closed" else args.open_seconds
    run.load_before = _loadavg()
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    server = CpuTracker(lambda: _children(server_pid))
    database = CpuTracker(lambda: _database_backends(database_url))
    server.sample()
    database.sample()
    busy_before = _system_busy()
    started = time.perf_counter()

    async def main():
        deadline = time.perf_counter() + seconds
        stop = asyncio.Event()
        trackers = [asyncio.create_task(tracker.run(stop)) for tracker in (server, database)]
        assessors = [Assessor(run, args, workload, user) for user in users]
        loops = [a.closed_loop(deadline) if kind == "closed" else a.open_loop(deadline) for a in assessors]
        await asyncio.gather(*loops)
        stop.set()
        await asyncio.gather(*trackers)

    asyncio.run(main())
    run.elapsed = time.perf_counter() - started
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    server.sample()
    database.sample()
    # The client's share includes the CPU samplers' reads of /proc and pg_stat_activity (small).
    run.client_cpu = (
        usage_after.ru_utime - usage_before.ru_utime + usage_after.ru_stime - usage_before.ru_stime
    ) / run.elapsed
    run.server_cpu = server.seconds() / run.elapsed
    run.database_cpu = database.seconds() / run.elapsed
    busy_after = _system_busy()
    run.system_busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    run.load_after = _loadavg()
    return run


# --- Invariants against the database ---------------------------------------------------------------


def check_invariants(database_url: str, workload: dict, run: Run) -> list[tuple[str, bool, str]]:
    import psycopg

    campaign, target = workload["campaign"], workload["target"]
    checks = []
    with psycopg.connect(database_url) as db:

        def scalar(sql, *params):
            return db.execute(sql, params).fetchone()[0]

        rows = scalar("SELECT count(*) FROM annotation_judgment WHERE campaign_id = %s", campaign)
        created = sum(len(items) for items in run.answered.values())
        checks.append(("judgment rows = 201 answers", rows == created, f"{rows} rows, {created} answers with 201"))

        over = scalar(
            """SELECT count(*) FROM (SELECT item_id FROM annotation_judgment WHERE campaign_id = %s AND phase = 'main'
               GROUP BY item_id HAVING count(*) > %s) AS o""",
            campaign,
            target,
        )
        checks.append(("no main utterance over its target", over == 0, f"{over} over"))
        over_load = scalar(
            """SELECT count(*) FROM (
                 SELECT i.id FROM annotation_campaignitem i
                 LEFT JOIN annotation_judgment j ON j.item_id = i.id
                 WHERE i.campaign_id = %s AND i.role = 'main' GROUP BY i.id
                 HAVING count(j.id) + (SELECT count(*) FROM annotation_assignment a WHERE a.item_id = i.id
                   AND a.answered_at IS NULL AND a.expires_at > now()) > %s) AS o""",
            campaign,
            target,
        )
        checks.append(("judgments + live reservations within target", over_load == 0, f"{over_load} over"))

        twice = scalar(
            """SELECT count(*) FROM (SELECT 1 FROM annotation_judgment WHERE campaign_id = %s
               GROUP BY assessor_id, utterance_id HAVING count(*) > 1) AS d""",
            campaign,
        )
        checks.append(("nobody twice on one utterance", twice == 0, f"{twice} duplicated"))

        public = dict(
            (str(p), i)
            for p, i in db.execute(
                "SELECT public_id, id FROM annotation_campaignitem WHERE campaign_id = %s", (campaign,)
            )
        )
        judged = set(
            db.execute("SELECT assessor_id, item_id FROM annotation_judgment WHERE campaign_id = %s", (campaign,))
        )
        reserved = Counter()
        reserved_pairs = set()
        for assessor_id, item_id in db.execute(
            "SELECT assessor_id, item_id FROM annotation_assignment WHERE campaign_id = %s AND answered_at IS NULL",
            (campaign,),
        ):
            reserved[assessor_id] += 1
            reserved_pairs.add((assessor_id, item_id))
        lost = 0
        answered_lost = 0
        for user_id, items in run.handed.items():
            for item in set(items):
                pair = (user_id, public[item])
                if pair not in judged and pair not in reserved_pairs:
                    lost += 1
            for item in run.answered.get(user_id, ()):
                if (user_id, public[item]) not in judged:
                    answered_lost += 1
        checks.append(("every 201 answer is a row", answered_lost == 0, f"{answered_lost} missing"))
        checks.append(("every item handed out is answered or still reserved", lost == 0, f"{lost} lost reservations"))
        several = sum(1 for n in reserved.values() if n > 1)
        checks.append(("at most one open reservation per assessor", several == 0, f"{several} assessors with more"))

        has_load = scalar(
            """SELECT count(*) FROM information_schema.columns
               WHERE table_name = 'annotation_campaignitem' AND column_name = 'load'"""
        )
        if has_load:
            drift = scalar(
                """SELECT count(*) FROM annotation_campaignitem i WHERE i.campaign_id = %s AND i.role = 'main'
                   AND i.load <> (SELECT count(*) FROM annotation_judgment j WHERE j.item_id = i.id)
                     + (SELECT count(*) FROM annotation_assignment a WHERE a.item_id = i.id AND a.counted)""",
                campaign,
            )
            checks.append(("stored load = judgments + counted reservations", drift == 0, f"{drift} items differ"))
    return checks


# --- One variant: database, server, workloads, profile -----------------------------------------------


def _database_url(base: str, name: str) -> str:
    parsed = urllib.parse.urlparse(base)
    return urllib.parse.urlunparse(parsed._replace(path=f"/{name}"))


def recreate_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_database_url(base_url, "postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


def server_environment(args, database_url: str, var_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.broker_url,
        DEBUG="0",
        SECRET_KEY="bench-labelling-not-a-secret",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        EMOLAB_VAR_DIR=str(var_dir),
        GUNICORN_BIND=f"{args.host}:{args.port}",
        GUNICORN_WORKERS=str(args.workers),
        GUNICORN_ACCESS_LOG=str(var_dir / "access.log"),
        EMOLAB_THROTTLE_ANSWERS=GENEROUS_RATE,
        EMOLAB_THROTTLE_USER=GENEROUS_RATE,
        EMOLAB_THROTTLE_ANON=GENEROUS_RATE,
        EMOLAB_THROTTLE_PREDICT=GENEROUS_RATE,
        EMOLAB_THROTTLE_BAD_TOKENS=GENEROUS_RATE,
        # The shared cache production uses for the throttles' histories (docs/deploy.md).
        CACHE_URL=args.cache_url,
    )
    return env


def _worker(args, code_dir: Path, env: dict, *extra: str) -> str:
    command = [sys.executable, str(Path(__file__).resolve()), *extra, "--code-dir", str(code_dir)]
    result = subprocess.run(command, env=env, cwd=code_dir, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(extra[:1])} failed in {code_dir}:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def start_server(code_dir: Path, env: dict, var_dir: Path, args) -> subprocess.Popen:
    log = open(var_dir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "emolab.wsgi:application"],
        cwd=code_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited: see {var_dir / 'gunicorn.log'}")
        try:
            status, _ = asyncio.run(http(args.host, args.port, "GET", "/api/campaigns/", "x", None, 5))
            if status:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(server)
    sys.exit("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def warm_up_workers(args, workload: dict) -> None:
    """Every worker imports its views and opens its database connection before timing starts."""
    token = workload["assessors"][-1]["token"]

    async def main():
        await asyncio.gather(
            *[http(args.host, args.port, "GET", "/api/campaigns/", token, None, 30) for _ in range(8 * args.workers)]
        )

    asyncio.run(main())


@dataclass
class VariantResult:
    name: str
    runs: dict[str, Run]
    checks: dict[str, list]
    profile: list[dict]


def bench_variant(name: str, code_dir: Path, database: str, args) -> VariantResult:
    print(f"\n== {name}: {code_dir}", flush=True)
    database_url = _database_url(args.database_url, database)
    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-labelling-{name}-"))
    env = server_environment(args, database_url, var_dir)
    recreate_database(args.database_url, database)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=code_dir, env=env, check=True)
    setup = json.loads(
        _worker(
            args,
            code_dir,
            env,
            "_setup",
            "--items",
            str(args.items),
            "--target",
            str(args.target),
            "--gold-share",
            str(args.gold_share),
            "--clients",
            str(args.clients),
            "--assessors",
            str(args.assessors),
            "--seed",
            str(args.seed),
        )
    )
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("ANALYZE")  # planner statistics, as a running deployment has them
    runs, checks = {}, {}
    server = start_server(code_dir, env, var_dir, args)
    try:
        for kind in args.workloads:
            workload = setup["workloads"][kind]
            warm_up_workers(args, workload)
            print(f"   {kind} loop ...", flush=True)
            runs[kind] = run_workload(kind, args, workload, server.pid, database_url)
            checks[kind] = check_invariants(database_url, workload, runs[kind])
    finally:
        stop_server(server)
    profile = []
    if args.profile_requests:
        workload = setup["workloads"]["closed"]
        profile = json.loads(
            _worker(
                args,
                code_dir,
                env,
                "_profile",
                "--campaign",
                str(workload["campaign"]),
                "--token",
                workload["assessors"][-1]["token"],
                "--requests",
                str(args.profile_requests),
            )
        )
    shutil.rmtree(var_dir, ignore_errors=True)
    return VariantResult(name=name, runs=runs, checks=checks, profile=profile)


# --- Report -----------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarise(run: Run) -> dict:
    by_endpoint = defaultdict(list)
    for sample in run.samples:
        by_endpoint[sample.endpoint].append(sample)
    summary = {"rps": len(run.samples) / run.elapsed if run.elapsed else 0.0}
    for endpoint, samples in by_endpoint.items():
        latencies = [s.latency * 1000 for s in samples if s.status]
        summary[endpoint] = {
            "n": len(samples),
            "rps": len(samples) / run.elapsed,
            "p50": _percentile(latencies, 0.50),
            "p95": _percentile(latencies, 0.95),
            "p99": _percentile(latencies, 0.99),
            "5xx": sum(1 for s in samples if s.status >= 500),
            "no answer": sum(1 for s in samples if s.status == 0),
            "4xx": sum(1 for s in samples if 400 <= s.status < 500),
        }
    return summary


def print_run(name: str, kind: str, run: Run, checks: list) -> dict:
    summary = summarise(run)
    print(
        f"\n{name} / {kind} loop: {len(run.samples)} requests in {run.elapsed:.1f} s = {summary['rps']:.1f} req/s; "
        f"{run.finished} assessors finished"
    )
    print(
        f"  {'endpoint':<9}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'5xx':>6}{'4xx':>6}{'none':>6}"
    )
    for endpoint in ("next", "answers"):
        if endpoint in summary:
            s = summary[endpoint]
            print(
                f"  {endpoint:<9}{s['n']:>7}{s['rps']:>8.1f}{s['p50']:>9.1f}{s['p95']:>9.1f}{s['p99']:>9.1f}"
                f"{s['5xx']:>6}{s['4xx']:>6}{s['no answer']:>6}"
            )
    print(
        f"  CPU (share of one core): client {run.client_cpu:.0%}, gunicorn {run.server_cpu:.0%}, "
        f"PostgreSQL (bench database) {run.database_cpu:.0%}; machine "
        f"{run.system_busy:.0%} busy ({os.cpu_count()} cores); load average {run.load_before} -> {run.load_after}"
    )
    for label, ok, detail in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {label}: {detail}")
    return summary


def print_profile(name: str, rows: list[dict]) -> None:
    if not rows:
        return
    print(f"\n{name} / profile of single requests (medians over {len(rows) // 2} of each, in process)")
    print(
        f"  {'endpoint':<9}{'wall ms':>9}{'SQL n':>7}{'SQL ms':>8}{'shared lock ms':>16}{'own lock ms':>13}"
        f"{'service ms':>12}{'other ms':>10}"
    )
    for endpoint in ("next", "answers"):
        mine = [r for r in rows if r["endpoint"] == endpoint and r["status"] in (200, 201)]
        if not mine:
            continue

        def median(key, rows=mine):
            return statistics.median(r[key] for r in rows)

        print(
            f"  {endpoint:<9}{median('wall_ms'):>9.2f}{median('n_sql'):>7.0f}{median('sql_ms'):>8.2f}"
            f"{median('shared_lock_ms'):>16.2f}{median('own_lock_ms'):>13.2f}{median('service_ms'):>12.2f}"
            f"{median('wall_ms') - median('service_ms'):>10.2f}"
        )
    print(
        "  shared lock: from the statement taking a lock other assessors can meet (baseline: the campaign row;\n"
        "  now: the chosen item's row) to COMMIT. own lock: the assessor's advisory lock (only their own other\n"
        "  requests wait for it). service: assignment_next / judgment_record. other: Django, DRF, the token,\n"
        "  reading the campaign. SQL ms is client-side time in the statements (waits and round trips included)."
    )
    if os.environ.get("BENCH_SHOW_SQL"):
        for endpoint in ("next", "answers"):
            sample = [r for r in rows if r["endpoint"] == endpoint][-1]
            print(f"  statements of one {endpoint}:")
            for ms, sql in sample["statements"]:
                print(f"    {ms:7.3f} ms  {sql}")


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}x" if old and old == old and new == new else "n/a"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git commit to compare with, or 'none'")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_labelling", help="the baseline uses NAME_baseline")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/3", help="the throttles' shared cache")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8170)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--items", type=int, default=2000, help="utterances in the corpus")
    parser.add_argument("--target", type=int, default=2, help="judgments per utterance")
    parser.add_argument("--gold-share", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=50, help="closed loop: assessors without a pause")
    parser.add_argument("--assessors", type=int, default=500, help="open loop: assessors with a think time")
    parser.add_argument("--closed-seconds", type=float, default=30)
    parser.add_argument("--open-seconds", type=float, default=60)
    parser.add_argument("--think-min", type=float, default=3.0)
    parser.add_argument("--think-max", type=float, default=8.0)
    parser.add_argument(
        "--thinks-per-item",
        type=int,
        choices=(1, 2),
        default=2,
        help="open loop: 2 = a think time before every request (500 assessors offer ~90 req/s); 1 = only while the "
        "clip plays, answer then next at once (~180 req/s, more than the closed-loop target of 150 itself)",
    )
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--workloads", default="closed,open", type=lambda s: [w for w in s.split(",") if w])
    parser.add_argument("--profile-requests", type=int, default=100, help="0: no in-process profile")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)

    variants = []
    baseline_dir = None
    if args.baseline != "none":
        baseline_dir = Path(tempfile.mkdtemp(prefix="bench-labelling-baseline-"))
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(baseline_dir)], input=archive.stdout, check=True)
        variants.append(("baseline", baseline_dir, f"{args.database}_baseline"))
    variants.append(("current", REPO, args.database))
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(
        f"{args.items} utterances, target {args.target}, gold share {args.gold_share}; "
        f"{args.workers} gunicorn workers; closed: {args.clients} clients x {args.closed_seconds:g} s; "
        f"open: {args.assessors} assessors, think {args.think_min:g}-{args.think_max:g} s x {args.thinks_per_item} per "
        f"item (offered ~{args.assessors * 2 / (args.thinks_per_item * (args.think_min + args.think_max) / 2):.0f} "
        f"req/s), {args.open_seconds:g} s"
    )
    results = []
    try:
        for name, code_dir, database in variants:
            results.append(bench_variant(name, code_dir, database, args))
    finally:
        if baseline_dir is not None:
            shutil.rmtree(baseline_dir, ignore_errors=True)

    summaries = {}
    all_ok = True
    for result in results:
        for kind, run in result.runs.items():
            summaries[(result.name, kind)] = print_run(result.name, kind, run, result.checks[kind])
            all_ok &= all(ok for _, ok, _ in result.checks[kind])
        print_profile(result.name, result.profile)

    current = {kind: summaries.get(("current", kind)) for kind in args.workloads}
    print("\nissue 17 targets (current code):")
    if current.get("closed"):
        s = current["closed"]
        met = s["rps"] >= TARGETS["closed_rps"] and all(
            s[e]["p95"] < TARGETS["closed_p95_ms"] for e in ("next", "answers") if e in s
        )
        print(
            f"  closed loop: {s['rps']:.1f} req/s (>= {TARGETS['closed_rps']:g}), p95 next "
            f"{s.get('next', {}).get('p95', float('nan')):.0f} ms / answers "
            f"{s.get('answers', {}).get('p95', float('nan')):.0f} ms (< {TARGETS['closed_p95_ms']:g}): "
            f"{'met' if met else 'NOT met'}"
        )
    if current.get("open"):
        s = current["open"]
        errors = sum(s[e]["5xx"] + s[e]["no answer"] for e in ("next", "answers") if e in s)
        met = errors == 0 and all(s[e]["p95"] < TARGETS["open_p95_ms"] for e in ("next", "answers") if e in s)
        print(
            f"  open loop: p95 next {s.get('next', {}).get('p95', float('nan')):.0f} ms / answers "
            f"{s.get('answers', {}).get('p95', float('nan')):.0f} ms (< {TARGETS['open_p95_ms']:g}), "
            f"{errors} 5xx or unanswered: {'met' if met else 'NOT met'}"
        )
    print(f"  invariants: {'all hold' if all_ok else 'SOME FAIL'} (every variant, every workload)")

    if len(results) == 2:
        print("\ncurrent / baseline (same run):")
        for kind in args.workloads:
            old, new = summaries.get(("baseline", kind)), summaries.get(("current", kind))
            if not old or not new:
                continue
            parts = [f"throughput {_ratio(new['rps'], old['rps'])}"]
            for endpoint in ("next", "answers"):
                if endpoint in old and endpoint in new:
                    parts.append(f"{endpoint} p95 {_ratio(new[endpoint]['p95'], old[endpoint]['p95'])}")
            print(f"  {kind} loop: " + ", ".join(parts))
    print(f"\nuptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    return 0 if all_ok else 1


def _worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--items", type=int)
    parser.add_argument("--target", type=int)
    parser.add_argument("--gold-share", type=float)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--assessors", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--campaign", type=int)
    parser.add_argument("--token")
    parser.add_argument("--requests", type=int)
    args = parser.parse_args(argv)
    {"_setup": worker_setup, "_profile": worker_profile}[args.command](args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        _worker_main(sys.argv[1:])
    else:
        sys.exit(main())
