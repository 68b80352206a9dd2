"""HTML → text time against the page's size: a table of 1,000 to 64,000 rows (the shape of the
3.7 MB page that once froze the server for 13 minutes), median of 5 conversions each.

    .venv/bin/python bench/html_to_text.py [--runs 5]

Prints rows, bytes, seconds and seconds per 1,000 rows: flat when the conversion is linear.
"""

from __future__ import annotations

import argparse
import statistics
import time

from qa.documents import html_to_text


def table_page(rows: int) -> str:
    body = "".join(f"<tr><td>Row {n}</td><td>{n * 7} units</td><td><a href='/r/{n}'>link</a></td></tr>" for n in range(rows))
    return f"<html><head><title>Table</title><script>var x = 1;</script></head><body><table>{body}</table></body></html>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'rows':>7} {'MB':>6} {'seconds':>8} {'s/1k rows':>9}")
    for rows in (1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000):
        page = table_page(rows)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            html_to_text(page)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{rows:>7} {len(page) / 1e6:>6.2f} {median:>8.3f} {median / rows * 1000:>9.4f}")


if __name__ == "__main__":
    main()
