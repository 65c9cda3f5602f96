"""Story 13: images in the run view's Media tab (following a live run), side by side in
compare, artifact previews, and the run's code highlighted by JupyterLab's editor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage, MediaPage
from playwright.sync_api import expect

#: Logs images with the real trackrun API into the store given as argv[1]. A run named
#: "media-live" logs "samples" at steps 0-2 and "mask" at 0, then one more step each time a
#: file go-N appears in argv[2], and finishes when "done" appears there.
LIVE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    import trackrun

    store, signals = sys.argv[1], Path(sys.argv[2])

    def picture(step, width=64):
        image = np.zeros((48, width, 3), dtype=np.uint8)
        image[:, : 8 * (step + 1)] = (40 * step % 256, 120, 255 - 40 * step % 256)
        return image

    def wait(name):
        while not (signals / name).exists():
            time.sleep(0.05)

    with trackrun.start_run(name="media-live", store=store):
        for step in range(3):
            trackrun.log_image("samples", picture(step), step=step)
            trackrun.log(loss=1.0 / (step + 1), step=step)
        trackrun.log_image("mask", (np.indices((48, 32)).sum(0) % 16 * 16).astype(np.uint8), step=0)
        (signals / "ready").touch()
        step = 3
        while not (signals / "done").exists():
            if (signals / f"go-{step}").exists():
                trackrun.log_image("samples", picture(step), step=step)
                step += 1
            time.sleep(0.05)
    """
)

#: Two finished runs for compare: "media-a" logs "samples" at steps 0, 1, 2 and
#: "media-b" at 0 and 2 only (it lacks step 1); both log "confusion" at step 0. Then a run
#: "artifacts-run" saves a PNG, a CSV, a JSON and a text file over 1 MB as artifacts.
FINISHED_SCRIPT = textwrap.dedent(
    """
    import csv, json, sys
    from pathlib import Path
    import numpy as np
    import trackrun

    store, folder = sys.argv[1], Path(sys.argv[2])

    def picture(step, shade):
        image = np.full((40, 60, 3), shade, dtype=np.uint8)
        image[:, : 10 * (step + 1), 1] = 255
        return image

    for name, steps, shade in (("media-a", (0, 1, 2), 60), ("media-b", (0, 2), 180)):
        with trackrun.start_run(name=name, params={"seed": shade}, store=store):
            for step in steps:
                trackrun.log_image("samples", picture(step, shade), step=step)
                trackrun.log(acc=0.5 + 0.1 * step, step=step)
            trackrun.log_image("confusion", picture(0, 255 - shade), step=0)

    png = folder / "confusion.png"
    with trackrun.start_run(name="artifacts-run", store=store):
        path = trackrun.log_image("sample", picture(1, 90), step=0)
        png.write_bytes(Path(path).read_bytes())
        trackrun.artifact(png)
        with open(folder / "results.csv", "w", newline="") as f:
            rows = [["epoch", "acc", "note"], [0, 0.5, "warm, up"], [1, 0.75, 'said "ok"']]
            csv.writer(f).writerows(rows)
        trackrun.artifact(folder / "results.csv")
        (folder / "metrics.json").write_text(json.dumps({"acc": 0.75, "per_class": [1, 2]}))
        trackrun.artifact(folder / "metrics.json")
        (folder / "big.txt").write_text("x" * (1536 * 1024))
        trackrun.artifact(folder / "big.txt")
    """
)


def python_env() -> dict[str, str]:
    """This interpreter's environment with this tree's package first on the path."""
    env = dict(os.environ)
    package = str(Path(__file__).resolve().parent.parent / "python_pkg")
    env["PYTHONPATH"] = os.pathsep.join([package, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.pop("TRACKRUN_HOME", None)
    return env


@pytest.fixture
def live_run(lab: Lab, tmp_path: Path) -> Iterator[Path]:
    """The "media-live" run, still running; yields the folder its go-N files go in."""
    signals = tmp_path / "signals"
    signals.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", LIVE_SCRIPT, str(lab.store), str(signals)], env=python_env()
    )
    try:
        deadline = time.time() + 60
        while not (signals / "ready").exists():
            assert process.poll() is None, "the image-logging run exited early"
            assert time.time() < deadline, "the image-logging run did not start"
            time.sleep(0.05)
        yield signals
    finally:
        (signals / "done").touch()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def finished_runs(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("artifacts")
    subprocess.run(
        [sys.executable, "-c", FINISHED_SCRIPT, str(lab.store), str(folder)],
        env=python_env(),
        check=True,
        timeout=120,
    )


def test_media_tab_shows_each_key_and_the_slider_changes_the_step(
    lab: Lab, ui: LabPage, live_run: Path, screenshots: Path
) -> None:
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.open_run("media-live")
    ui.run_view_tab("media")
    expect(media.media_cards()).to_have_count(2)

    samples = media.media_card("samples")
    image = media.image(samples)
    # The latest step first.
    expect(media.step_caption(samples)).to_have_text("step 2")
    media.expect_image_loaded(image)
    latest = image.get_attribute("src") or ""
    assert latest.endswith("/media/samples/2.png"), latest

    # The slider, from the keyboard: Home goes to the first step, an arrow to the next.
    media.press_on_slider(samples, "Home")
    expect(media.step_caption(samples)).to_have_text("step 0")
    expect(image).not_to_have_attribute("src", latest)
    assert (image.get_attribute("src") or "").endswith("/media/samples/0.png")
    media.expect_image_loaded(image)
    media.press_on_slider(samples, "ArrowRight")
    expect(media.step_caption(samples)).to_have_text("step 1")
    media.expect_image_loaded(image)

    # A step chosen stays while the run logs more...
    (live_run / "go-3").touch()
    expect(media.slider(samples)).to_have_attribute("max", "3")
    expect(media.step_caption(samples)).to_have_text("step 1")
    # ...and at the latest step, the card follows the run.
    media.press_on_slider(samples, "End")
    expect(media.step_caption(samples)).to_have_text("step 3")
    (live_run / "go-4").touch()
    expect(media.step_caption(samples)).to_have_text("step 4")
    media.expect_image_loaded(image)

    # A key with a single step has no slider.
    mask = media.media_card("mask")
    expect(media.step_caption(mask)).to_have_text("step 0")
    expect(media.slider(mask)).to_have_count(0)
    media.expect_image_loaded(media.image(mask))

    ui.screenshot(screenshots / "run-view-media.png")
    media.set_theme("JupyterLab Dark")
    try:
        media.expect_image_loaded(image)
        ui.screenshot(screenshots / "dark-run-view-media.png")
    finally:
        media.set_theme("JupyterLab Light")


def test_media_tab_of_a_run_without_images_says_so(lab: Lab, ui: LabPage) -> None:
    write_runs(lab.store, [FakeRun(name="no-images", metrics={"loss": [1.0, 0.5]})])
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.open_run("no-images")
    ui.run_view_tab("media")
    expect(media.media_empty()).to_contain_text("No images were logged in this run")
    expect(media.media_cards()).to_have_count(0)


def test_compare_shows_the_runs_images_side_by_side(
    lab: Lab, ui: LabPage, finished_runs: None, screenshots: Path
) -> None:
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.select("media-a", "media-b")
    view = ui.compare_selected()
    section = media.compare_media(view)
    expect(section).to_be_visible(timeout=30_000)
    a = media.compare_media_run(view, "media-a")
    b = media.compare_media_run(view, "media-b")
    # Keys in order: "confusion" first, logged at step 0 only.
    expect(media.compare_media_key(view)).to_have_value("confusion")
    expect(media.step_caption(b)).to_have_text("step 0")
    media.compare_media_key(view).select_option("samples")
    # Both at the same (latest) step, next to each other.
    expect(media.step_caption(a)).to_have_text("step 2")
    expect(media.step_caption(b)).to_have_text("step 2")
    media.expect_image_loaded(media.image(a))
    media.expect_image_loaded(media.image(b))
    box_a, box_b = a.bounding_box(), b.bounding_box()
    # (in the table's order of the two runs)
    assert box_a and box_b and abs(box_a["y"] - box_b["y"]) < 2
    assert abs(box_a["x"] - box_b["x"]) >= box_a["width"]

    # Step 1: run b has none, so it shows its step 0 and says so.
    media.press_on_slider(section, "ArrowLeft")
    expect(media.step_caption(a)).to_have_text("step 1")
    expect(media.step_caption(b)).to_have_text("step 0")
    expect(media.note(b)).to_contain_text("no step 1: nearest earlier step")
    media.expect_image_loaded(media.image(b))
    ui.screenshot(screenshots / "compare-media.png", section)

    # Another key, picked from the list.
    media.compare_media_key(view).select_option("confusion")
    expect(media.step_caption(a)).to_have_text("step 0")
    assert (media.image(b).get_attribute("src") or "").endswith("/media/confusion/0.png")
    media.compare_media_key(view).select_option("samples")
    media.press_on_slider(section, "ArrowLeft")
    expect(media.note(b)).to_contain_text("no step 1: nearest earlier step")

    media.set_theme("JupyterLab Dark")
    try:
        media.expect_image_loaded(media.image(a))
        ui.screenshot(screenshots / "dark-compare-media.png", section)
    finally:
        media.set_theme("JupyterLab Light")


def test_artifact_previews(lab: Lab, ui: LabPage, finished_runs: None, screenshots: Path) -> None:
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.open_run("artifacts-run")
    ui.run_view_tab("artifacts")

    image = media.preview_image(media.preview_artifact("confusion.png"))
    media.expect_image_loaded(image)

    csv = media.preview_csv(media.preview_artifact("results.csv"))
    expect(csv.locator("thead th")).to_have_text(["epoch", "acc", "note"])
    expect(csv.locator("tbody tr")).to_have_count(2)
    expect(csv.locator("tbody tr").nth(0).locator("td").nth(2)).to_have_text("warm, up")
    expect(csv.locator("tbody tr").nth(1).locator("td").nth(2)).to_have_text('said "ok"')

    big = media.preview_artifact("big.txt")
    expect(big).to_contain_text("too large to preview (1.5 MB): download")
    link = big.get_by_role("link", name="download")
    assert (link.get_attribute("href") or "").endswith("/artifacts/big.txt")

    pretty = media.preview_json(media.preview_artifact("metrics.json"))
    expect(pretty).to_have_text('{\n  "acc": 0.75,\n  "per_class": [\n    1,\n    2\n  ]\n}')
    ui.screenshot(screenshots / "run-view-artifacts.png")

    media.preview_artifact("results.csv")
    media.set_theme("JupyterLab Dark")
    try:
        ui.screenshot(screenshots / "dark-run-view-artifacts.png")
    finally:
        media.set_theme("JupyterLab Light")


def test_code_tab_is_highlighted_read_only_by_jupyterlab_editor(
    lab: Lab, ui: LabPage, screenshots: Path
) -> None:
    code = (
        "import torch\n\n"
        "def train(lr=0.1):\n"
        '    """One epoch."""\n'
        "    for epoch in range(5):\n"
        "        loss = 1.0 / (epoch + 1)  # falls\n"
        "    return loss\n"
    )
    write_runs(lab.store, [FakeRun(name="code-run", code=code)])
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.open_run("code-run")
    ui.run_view_tab("code")
    editor = media.code_editor()
    expect(editor).to_be_visible()
    media.wait_highlighted(editor, "def")
    media.wait_highlighted(editor, "for")
    assert media.code_text(editor) == code

    # Read-only: typing changes nothing.
    editor.locator(".cm-content").click()
    ui.page.keyboard.type("oops")
    assert media.code_text(editor) == code
    ui.screenshot(screenshots / "run-view-code.png")

    media.set_theme("JupyterLab Dark")
    try:
        media.wait_highlighted(editor, "def")
        ui.screenshot(screenshots / "dark-run-view-code.png")
    finally:
        media.set_theme("JupyterLab Light")


def test_compare_code_diff_is_highlighted_with_changed_lines_marked(
    lab: Lab, ui: LabPage, screenshots: Path
) -> None:
    before = "for epoch in range(5):\n    acc = train(lr)\n    print(acc)\n"
    after = "for epoch in range(5):\n    acc = train(lr, momentum=0.9)\n    print(acc)\n"
    write_runs(
        lab.store,
        [
            FakeRun(name="diff-a", params={"lr": 0.1}, code=before),
            FakeRun(name="diff-b", params={"lr": 0.2}, code=after),
        ],
    )
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.select("diff-a", "diff-b")
    view = ui.compare_selected()
    editor = media.compare_code_editors(view).first
    expect(editor).to_be_visible(timeout=30_000)
    media.wait_highlighted(editor, "for")
    # The marker column is a decoration: the lines hold the code alone.
    expect(media.added_lines(editor)).to_have_count(1)
    expect(media.removed_lines(editor)).to_have_count(1)
    changed = media.added_lines(editor).or_(media.removed_lines(editor))
    texts = sorted(changed.all_text_contents())
    assert texts == ["    acc = train(lr)", "    acc = train(lr, momentum=0.9)"], texts
    ui.screenshot(screenshots / "compare-code.png", media.compare_code(view))
    media.set_theme("JupyterLab Dark")
    try:
        media.wait_highlighted(editor, "for")
        ui.screenshot(screenshots / "dark-compare-code.png", media.compare_code(view))
    finally:
        media.set_theme("JupyterLab Light")


def test_images_and_figures_of_a_tracked_cell_are_in_its_media_tab(lab: Lab, ui: LabPage) -> None:
    path = lab.write_notebook(
        "story13.ipynb",
        [
            "%load_ext trackrun\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
            "import trackrun",
            "%%track_run --name story13-cell\n"
            "for step in range(3):\n"
            "    trackrun.log_image('samples', np.full((16, 16, 3), 80 * step, np.uint8),"
            " step=step)\n"
            "fig, ax = plt.subplots(figsize=(3, 2))\n"
            "ax.plot([0, 1, 4, 9])\n"
            "plt.show()",
        ],
    )
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    ui.expect_row_status("story13-cell", "finished", timeout=120_000)
    ui.open_run("story13-cell")
    ui.run_view_tab("media")
    # The figure plt.show() displayed is kept as the run's media, keyed by output order.
    figure = media.media_card("figure-0")
    expect(media.step_caption(figure)).to_have_text("step 0")
    media.expect_image_loaded(media.image(figure))
    samples = media.media_card("samples")
    expect(media.step_caption(samples)).to_have_text("step 2")
    media.press_on_slider(samples, "Home")
    expect(media.step_caption(samples)).to_have_text("step 0")
    media.expect_image_loaded(media.image(samples))
