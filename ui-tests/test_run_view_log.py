"""The run view's log with a large output: the tail first, "load earlier" on demand,
progress bars at their last state, ANSI colours as styles, HTML-looking text as text."""

from __future__ import annotations

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage
from playwright.sync_api import expect


def test_large_log_tail_then_earlier(lab: Lab, ui: LabPage) -> None:
    lines = [f"line {i:06d} " + "x" * 60 for i in range(6000)]  # ~430 KB
    bar = "".join(f"\rtrain [{'#' * k:10}] {k * 10}%" for k in range(11))
    text = "first line of the log\n" + "\n".join(lines) + "\n" + bar + "\n"
    text += "\x1b[31mred warning\x1b[0m <b>not bold</b>\n"
    write_runs(lab.store, [FakeRun(name="big-log", log=text)])
    ui.open_sidebar()
    ui.open_run("big-log")
    ui.run_view_tab("log")

    log = ui.log()
    # The tail comes first: the end of the log is there, its beginning is not.
    expect(log).to_contain_text("line 005999")
    expect(log).not_to_contain_text("first line of the log")
    # The progress bar is one line, at its last state; colours are styles, tags are text.
    expect(ui.log_line("train [")).to_have_count(1)
    expect(ui.log_line("train [")).to_contain_text("100%")
    expect(ui.log_red_text()).to_have_text("red warning")
    expect(log).to_contain_text("<b>not bold</b>")
    assert ui.log_elements("b").count() == 0

    # Earlier output is read on demand until the beginning.
    earlier = ui.load_earlier()
    for _ in range(10):
        if not earlier.is_visible():
            break
        before = ui.log_lines().count()
        earlier.click()
        expect(ui.log_lines()).not_to_have_count(before)
    expect(log).to_contain_text("first line of the log")
    expect(earlier).to_have_count(0)
    # No line was cut or doubled where two reads met.
    expect(ui.log_line("line 003000 ")).to_have_count(1)
    assert ui.log_lines().count() == 6000 + 3
