"""An export's memory does not grow with its length: the peak (tracemalloc) while 10 times more
rows are produced and read stays about the same, the size of one chunk of rows (2,000).
scripts/bench_export_memory.py measures 10,000 against 100,000 rows; here 1,000 against 10,000,
to keep the suite quick."""

from tests.exports.bulk import bulk_campaign, export_peak_memory


def test_peak_memory_of_an_export_is_flat_in_its_length(client, researcher, settings):
    settings.DEBUG = False  # no query log
    small = bulk_campaign(100, 10, name="small")
    large = bulk_campaign(1000, 10, name="large")
    client.force_login(researcher)
    for file_format in ("csv", "jsonl"):
        small_url = f"/api/campaigns/{small.pk}/judgments.{file_format}"
        export_peak_memory(client, small_url)  # first-time imports and caches are not the export's
        small_peak, small_bytes, small_lines = export_peak_memory(client, small_url)
        large_peak, large_bytes, large_lines = export_peak_memory(
            client, f"/api/campaigns/{large.pk}/judgments.{file_format}"
        )
        header = 1 if file_format == "csv" else 0
        assert (small_lines, large_lines) == (1000 + header, 10000 + header)
        assert large_bytes > 9 * small_bytes
        # Ten times the rows (five chunks instead of a part of one), and the peak at most 2.5 times:
        # one chunk of objects is alive at a time, never the table.
        assert large_peak < 2.5 * small_peak, (file_format, small_peak, large_peak)
