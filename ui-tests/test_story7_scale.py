"""Story 7 (a measurement, not an assertion of speed): the sidebar with 10,000 runs.

Prints the time to write the runs, the first render of the sidebar (page load to rows
visible, and the runs request alone), and scroll smoothness (frame times while the table
scrolls through all rows). Asserts only that it works: rows render and stay virtualized.
"""

from __future__ import annotations

import time

from conftest import Lab, make_project, open_page
from fabricate import many_runs, write_runs
from pages import ROW
from playwright.sync_api import expect

COUNT = 10_000

#: The floor of this browser and machine: the same scroll over a bare page that draws the
#: same 57 rows of plain divs per frame, with no framework at all.
BASELINE_PAGE = """<html><body style="margin:0"><div id="panel">
<div id="table" style="height:700px;width:240px;overflow:auto;position:relative">
<div id="body" style="height:240000px;position:relative"></div></div></div><script>
const t = document.getElementById('table'), b = document.getElementById('body');
function draw() {
  const first = Math.floor(t.scrollTop / 24) - 12;
  b.textContent = '';
  for (let i = Math.max(0, first); i < first + 57; i++) {
    const r = document.createElement('div');
    r.className = 'row';
    r.style.cssText = 'position:absolute;top:0;height:24px;width:600px;display:grid;' +
      'grid-template-columns:26px 150px 110px 92px 66px 76px 76px;' +
      'transform:translateY(' + i * 24 + 'px)';
    for (let c = 0; c < 7; c++) {
      const d = document.createElement('div');
      d.textContent = 'cell ' + i + ' ' + c;
      r.appendChild(d);
    }
    b.appendChild(r);
  }
}
t.addEventListener('scroll', () => requestAnimationFrame(draw));
draw();
</script></body></html>"""

#: Scrolls ``table`` top to bottom in ``seconds``, counting frames and rows (``rowSelector``).
SCROLL_PROBE = """
async (table, [seconds, rowSelector]) => {
  const frames = [];
  const rowsInDom = [];
  const end = table.scrollHeight - table.clientHeight;
  const start = performance.now();
  let last = start;
  await new Promise(resolve => {
    const step = now => {
      frames.push(now - last);
      last = now;
      const t = (now - start) / (seconds * 1000);
      table.scrollTop = Math.min(1, t) * end;
      rowsInDom.push(table.querySelectorAll(rowSelector).length);
      if (t < 1) { requestAnimationFrame(step); } else { resolve(); }
    };
    requestAnimationFrame(step);
  });
  frames.shift();
  frames.sort((a, b) => a - b);
  const pick = q => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))];
  return {
    frames: frames.length,
    fps: frames.length / seconds,
    p50: pick(0.5), p95: pick(0.95), max: frames[frames.length - 1],
    long: frames.filter(f => f > 50).length,
    maxRowsInDom: Math.max(...rowsInDom),
    reachedEnd: Math.abs(table.scrollTop - end) < 2
  };
}
"""


def test_ten_thousand_runs(tmp_path, playwright_browser, screenshots) -> None:
    root = make_project(tmp_path / "big")
    started = time.perf_counter()
    write_runs(root / ".trackrun", many_runs(COUNT))
    written = time.perf_counter() - started
    server = Lab.start(root)
    try:
        # The first request ingests 10,000 run directories into the index: time it apart.
        started = time.perf_counter()
        server.api("GET", "/trackrun/api/runs?limit=1")
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        page_json = server.api("GET", f"/trackrun/api/runs?limit={COUNT}")
        api_full = time.perf_counter() - started
        assert page_json["total"] == COUNT

        context, page = open_page(playwright_browser, server)
        try:
            started = time.perf_counter()
            page.open_sidebar()
            expect(page.rows().first).to_be_visible(timeout=60_000)
            first_render = time.perf_counter() - started
            footer = page.footer()
            expect(footer).to_contain_text("10,000 runs")
            # Measured in the page: from navigation start to the first row in the DOM.
            reload_started = time.perf_counter()
            page.page.reload()
            page.wait_until_restored()
            page.open_sidebar()
            expect(page.rows().first).to_be_visible(timeout=60_000)
            reload_to_rows = time.perf_counter() - reload_started
            page.dismiss_news()
            page.table().hover()
            scroll = page.table().evaluate(SCROLL_PROBE, [4, ROW])
            # Sorting 10,000 runs (server side) until the table shows the new first row.
            page.table().evaluate("t => t.scrollTop = 0")
            first_before = page.rows().first.get_attribute("data-run-id")
            sort_started = time.perf_counter()
            page.sort_by("duration")
            expect(page.rows().first).not_to_have_attribute(
                "data-run-id", first_before or "", timeout=30_000
            )
            sorted_in = time.perf_counter() - sort_started
            page.screenshot(screenshots / "sidebar-10k.png", page.panel())
        finally:
            context.close()
    finally:
        server.stop()
    bare = playwright_browser.new_page(viewport={"width": 1440, "height": 900})
    bare.set_content(BASELINE_PAGE)
    baseline = bare.locator("#table").evaluate(SCROLL_PROBE, [4, ".row"])
    bare.close()

    print(
        f"\n10,000-run measurement:\n"
        f"  write {COUNT} run dirs:            {written:6.2f} s\n"
        f"  first API call (ingest all):     {ingest:6.2f} s\n"
        f"  GET runs?limit=10000:            {api_full:6.2f} s "
        f"({len(str(page_json)) / 1e6:.1f} MB as Python text)\n"
        f"  sidebar open to first row:       {first_render:6.2f} s\n"
        f"  page reload to first row:        {reload_to_rows:6.2f} s\n"
        f"  sort by duration (server):       {sorted_in:6.2f} s\n"
        f"  scroll 10,000 rows in 4 s:       {scroll['fps']:.0f} fps, frame p50 "
        f"{scroll['p50']:.1f} ms, p95 {scroll['p95']:.1f} ms, max {scroll['max']:.1f} ms, "
        f"{scroll['long']} frames > 50 ms, at most {scroll['maxRowsInDom']} rows in the DOM\n"
        f"  same scroll, bare-DOM baseline:  {baseline['fps']:.0f} fps, frame p50 "
        f"{baseline['p50']:.1f} ms, p95 {baseline['p95']:.1f} ms (this browser's floor)"
    )
    assert scroll["reachedEnd"]
    assert scroll["maxRowsInDom"] < 200  # virtualized: only visible rows exist
