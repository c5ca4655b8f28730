"""Peak memory of the judgment export at 10,000 and 100,000 rows: streamed, it stays flat.

    .venv/bin/python scripts/bench_export_memory.py            # 10,000 vs 100,000 rows, CSV and JSON Lines
    .venv/bin/python scripts/bench_export_memory.py --small 2000 --large 20000

Makes a throw-away SQLite database in a temporary folder (or uses DATABASE_URL when given, which
it must be allowed to fill), creates two campaigns whose every utterance was answered by 10
assessors (rows only, no audio), and reads each export through Django's test client while
tracemalloc records the peak of memory allocated by Python. Prints rows, bytes, seconds, the
peaks and the ratio large / small of the peaks (1.0 = flat; the rows grow 10 times).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSESSORS = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000, help="rows of the small export")
    parser.add_argument("--large", type=int, default=100_000, help="rows of the large export")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="emolab-bench-export-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("SECRET_KEY", "bench-export-memory-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "emolab.settings"
    os.environ["EMOLAB_VAR_DIR"] = folder
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]  # Django's test client, in this process only
    from django.core.management import call_command
    from django.test import Client

    from tests.exports.bulk import bulk_campaign, export_peak_memory
    from tests.factories import make_user

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    small = bulk_campaign(args.small // ASSESSORS, ASSESSORS, name="small")
    large = bulk_campaign(args.large // ASSESSORS, ASSESSORS, name="large")
    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}; filled in {time.perf_counter() - started:.0f} s")
    client = Client()
    client.force_login(make_user("researcher"))
    print(f"{'format':<6} {'rows':>8} {'MB sent':>8} {'seconds':>8} {'peak MB':>8}")
    for file_format in ("csv", "jsonl"):
        export_peak_memory(client, f"/api/campaigns/{small.pk}/judgments.{file_format}")  # warm-up
        peaks = []
        for campaign in (small, large):
            started = time.perf_counter()
            peak, n_bytes, n_lines = export_peak_memory(client, f"/api/campaigns/{campaign.pk}/judgments.{file_format}")
            seconds = time.perf_counter() - started
            rows = n_lines - (1 if file_format == "csv" else 0)
            peaks.append(peak)
            print(f"{file_format:<6} {rows:>8} {n_bytes / 1e6:>8.1f} {seconds:>8.1f} {peak / 1e6:>8.1f}")
        growth = args.large / args.small
        print(f"{file_format}: peak ratio large/small = {peaks[1] / peaks[0]:.2f} for {growth:.0f}x the rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
