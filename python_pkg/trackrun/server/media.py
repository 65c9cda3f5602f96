"""Serving a run's images and figures: the list from the index, each PNG from the run folder."""

from __future__ import annotations

from typing import BinaryIO

from trackrun.ids import check_run_id
from trackrun.server import schemas as s
from trackrun.server.run_files import FileNotInRunError, open_in_run
from trackrun.store import Store


def media_list(store: Store, run_id: str) -> s.MediaList:
    """The media the index holds for ``run_id``, each with the url of its PNG. Raises
    InvalidRunIdError or RunNotFoundError."""
    check_run_id(run_id)
    table = store.media(run_id)
    items: list[s.MediaItem] = []
    for row in table:
        # path is media/FOLDER/STEP.png (media.media_path): the url names the same file.
        folder = str(row["path"]).split("/")[1]
        items.append(
            {
                "key": str(row["key"]),
                "step": int(row["step"]),
                "width": int(row["width"]),
                "height": int(row["height"]),
                "url": f"runs/{run_id}/media/{folder}/{int(row['step'])}.png",
            }
        )
    return {"run_id": run_id, "media": items}


def open_media(store: Store, run_id: str, key: str, step: str) -> BinaryIO:
    """Open the PNG ``media/<key>/<step>.png`` of the run, with the path checks of every
    served file (no symlink on the way, inside the real run folder). Raises
    FileNotInRunError for anything else."""
    if not step.isdigit():
        raise FileNotInRunError(f"no image {key}/{step}.png in this run")
    return open_in_run(store.paths.runs, run_id, ["media", key], f"{int(step)}.png")
