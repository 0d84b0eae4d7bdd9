"""A user's own digit: upload checks (format, size, decompression bombs, damaged files) and the MNIST-style
preprocessing of drawings and photos."""
import base64
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from genlab.drawing import ImageRefused, image_from_data_url, mnist_style, read_image


def picture(fmt: str = "PNG", size=(280, 280), paper="white", ink="black", mode="RGB") -> bytes:
    """A "7" drawn with a thick pen, as a file of the given format."""
    image = Image.new(mode, size, paper)
    w, h = size
    ImageDraw.Draw(image).line([(0.3 * w, 0.2 * h), (0.7 * w, 0.2 * h), (0.45 * w, 0.85 * h)], fill=ink,
                               width=max(2, w // 15))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims width x height pixels (a decompression bomb's shape)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_png_and_jpeg_are_read(fmt):
    image = read_image(picture(fmt))
    assert image.size == (280, 280)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"GIF89a" + b"\x00" * 100, "not a PNG or JPEG"),
    (b"hello, I am a text file pretending to be digit.png", "not a PNG or JPEG"),
    (picture("PNG")[:60], "damaged"),
    (png_claiming(60_000, 60_000), "pixels"),
])
def test_bad_uploads_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImageRefused, match=reason):
        read_image(data)


def test_a_decompression_bomb_under_the_pixel_limit_is_still_refused_by_pillows_check(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageRefused, match="decompression bomb"):
        read_image(png_claiming(200, 200), max_pixels=10**9)


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(ImageRefused, match="limit is 1 MB"):
        read_image(picture("PNG") + b"\x00" * 2**20, max_bytes=2**20)


def test_a_canvas_data_url_is_decoded_and_junk_is_refused():
    url = "data:image/png;base64," + base64.b64encode(picture("PNG")).decode()
    assert image_from_data_url(url).size == (280, 280)
    for junk in ("", "data:text/plain;base64,aGk=", "data:image/png;base64,***"):
        with pytest.raises(ImageRefused):
            image_from_data_url(junk)


def ink(x: torch.Tensor) -> np.ndarray:
    return ((x[0, 0] + 1) / 2).numpy()


@pytest.mark.parametrize("paper, ink_colour", [("white", "black"), ("black", "white")])
def test_preprocessing_gives_an_mnist_style_digit_whatever_the_paper(paper, ink_colour):
    x = mnist_style(read_image(picture("PNG", size=(400, 300), paper=paper, ink=ink_colour)))
    assert x.shape == (1, 1, 28, 28) and -1 <= float(x.min()) and float(x.max()) <= 1
    a = ink(x)
    rows, cols = np.nonzero(a > 0.1)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 in (20, 21)         # the longer side scaled to 20 pixels
    assert a[0].max() < 0.1 and a[:, 0].max() < 0.1               # a border of paper
    mass = a.sum()
    centre = ((a.sum(1) * np.arange(28)).sum() / mass, (a.sum(0) * np.arange(28)).sum() / mass)
    assert np.allclose(centre, 13.5, atol=0.75)                   # centred by mass


def test_transparent_paper_and_a_dark_pen_work():
    x = mnist_style(read_image(picture("PNG", paper=(0, 0, 0, 0), ink=(0, 0, 0, 255), mode="RGBA")))
    assert ink(x).max() > 0.9 and ink(x)[0].max() < 0.1


def test_an_empty_canvas_or_blank_page_is_a_message_not_a_crash():
    for blank in (Image.new("RGB", (280, 280), "black"), Image.new("L", (50, 50), 255)):
        with pytest.raises(ImageRefused, match="empty"):
            mnist_style(blank)


def test_an_image_over_the_pixel_limit_is_named_as_such_not_damaged():
    """Issue 32.16: a 4100 x 4100 PNG (16.8 million pixels) was called "damaged", its limit "17 million"."""
    import io

    from PIL import Image

    from genlab.drawing import ImageRefused, read_image

    buffer = io.BytesIO()
    Image.new("L", (4100, 4100)).save(buffer, format="PNG")
    with pytest.raises(ImageRefused) as refused:
        read_image(buffer.getvalue())
    message = str(refused.value)
    assert "damaged" not in message
    assert "4,100 x 4,100 = 16,810,000 pixels" in message and "16,777,216 pixels (4,096 x 4,096)" in message
