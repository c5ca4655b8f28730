"""Stored comparison reports at IEMOCAP's size (issue 16): a fresh computation and the page's first
paint with a stored report, with the breakdown by section, in one run.

    .venv/bin/python scripts/bench_reports.py                 # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reports_speed .venv/bin/python scripts/bench_reports.py
    .venv/bin/python scripts/bench_reports.py --no-browser    # server time only, no Chromium

It (1) builds a synthetic IEMOCAP-size set in its own database (``--utterances`` 4,936 utterances
in 5 sessions of 2 speakers, 3 expert votes each, 4 classes plus utterances without consensus; a
training job with the 5 Table 1 rows dummy, framewise, onelabel, ctc, ctc_best_path predicting
every labelled utterance; a campaign whose 2 assessors answer every labelled utterance), (2)
computes the report as the worker does (``stored_report_compute``, one process, one BLAS thread:
one core), printing the seconds of each section, (3) serves the page of the stored report through
Django's test client (server time, ``--repeat`` times) and, unless ``--no-browser``, through
``runserver`` on port ``--port`` in headless Chromium: the first contentful paint and when the
HTML arrived. The targets of issue 16: first paint < 1 s with a stored report, computation < 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One core: no BLAS or OpenMP thread pool (set before numpy is imported).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

REPO = Path(__file__).resolve().parent.parent
CLASSES = ["anger", "happiness", "neutral", "sadness"]
ROWS = {"dummy": 0.0, "framewise": 0.52, "onelabel": 0.58, "ctc": 0.62, "ctc_best_path": 0.60}
HUMAN_ACCURACY = 0.70
TARGETS = {"first_paint_s": 1.0, "compute_s": 5.0}
PASSWORD = "bench-password-123"


def _setup_django(database_url: str) -> None:
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-reports-only")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
    import django

    django.setup()


def build_data(n_utterances: int, seed: int = 0):
    """The synthetic set: returns (job, campaign, researcher username)."""
    import numpy as np
    from django.contrib.auth.models import Group, User

    from annotation.models import Campaign, CampaignItem, Corpus, ExpertVote, Judgment, Session, Speaker, Utterance
    from models_app.models import TrainingJob, UtterancePrediction

    rng = np.random.default_rng(seed)
    corpus = Corpus.objects.create(
        name="iemocap-size", format="manifest", source_path="/nonexistent", classes=CLASSES, is_synthetic=True
    )
    sessions = [Session.objects.create(corpus=corpus, code=f"Ses0{i + 1}") for i in range(5)]
    speakers = [Speaker.objects.create(corpus=corpus, code=f"Ses0{i // 2 + 1}{'FM'[i % 2]}") for i in range(10)]
    # IEMOCAP: about a quarter without consensus; the rest in the four classes (with some imbalance).
    labels = rng.choice(CLASSES + [""], size=n_utterances, p=[0.17, 0.2, 0.28, 0.15, 0.2])
    utterances = []
    for i, label in enumerate(labels):
        speaker = i % 10
        utterances.append(
            Utterance(
                corpus=corpus,
                name=f"{speakers[speaker].code}_impro{i // 100:02d}_{i:04d}",
                speaker=speakers[speaker],
                session=sessions[speaker // 2],
                audio_path=f"u{i}.wav",
                audio_sha256="0" * 64,
                duration_s=float(rng.uniform(1.0, 8.0)),
                sample_rate=16000,
                label=str(label),
                n_raters=3,
            )
        )
    Utterance.objects.bulk_create(utterances, batch_size=1000)
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("id"))
    votes = []
    for utterance in utterances:
        dissenting = 0
        for rater in range(3):
            if utterance.label and rng.random() < 0.8:
                categories = [utterance.label]
            else:
                categories = [str(rng.choice(CLASSES))]
            dissenting += bool(utterance.label) and utterance.label not in categories
            votes.append(ExpertVote(utterance=utterance, rater=f"E{rater}", categories=categories))
        utterance.n_dissenting = dissenting if utterance.label else None
    ExpertVote.objects.bulk_create(votes, batch_size=2000)
    Utterance.objects.bulk_update(utterances, ["n_dissenting"], batch_size=1000)

    labelled = [u for u in utterances if u.label]
    job = TrainingJob.objects.create(
        corpus=corpus, methods=["dummy", "framewise", "onelabel", "ctc"], preset="paper", config={}, classes=CLASSES
    )
    predictions = []
    for row, accuracy in ROWS.items():
        for k, utterance in enumerate(labelled):
            if row == "dummy":
                predicted = "neutral"
            elif rng.random() < accuracy:
                predicted = utterance.label
            else:
                predicted = str(rng.choice([c for c in CLASSES if c != utterance.label]))
            probabilities = rng.dirichlet(np.ones(len(CLASSES))).round(4).tolist()
            predictions.append(
                UtterancePrediction(
                    job=job,
                    row=row,
                    fold=k % 5,
                    utterance=utterance,
                    true_label=utterance.label,
                    predicted_label=predicted,
                    probabilities=probabilities,
                )
            )
    UtterancePrediction.objects.bulk_create(predictions, batch_size=2000)
    TrainingJob.objects.filter(pk=job.pk).update(status=TrainingJob.Status.SUCCEEDED)
    job.refresh_from_db()

    campaign = Campaign.objects.create(corpus=corpus, name="iemocap-size relabelling", classes=CLASSES)
    items = CampaignItem.objects.bulk_create(
        [CampaignItem(campaign=campaign, utterance=u, role="main", position=i) for i, u in enumerate(labelled)]
    )
    assessor_group, _ = Group.objects.get_or_create(name="assessor")
    judgments = []
    for a in range(2):
        assessor = User.objects.create_user(username=f"bench-assessor-{a}", password=PASSWORD)
        assessor.groups.add(assessor_group)
        for position, item in enumerate(items):
            label = item.utterance.label
            answer = label if rng.random() < HUMAN_ACCURACY else str(rng.choice([c for c in CLASSES if c != label]))
            judgments.append(
                Judgment(
                    campaign=campaign,
                    item=item,
                    utterance=item.utterance,
                    assessor=assessor,
                    answer=answer,
                    phase="main",
                    expert_label=label,
                    is_correct=answer == label,
                    response_ms=int(rng.integers(800, 6000)),
                    position=position + 1,
                )
            )
    Judgment.objects.bulk_create(judgments, batch_size=2000)
    researcher = User.objects.create_user(username="bench-researcher", password=PASSWORD)
    researcher.groups.add(Group.objects.get_or_create(name="researcher")[0])
    return job, campaign, researcher, len(labelled), len(judgments)


def server_time(job, campaign, researcher, repeat: int) -> tuple[list[float], list[float], int]:
    from django.test import Client

    client = Client()
    client.force_login(researcher)
    url = f"/reports/comparison/?job={job.pk}&campaign={campaign.pk}"
    seconds, cpu, size = [], [], 0
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert response.status_code == 200 and b'id="toc"' in response.content, response.content[:500]
        size = len(response.content)
    explorer_url = f"/reports/explorer/?job={job.pk}&campaign={campaign.pk}&both_wrong=1&sort=confidence"
    started = time.perf_counter()
    response = client.get(explorer_url)
    print(f"explorer page (both wrong, by confidence): {time.perf_counter() - started:.3f} s,", end=" ")
    print(response.content.decode().split('id="explorer-count" role="status">')[1].split("<")[0].strip())
    return seconds, cpu, size


def browser_first_paint(job, campaign, port: int, database_url: str, repeat: int) -> list[dict]:
    """runserver on the bench database; headless Chromium signs in and opens the stored report."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(base + "/accounts/login/")
            page.fill("input[name=username]", "bench-researcher")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for _ in range(repeat):
                page.goto(f"{base}/reports/comparison/?job={job.pk}&campaign={campaign.pk}")
                page.wait_for_selector("#toc")
                timing = page.evaluate(
                    """() => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const paint = performance.getEntriesByName('first-contentful-paint')[0];
                    return {response_start: nav.responseStart / 1000, response_end: nav.responseEnd / 1000,
                            first_contentful_paint: paint ? paint.startTime / 1000 : null,
                            dom_content_loaded: nav.domContentLoadedEventEnd / 1000, load: nav.loadEventEnd / 1000};
                  }"""
                )
                results.append(timing)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=4936)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=8640)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the computation (top 25 by cumulative time)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"
    _setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0) if _has_tables(connection) else None
    call_command("migrate", verbosity=0)

    from models_app.services import reports as report_services

    # No broker here: the computation runs in this process, as the worker would run it.
    report_services._enqueue = lambda stored, delay_s: None

    started = time.perf_counter()
    job, campaign, researcher, n_labelled, n_answers = build_data(args.utterances)
    print(f"data: {args.utterances} utterances ({n_labelled} labelled), 5 rows x {n_labelled} predictions, ")
    print(f"      2 assessors x {n_labelled} = {n_answers} answers; built in {time.perf_counter() - started:.1f} s")
    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    stored = report_services.stored_report_request(job=job, campaign=campaign, seed=0)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    stored = report_services.stored_report_compute(stored_id=stored.pk)
    compute_wall, compute_cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    assert stored.status == stored.Status.IDLE, stored.error
    print("\nfresh computation (one process, one BLAS thread), seconds per section:")
    for section, seconds in stored.timings.items():
        print(f"  {section:<14} {seconds:7.3f}")
    print(f"  wall {compute_wall:.3f} s, CPU {compute_cpu:.3f} s; {len(stored.figures)} figures")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    seconds, cpu, size = server_time(job, campaign, researcher, args.repeat)
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    median = statistics.median(seconds)
    print(f"\npage with the stored report, server time (test client, {args.repeat} requests): ")
    print(f"  wall median {median:.3f} s, min {min(seconds):.3f} s, max {max(seconds):.3f} s; HTML {size / 1e6:.2f} MB")
    print(f"  CPU median {statistics.median(cpu):.3f} s")
    paint = None
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        timings = browser_first_paint(job, campaign, args.port, database_url, args.repeat)
        paints = [t["first_contentful_paint"] for t in timings if t["first_contentful_paint"] is not None]
        print(f"\nChromium, runserver (DEBUG off), {len(timings)} loads of the stored report, seconds from navigation:")
        for t in timings:
            print("  " + ", ".join(f"{k} {v:.3f}" for k, v in t.items() if v is not None))
        paint = statistics.median(paints) if paints else None
    target = TARGETS["compute_s"]
    print("\ntargets (issue 16), measured / target:")
    print(f"  fresh computation, CPU (one core) {compute_cpu:.2f} s / {target:.0f} s = {compute_cpu / target:.2f}")
    print(f"  fresh computation, wall (shared) {compute_wall:.2f} s / {target:.0f} s = {compute_wall / target:.2f}")
    first = paint if paint is not None else median
    what = "first contentful paint (median)" if paint is not None else "server time (median, no browser)"
    print(f"  {what} {first:.2f} s / {TARGETS['first_paint_s']:.0f} s = {first / TARGETS['first_paint_s']:.2f}")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def _has_tables(connection) -> bool:
    return bool(connection.introspection.table_names())


if __name__ == "__main__":
    sys.exit(main())
