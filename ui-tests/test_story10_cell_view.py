"""Story 10: the cell's live view (and the runs panel) say "connection lost, retrying" while
the server does not answer, then catch up with the run without repeating a line."""

from __future__ import annotations

import re
from typing import Any

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def test_cell_view_survives_a_stalled_server(lab: Lab, ui: LabPage) -> None:
    path = lab.write_notebook(
        "story10.ipynb",
        [
            "%load_ext trackrun\nimport time",
            "%%track_run --detach --name story10-stall\n"
            "for i in range(300):\n    print('tick', i, flush=True)\n    time.sleep(0.2)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    output = ui.run_outputs().first
    expect(output).to_have_attribute("data-status", "running", timeout=60_000)
    expect(ui.output_last_line(output)).to_contain_text("tick", timeout=30_000)
    expect(ui.output_connection(output)).to_have_count(0)

    # The server stalls: its answers are held back (as a hung proxy or server would).
    held: list[Any] = []
    stalled = [True]

    def hold(route: Any) -> None:
        if stalled[0]:
            held.append(route)
        else:
            route.continue_()

    ui.page.route(re.compile(r"/trackrun/api/(runs|changes)[/?]"), hold)
    expect(ui.output_connection(output)).to_have_text("connection lost, retrying…", timeout=30_000)
    before = ui.output_last_line(output).text_content() or ""
    expect(ui.banner()).to_contain_text("retrying", timeout=30_000)

    # It answers again: the view catches up, and no line is shown twice.
    stalled[0] = False
    for route in held:
        route.continue_()
    expect(ui.output_connection(output)).to_have_count(0, timeout=30_000)
    expect(ui.banner()).to_have_count(0, timeout=30_000)
    expect(ui.output_last_line(output)).not_to_have_text(before, timeout=30_000)
    ui.output_toggle(output).click()
    texts = ui.output_log_lines(output).all_text_contents()
    ticks = [t for t in texts if t.startswith("tick ")]
    assert ticks, texts
    assert len(ticks) == len(set(ticks)), f"a line was shown twice: {ticks}"
    numbers = [int(t.split()[1]) for t in ticks]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    ui.command("trackrun:kill", {"runId": output.get_attribute("data-run-id"), "confirmed": True})
    assert not ui.errors, ui.errors
