"""A user's own digit: an uploaded file or a drawing from the browser's canvas, checked and turned into
an MNIST-style image (SEEDS.md C; LeCun et al.'s procedure for MNIST).

Checks (`read_image`): PNG or JPEG only (by content, not by name), at most `MAX_BYTES`, at most
`MAX_PIXELS` pixels (a decompression bomb is refused before it is decoded), and a file that does not
decode is refused; every refusal is an `ImageRefused` with a message for the user.

Preprocessing (`mnist_style`): grey levels with the ink bright (a light background is inverted), cut
to the ink's bounding box, scaled so that its longer side is 20 pixels (keeping the aspect ratio,
anti-aliased), and placed in a 28 x 28 frame so that the centre of mass of the ink is at the centre.
"""
from __future__ import annotations

import base64
import binascii
import io
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024          # largest accepted file
MAX_PIXELS = 4096 * 4096             # largest accepted width x height (before decoding)
FORMATS = ("PNG", "JPEG")
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
INK_THRESHOLD = 0.1                  # ink level (0..1) that counts for the bounding box
BOX = 20                             # the longer side of the digit, in pixels (MNIST)
SIZE = 28                            # the frame (MNIST)


class ImageRefused(ValueError):
    """The file or drawing cannot be used; the message says why, for the user."""


def read_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The decoded image in `data`, upright (EXIF orientation applied), after the checks above.

    Raises:
        ImageRefused: empty, too large, not PNG/JPEG, too many pixels, or damaged.
    """
    if not data:
        raise ImageRefused("the file is empty")
    if len(data) > max_bytes:
        raise ImageRefused(f"the file has {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB")
    kind = next((name for sig, name in _SIGNATURES.items() if data.startswith(sig)), None)
    if kind is None:
        raise ImageRefused("this is not a PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                side = int(max_pixels ** 0.5)
                raise ImageRefused(f"the image has {width:,} x {height:,} = {width * height:,} pixels; the limit "
                                   f"is {max_pixels:,} pixels" + (f" ({side:,} x {side:,})" if side * side == max_pixels
                                                                  else ""))
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageRefused:
        raise   # (a ValueError too: not a damaged file)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("the image declares far more pixels than its file holds (a decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageRefused(f"the {kind} file is damaged and cannot be read ({str(err)[:80]})") from None
    return image


def image_from_data_url(url: str, max_bytes: int = MAX_BYTES) -> Image.Image:
    """A `data:image/png;base64,...` URL (what a browser canvas sends) -> the checked image (`read_image`)."""
    head, _, payload = (url or "").partition(",")
    if not head.startswith("data:image/") or ";base64" not in head:
        raise ImageRefused("the drawing did not arrive as an image")
    if len(payload) > max_bytes * 4 // 3 + 4:
        raise ImageRefused(f"the drawing is larger than {max_bytes / 2**20:.0f} MB")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused("the drawing did not arrive as an image") from None
    return read_image(data, max_bytes)


def ink_levels(image: Image.Image) -> np.ndarray:
    """A picture -> float32 (H, W) ink in [0, 1], 1 = full ink, whatever its colours.

    Transparency counts as paper. The paper's shade is the median of the border pixels: a light paper
    (dark ink, a scan or a photo) is inverted; then the paper level is taken away and the rest
    stretched to [0, 1].
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        gray = np.asarray(rgba.convert("L"), dtype=np.float32) / 255
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
        visible = gray[alpha > 0.5]
        paper = 1.0 if visible.size == 0 or np.median(visible) < 0.5 else 0.0   # the shade the ink is not
        gray = gray * alpha + paper * (1 - alpha)
    else:
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    ink = (paper - gray) if paper > 0.5 else (gray - paper)
    peak = float(ink.max())
    if peak <= INK_THRESHOLD:
        return np.zeros_like(ink)
    return np.clip(ink / peak, 0, 1)


def mnist_style(image: Image.Image | np.ndarray) -> torch.Tensor:
    """A picture of one digit -> an MNIST-style image (1, 1, 28, 28) in [-1, 1] (see the module docstring).

    Args:
        image: a PIL image (any mode), or an ink array (H, W) in [0, 1] (1 = ink).

    Raises:
        ImageRefused: there is no ink (an empty canvas, a blank page).
    """
    ink = image.astype(np.float32) if isinstance(image, np.ndarray) else ink_levels(image)
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    if rows.size == 0:
        raise ImageRefused("there is no digit to read: the image is empty")
    # 1. cut to the ink's bounding box; 2. the longer side to 20 pixels, keeping the aspect ratio
    crop = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray(crop * 255).resize((new_w, new_h), Image.LANCZOS, reducing_gap=3.0)
    small = np.clip(np.asarray(small, dtype=np.float32) / 255, 0, 1)
    # 3. into the 28 x 28 frame with the centre of mass at the centre (kept inside the frame)
    mass = small.sum()
    cy = (small.sum(1) * np.arange(new_h)).sum() / mass
    cx = (small.sum(0) * np.arange(new_w)).sum() / mass
    top = int(np.clip(round((SIZE - 1) / 2 - cy), 0, SIZE - new_h))
    left = int(np.clip(round((SIZE - 1) / 2 - cx), 0, SIZE - new_w))
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top:top + new_h, left:left + new_w] = small
    return torch.from_numpy(frame * 2 - 1).view(1, 1, SIZE, SIZE)
