"""Which class-area maps the explorer shows for a point, as plain specs: the page asks for exactly
these, and `python -m genlab maps` precomputes the same ones (so their cache keys match).

- the pad: the plane over two latent axes through the point (100 x 100 for a 2D space, a 64 x 64
  slice for 3D and more, the other coordinates fixed at the point's values, rounded to 0.001);
- the whole space: the plane (2D), the cube at 16 points per axis (3D), the 4D hypercube at 16 per
  axis (a cube per value of z4), or for larger spaces the cube over z1..z3 with the rest fixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..data import load_dataset
from .space import default_point, latent_ranges

PLANE_RESOLUTION = 100     # points per axis of a 2D space's map
SLICE_RESOLUTION = 64      # points per axis of the pad's slice through a 3D/4D space
CUBE_RESOLUTION = 16       # points per axis of cubes and the 4D hypercube (the thesis' 16 slices)


@dataclass(frozen=True)
class MapSpec:
    axes: tuple[int, ...]
    ranges: list[tuple[float, float]]
    resolution: int
    fixed: dict[int, float] = field(default_factory=dict)


def pad_axes(latent_dim: int, slice_axis: int | None) -> tuple[int, int]:
    """The pad's two axes: (z1, z2) in 2D, else the two of z1..z3 other than the slice axis."""
    if latent_dim < 3 or slice_axis is None:
        return (0, 1)
    return tuple(a for a in range(3) if a != slice_axis)


def pad_map_spec(ranges: list[tuple[float, float]], point: list[float], axes: tuple[int, int]) -> MapSpec:
    """The map under the pad: the plane over `axes` through `point`."""
    d = len(ranges)
    fixed = {i: round(float(point[i]), 3) for i in range(d) if i not in axes}
    return MapSpec(tuple(axes), [tuple(ranges[a]) for a in axes],
                   PLANE_RESOLUTION if d == 2 else SLICE_RESOLUTION, fixed)


def space_map_spec(ranges: list[tuple[float, float]], point: list[float]) -> MapSpec:
    """The map of the whole space (up to four dimensions; larger spaces: the cube through the point)."""
    d = len(ranges)
    if d == 2:
        return MapSpec((0, 1), [tuple(r) for r in ranges], PLANE_RESOLUTION)
    if d <= 4:
        return MapSpec(tuple(range(d)), [tuple(r) for r in ranges], CUBE_RESOLUTION)
    return MapSpec((0, 1, 2), [tuple(r) for r in ranges[:3]], CUBE_RESOLUTION,
                   {i: round(float(point[i]), 1) for i in range(3, d)})


def explorer_ranges(model) -> list[tuple[float, float]]:
    """The latent range per coordinate: the cube [-1, 1]^d for a GAN; for an AE/VAE, the box of the
    codes of the embedded test digits (always on the machine)."""
    images = load_dataset("mnist5k", "test").images if hasattr(model, "encode") else None
    return latent_ranges(model, images)


def explorer_map_specs(model, slice_axis: int = 2) -> list[MapSpec]:
    """The maps the explorer (or, for a conditional GAN, its page, once per class) opens with for
    `model` at its default point: the pad's and the whole space's."""
    ranges = explorer_ranges(model)
    point = default_point(model)
    specs = [pad_map_spec(ranges, point, pad_axes(len(ranges), slice_axis)), space_map_spec(ranges, point)]
    return list({(s.axes, s.resolution, tuple(sorted(s.fixed.items()))): s for s in specs}.values())
