"""Where to write each class' name on a 2D class-area map: the most interior point of each of its
areas (the maximum of the distance to the area's border), for every area big enough to hold a label."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .maps import ClassAreaMap


def area_labels(class_map: ClassAreaMap, min_fraction: float = 0.012) -> list[tuple[int, float, float]]:
    """(class, x, y) in latent coordinates for each connected area covering at least `min_fraction`
    of a 2D map, at the area's most interior grid point."""
    labels = class_map.labels
    if labels.ndim != 2:
        raise ValueError("area labels are for 2D maps")
    xs, ys = class_map.coords
    found = []
    for cls in np.unique(labels):
        components, count = ndimage.label(labels == cls)
        for index in range(1, count + 1):
            area = components == index
            if area.mean() < min_fraction:
                continue
            depth = ndimage.distance_transform_edt(np.pad(area, 1))[1:-1, 1:-1]
            i, j = np.unravel_index(int(depth.argmax()), depth.shape)
            found.append((int(cls), float(xs[i]), float(ys[j])))
    return found
