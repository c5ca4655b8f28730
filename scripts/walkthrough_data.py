"""Issue 14's "Done when", against a running server (``make demo``), printing what it measured.

    .venv/bin/python scripts/walkthrough_data.py --url http://127.0.0.1:8000 --var-dir var \\
        --corpus ../shared/corpora/emodb [--job ID | --train]

1. zips the corpus folder, uploads it as the researcher (POST /api/corpora/imports/, as the New
   corpus page does), follows the import until it has finished, and starts a campaign on it;
   the assessor answers a few of its items through the API;
2. the admin downloads the CTC model of a training job (``--job``, else the newest succeeded job
   with a CTC model; ``--train`` starts a ``fast`` CTC job on the demo corpus when there is none),
   and ``manage.py predict`` runs it in a fresh folder with an empty, freshly migrated SQLite
   database, on one of the corpus's recordings;
3. downloads the judgment, vote and prediction exports (CSV and JSON Lines), reads them with
   pandas, checks the documented columns and compares the row counts with the server's database
   (read here through Django with the server's settings: ``--var-dir`` and DEBUG=1 as ``make demo``).

The demo accounts' passwords are read from ``<var-dir>/demo-accounts.json``. Exit status 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAILURES: list[str] = []


def check(condition: bool, what: str) -> None:
    print(f"  [{'ok' if condition else 'FAILED'}] {what}")
    if not condition:
        FAILURES.append(what)


class Session:
    """A signed-in browser session (cookie + CSRF token), as the pages use the API."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{self.base}/accounts/login/").read()
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf}
        ).encode()
        request = urllib.request.Request(f"{self.base}/accounts/login/", data=body, headers=self._headers())
        response = self.opener.open(request)
        if "/accounts/login/" in response.geturl():
            raise SystemExit(f"could not sign in as {username}")

    @property
    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def _headers(self, extra: dict | None = None) -> dict:
        return {"Referer": f"{self.base}/", "X-CSRFToken": self.csrf, **(extra or {})}

    def get(self, path: str) -> bytes:
        return self.opener.open(urllib.request.Request(self.base + path, headers=self._headers())).read()

    def get_json(self, path: str):
        return json.loads(self.get(path))

    def post_json(self, path: str, payload: dict):
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            headers=self._headers({"Content-Type": "application/json", "Accept": "application/json"}),
        )
        try:
            return json.loads(self.opener.open(request).read())
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"POST {path}: {exc.code} {exc.read().decode()[:500]}") from None

    def post_multipart(self, path: str, fields: dict, files: dict):
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/zip\r\n\r\n".encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(
            self.base + path,
            data=b"".join(parts),
            headers=self._headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        )
        try:
            return json.loads(self.opener.open(request).read())
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"POST {path}: {exc.code} {exc.read().decode()[:500]}") from None


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def wait_for(fetch, done, *, timeout: float, every: float = 2.0):
    started = time.monotonic()
    while True:
        value = fetch()
        if done(value) or time.monotonic() - started > timeout:
            return value
        time.sleep(every)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--var-dir", type=Path, default=REPO / "var", help="the server's EMOLAB_VAR_DIR")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "emodb")
    parser.add_argument("--format", default="emodb")
    parser.add_argument("--job", type=int, help="training job whose CTC model to download")
    parser.add_argument("--train", action="store_true", help="start a fast CTC job when there is none")
    parser.add_argument("--answers", type=int, default=6, help="items the assessor answers")
    args = parser.parse_args()

    os.environ.setdefault("DEBUG", "1")
    os.environ["EMOLAB_VAR_DIR"] = str(args.var_dir.resolve())
    os.environ["DJANGO_SETTINGS_MODULE"] = "emolab.settings"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    import pandas as pd

    from annotation.models import Corpus, ExpertVote, Judgment
    from annotation.selectors.exports import JUDGMENT_COLUMNS, VOTE_COLUMNS
    from models_app.models import TrainingJob, UtterancePrediction
    from models_app.selectors.exports import prediction_columns

    passwords = json.loads((args.var_dir / "demo-accounts.json").read_text())
    researcher = Session(args.url, "researcher", passwords["researcher"])
    admin = Session(args.url, "admin", passwords["admin"])
    assessor = Session(args.url, "assessor1", passwords["assessor1"])

    print(f"1. Import {args.corpus} from the browser's API")
    started = time.monotonic()
    archive = zip_folder(args.corpus)
    print(f"  zipped {args.corpus}: {len(archive) / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")
    name = f"{args.corpus.name}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    job = researcher.post_multipart(
        "/api/corpora/imports/", {"name": name, "format": args.format}, {"archive": (f"{name}.zip", archive)}
    )
    print(f"  upload answered {job['status']} in {time.monotonic() - started:.1f} s; page {args.url}{job['page']}")
    seen = set()

    def fetch():
        state = researcher.get_json(f"/api/corpora/imports/{job['id']}/")
        key = (state["status"], state["stage"], round(state["progress"], 1))
        if key not in seen:
            seen.add(key)
            print(f"    {state['status']:<9} {state['stage']:<14} {100 * state['progress']:5.1f}%")
        return state

    state = wait_for(fetch, lambda s: s["status"] in ("succeeded", "failed", "cancelled"), timeout=1800, every=1.0)
    print(f"  import {state['status']} after {time.monotonic() - started:.1f} s: counts {state['counts']}")
    print(f"  skipped {len(state['skipped'])}: {[item['path'].rsplit('/', 1)[-1] for item in state['skipped']][:5]}")
    check(state["status"] == "succeeded", f"the import of {name} succeeded ({state['error']})")
    corpus = Corpus.objects.get(name=name)
    check(corpus.utterances.count() == state["counts"].get("n_utterances"), "the database holds the counted utterances")

    campaign = researcher.post_json(
        "/api/campaigns/", {"corpus": name, "name": f"walkthrough {name}", "judgments_per_item": 2}
    )
    print(f"  campaign {campaign['id']} started on {name}")
    answered = 0
    for _ in range(args.answers):
        item = assessor.get_json(f"/api/campaigns/{campaign['id']}/next/")["item"]
        if item is None:
            break
        assessor.post_json(
            f"/api/campaigns/{campaign['id']}/answers/",
            {"item": item["id"], "label": campaign["classes"][0], "response_ms": 1200, "replays": 0},
        )
        answered += 1
    print(f"  assessor1 answered {answered} items")

    print("2. Download a CTC model and run it in an installation with an empty database")
    training = TrainingJob.objects.filter(pk=args.job) if args.job else TrainingJob.objects.none()
    if not args.job:
        training = TrainingJob.objects.filter(status="succeeded", artifacts__method="ctc").order_by("-created_at")
    job_row = training.first()
    if job_row is None and args.train:
        demo = Corpus.objects.filter(is_synthetic=True).first()
        started = time.monotonic()
        created = admin.post_json("/api/jobs/", {"corpus": demo.name, "methods": ["ctc"], "preset": "fast"})
        print(f"  started job {created['id']} (ctc, fast) on {demo.name}")
        final = wait_for(
            lambda: admin.get_json(f"/api/jobs/{created['id']}/"),
            lambda j: j["status"] in ("succeeded", "failed", "cancelled"),
            timeout=3600,
            every=5.0,
        )
        print(f"  job {created['id']} {final['status']} after {time.monotonic() - started:.0f} s")
        job_row = TrainingJob.objects.filter(pk=created["id"], status="succeeded").first()
    check(job_row is not None, "a succeeded job with a CTC model")
    if job_row is not None:
        started = time.monotonic()
        model = admin.get(f"/api/jobs/{job_row.pk}/models/ctc/")
        card = json.loads(zipfile.ZipFile(io.BytesIO(model)).read("model.json"))
        seconds = time.monotonic() - started
        print(f"  downloaded job {job_row.pk}'s CTC model: {len(model) / 1e6:.2f} MB in {seconds:.1f} s")
        print(f"  model.json: method {card['method']}, classes {card['classes']}, code {card['code_version']},")
        training_info, table1 = card["training"], card["table1"].get("ctc", {})
        print(
            f"    trained on {training_info['corpus']} ({training_info['n_utterances']} utterances, "
            f"{len(training_info['speakers'])} speakers); Table 1 ctc overall {table1.get('overall_accuracy')}"
        )
        other = Path(tempfile.mkdtemp(prefix="emolab-elsewhere-"))
        try:
            (other / "model.zip").write_bytes(model)
            recording = next(corpus.root.rglob("*.wav"))
            env = {
                **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
                "EMOLAB_VAR_DIR": str(other / "var"),
                "DATABASE_URL": f"sqlite:///{other}/empty.sqlite3",
                "SECRET_KEY": "another-installation",
            }
            manage = [sys.executable, str(REPO / "manage.py")]
            subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=other, check=True)
            started = time.monotonic()
            done = subprocess.run(
                [*manage, "predict", str(recording), "--model", str(other / "model.zip")],
                env=env, cwd=other, capture_output=True, text=True,
            )  # fmt: skip
            print(f"  predict in {other} ({time.monotonic() - started:.1f} s, exit {done.returncode}):")
            print("    " + "\n    ".join((done.stdout or done.stderr).strip().splitlines()[:6]))
            check(done.returncode == 0 and "(model file)" in done.stdout, "predict ran the downloaded model")
        finally:
            shutil.rmtree(other, ignore_errors=True)

    print("3. Exports read with pandas, row counts against the database")
    exports = [
        (
            f"/api/campaigns/{campaign['id']}/judgments",
            [c.name for c in JUDGMENT_COLUMNS],
            Judgment.objects.filter(campaign_id=campaign["id"]).count(),
        ),
    ]
    for voted in Corpus.objects.filter(
        pk__in=[corpus.pk, *Corpus.objects.filter(is_synthetic=True).values_list("pk", flat=True)]
    ):
        exports.append(
            (
                f"/api/corpora/{voted.pk}/votes",
                [c.name for c in VOTE_COLUMNS],
                ExpertVote.objects.filter(utterance__corpus=voted).count(),
            )
        )
    if job_row is not None:
        exports.append(
            (
                f"/api/jobs/{job_row.pk}/predictions",
                [c.name for c in prediction_columns(job_row)],
                UtterancePrediction.objects.filter(job=job_row, row__in=job_row.methods).count(),
            )
        )
    for path, columns, expected in exports:
        for file_format in ("csv", "jsonl"):
            started = time.monotonic()
            body = researcher.get(f"{path}.{file_format}")
            seconds = time.monotonic() - started
            if file_format == "csv":
                table = pd.read_csv(io.BytesIO(body), keep_default_na=False)
            else:
                table = pd.read_json(io.BytesIO(body), lines=True) if body else pd.DataFrame(columns=columns)
            print(f"  {path}.{file_format}: {len(table)} rows, {len(body) / 1e3:.0f} kB, {seconds:.2f} s")
            check(len(table) == expected, f"{path}.{file_format}: {len(table)} rows = {expected} in the database")
            check(list(table.columns) == columns or (not len(table) and file_format == "jsonl"), "documented columns")
    print("FAILED: " + "; ".join(FAILURES) if FAILURES else "All checks passed.")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
