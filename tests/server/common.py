"""Helpers of the REST tests: runs to serve, and one valid request per route and method."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

import trackrun
from trackrun.jobs import SweepRecord
from trackrun.layout import StorePaths
from trackrun.server import openapi
from trackrun.server.handlers import ROUTES

#: The contract as the code declares it (test_contract.py proves docs/openapi.json equals it).
SPEC = openapi.build()
#: The sweep make_runs() records (its runs are not tagged into it: no route changes them).
SWEEP_ID = "sw-20261126-000000-abcdef"


async def get(jp_fetch: Any, path: str, **params: Any) -> Any:
    response = await jp_fetch("trackrun", "api", *path.split("/"), params=params or None)
    return json.loads(response.body)


def make_runs() -> list[str]:
    """Two finished runs with params, metrics (one NaN), tags, a log, a code file, an
    artifact and an image (key val/samples, step 4), and the record of a sweep (SWEEP_ID)
    naming them; returns their ids."""
    ids = []
    for lr, acc in ((0.01, 0.9), (0.001, math.nan)):
        with trackrun.start_run(
            name=f"lr-{lr}", params={"lr": lr, "opt": "adam"}, tags=["sweep"]
        ) as run:
            for step in range(5):
                trackrun.log(loss=lr * step, acc=acc, step=step)
            with open(run.paths.output_log, "a") as f:
                print("hello", file=f)
            run.paths.code.mkdir(exist_ok=True)
            (run.paths.code / "cell.py").write_text(f"lr = {lr}\n")
            source = run.paths.root.parent.parent / f"weights-{lr}.txt"
            source.write_text("weights\n")
            run.artifact(source, name="weights.txt")
            run.log_image("val/samples", _checker(), step=4)
        ids.append(run.run_id)
    store = StorePaths(run.paths.root.parent.parent)
    SweepRecord(SWEEP_ID, "walk", "lr=[0.01, 0.001]", run_ids=ids, metric="acc").save(store)
    return ids


def _checker() -> Any:
    import numpy as np

    return np.array([[0, 255, 0], [255, 0, 255]], dtype=np.uint8)  # 3x2, grey


def methods(handler: type) -> list[str]:
    return [m for m in ("get", "post", "put", "delete", "patch") if m in handler.__dict__]


def concrete(path: str, run_id: str = "20261126-000000-abcdef") -> str:
    """A route template with real values: the run, its code folder and cell.py."""
    path = path.replace("{run_id}", run_id).replace("{folder}", "code")
    path = path.replace("{key}", "val.samples").replace("{step}", "4")
    path = path.replace("{sweep_id}", SWEEP_ID)
    return path.replace("{name}", "cell.py")


@dataclass
class Sample:
    """One valid request of a route's method, and the status it must get."""

    route: str
    method: str
    path: str
    status: int
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


def samples(ids: list[str]) -> list[Sample]:
    """A request for every route and method of ROUTES, on the runs of make_runs().

    Writes come last and the deletion very last, so the walk can run in this order.
    """
    first, second = ids
    special: dict[tuple[str, str], Sample] = {
        ("changes", "get"): Sample(
            "changes", "get", "changes", 200, {"since": "x", "timeout": "0"}
        ),
        ("runs", "get"): Sample(
            "runs", "get", "runs", 200, {"order_by": "params.lr", "limit": "5"}
        ),
        ("compare", "get"): Sample("compare", "get", "compare", 200, {"ids": f"{first},{second}"}),
        ("runs/{run_id}/metrics", "get"): Sample(
            "runs/{run_id}/metrics", "get", f"runs/{first}/metrics", 200, {"keys": "loss,acc"}
        ),
        ("runs/{run_id}/kill", "post"): Sample(
            "runs/{run_id}/kill", "post", f"runs/{first}/kill", 409, body={}
        ),
        ("runs/{run_id}/rerun", "post"): Sample(
            "runs/{run_id}/rerun", "post", f"runs/{first}/rerun", 409, body={"params": {}}
        ),
        # make_runs() logs from this process, which has no script to record: nothing to
        # reproduce, refused before anything starts.
        ("runs/{run_id}/reproduce", "post"): Sample(
            "runs/{run_id}/reproduce", "post", f"runs/{first}/reproduce", 400, body={}
        ),
        ("runs/{run_id}/tags", "post"): Sample(
            "runs/{run_id}/tags", "post", f"runs/{first}/tags", 200, body={"add": ["best"]}
        ),
        ("runs/{run_id}", "patch"): Sample(
            "runs/{run_id}", "patch", f"runs/{first}", 200, body={"note": "walked"}
        ),
        ("runs/{run_id}", "delete"): Sample("runs/{run_id}", "delete", f"runs/{second}", 200),
        # Nothing is in the trash when the walk reaches these: both answer 404, changing nothing.
        ("trash/{run_id}/restore", "post"): Sample(
            "trash/{run_id}/restore", "post", f"trash/{first}/restore", 404, body={}
        ),
        ("trash/{run_id}", "delete"): Sample("trash/{run_id}", "delete", f"trash/{first}", 404),
    }
    out = []
    for route, handler in ROUTES:
        for method in methods(handler):
            out.append(
                special.get((route, method)) or Sample(route, method, concrete(route, first), 200)
            )
    assert {(s.route, s.method) for s in out} >= set(special), "a sample names no route"
    return sorted(out, key=lambda s: (s.writes, s.method == "delete"))


def store_files(root: Path) -> list[str]:
    """Every file of the store's run folders, with its size (to prove nothing changed)."""
    return sorted(
        f"{p.relative_to(root)} {p.stat().st_size}"
        for p in (root / "runs").rglob("*")
        if p.is_file()
    )


def check_answer(route: str, method: str, response: Any) -> None:
    """Fail unless the contract declares this status for the route, and the body fits it."""
    content_type = response.headers.get("Content-Type", "")
    check_body(route, method, response.code, content_type, response.body)


def check_body(route: str, method: str, status: int, content_type: str, body: bytes) -> None:
    """check_answer on the parts of an answer."""
    operation = SPEC["paths"]["/" + route][method]
    entry = operation["responses"].get(str(status))
    assert entry, f"{method.upper()} {route} answered {status}, not in the contract"
    content = entry.get("content", {})
    if "application/json" in content:
        assert content_type.startswith("application/json"), content_type
        schema = {**content["application/json"]["schema"], "components": SPEC["components"]}
        jsonschema.validate(json.loads(body), schema, cls=jsonschema.Draft202012Validator)
    elif "image/png" in content:
        assert content_type == "image/png", content_type
        assert body.startswith(b"\x89PNG\r\n\x1a\n"), body[:16]
