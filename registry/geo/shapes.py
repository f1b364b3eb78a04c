"""The commune shapes shipped with the project (data/commune_shapes.zip), read one department at
a time: simplified outlines to draw maps offline, not to measure areas."""

import json
import zipfile
from functools import cache
from itertools import accumulate
from pathlib import Path

SHAPES_FILE = Path(__file__).resolve().parent / "data" / "commune_shapes.zip"

Ring = tuple[tuple[float, float], ...]  # (longitude, latitude) vertices, not closed


def decode_ring(flat: list[int], scale: int) -> Ring:
    """[x0, y0, dx1, dy1, …] in 1/scale degree -> (longitude, latitude) vertices."""
    xs = accumulate(flat[0::2])
    ys = accumulate(flat[1::2])
    return tuple((x / scale, y / scale) for x, y in zip(xs, ys, strict=True))


@cache
def department_shapes(department: str) -> dict[str, tuple[Ring, ...]]:
    """INSEE code -> rings (exterior and holes alike, to fill even-odd) of every commune and
    arrondissement of the department; () for the few without geometry. Unknown department: {}.
    Parsed once per department and process (the dict is shared: do not change it)."""
    with zipfile.ZipFile(SHAPES_FILE) as archive:
        try:
            document = json.loads(archive.read(f"{department}.json"))
        except KeyError:
            return {}
    scale = document["scale"]
    return {
        insee: tuple(decode_ring(ring, scale) for ring in rings)
        for insee, rings in document["communes"].items()
    }


def shipped_departments() -> list[str]:
    """The department codes the shape file holds."""
    with zipfile.ZipFile(SHAPES_FILE) as archive:
        return sorted(name.removesuffix(".json") for name in archive.namelist())
