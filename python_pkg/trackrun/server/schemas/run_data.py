"""What a run logged, as served: its metric series (``GET runs/{run_id}/metrics``), slices
of its log (``GET runs/{run_id}/log``) and its images (``GET runs/{run_id}/media``)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import TypedDict

from trackrun.server.schemas.common import MetricValue, RunStatus


class SeriesPoints(TypedDict):
    steps: list[int]
    values: list[MetricValue]
    wall_times: list[float]


class MetricSeries(TypedDict):
    """``GET runs/{run_id}/metrics``: downsampled series per metric key."""

    run_id: str
    series: dict[str, SeriesPoints]


class SeriesQuery(TypedDict, total=False):
    keys: list[str]
    max_points: int


class LogChunk(TypedDict):
    """``GET runs/{run_id}/log``: the log from ``offset``; poll again from ``next_offset``."""

    text: str
    offset: int
    next_offset: int
    size: int
    live: bool
    status: RunStatus


class LogQuery(TypedDict, total=False):
    offset: int
    max_bytes: int


class MediaItem(TypedDict):
    """One image of a run: its key and step, its size in pixels, and where to get the PNG
    (``url``, relative to /trackrun/api/)."""

    key: str
    step: int
    width: int
    height: int
    url: str


class MediaList(TypedDict):
    """``GET runs/{run_id}/media``: the run's images and figures, by key then step."""

    run_id: str
    media: list[MediaItem]
