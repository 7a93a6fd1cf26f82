"""dlscratch.images: reading a user's picture of a digit and preparing it as MNIST does."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from dlscratch.images import ImageError, image_to_input, load_image, prepare_digit

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def digits():
    from dlscratch.datasets import load_mnist

    (_, _), (x, t) = load_mnist(flatten=False, dataset="mnist-sample")
    return x[:5, 0], t[:5]  # (5, 28, 28) float32 in [0, 1], white ink on black


def _encode(array_or_image, fmt="PNG", **save_kwargs) -> bytes:
    im = array_or_image
    if isinstance(im, np.ndarray):
        im = Image.fromarray(im)
    buf = io.BytesIO()
    im.save(buf, fmt, **save_kwargs)
    return buf.getvalue()


def _u8(a) -> np.ndarray:
    return np.round(np.asarray(a) * 255).astype(np.uint8)


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _centre_of_mass(a) -> tuple[float, float]:
    a = np.asarray(a, dtype=np.float64)
    idx = np.arange(a.shape[0])
    return (float((a.sum(axis=1) * idx).sum() / a.sum()),
            float((a.sum(axis=0) * np.arange(a.shape[1])).sum() / a.sum()))


def _dark_ink_on_paper(digit, size=(100, 100), canvas=(200, 140), at=(20, 25)) -> np.ndarray:
    """The digit as dark ink on white paper: upscaled to ``size`` (w, h), pasted off-centre
    at ``at`` (x, y) on a white ``canvas`` (w, h); uint8."""
    big = Image.fromarray(_u8(digit)).resize(size, Image.Resampling.BICUBIC)
    paper = Image.new("L", canvas, 255)
    paper.paste(Image.fromarray(255 - np.asarray(big)), at)
    return np.asarray(paper)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` and whose pixel data is garbage: only
    a loader that checks the size before decoding refuses it for its size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"garbage")
            + chunk(b"IEND", b""))


def test_importing_images_does_not_import_pillow():
    code = "import sys, dlscratch.images; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_pillow_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import Image` fail
    with pytest.raises(ImportError, match="pip install pillow"):
        load_image(b"\x89PNG\r\n\x1a\n....")


def test_load_image_from_path_bytes_and_file(tmp_path, digits):
    x, _ = digits
    data = _encode(_u8(x[0]))
    path = tmp_path / "digit.png"
    path.write_bytes(data)
    expected = _u8(x[0]) / 255.0
    for source in (path, str(path), data, bytearray(data)):
        gray = load_image(source)
        assert gray.dtype == np.float64 and gray.shape == (28, 28)
        np.testing.assert_array_equal(gray, expected)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_image(f), expected)
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="binary mode"):
        load_image(f)


def test_load_image_colour_alpha_16_bit_and_palette(digits):
    x, _ = digits
    ink = x[0].astype(np.float64)
    # RGB: blue ink on white paper -> luma
    rgb = np.stack([1 - ink, 1 - ink, np.ones_like(ink)], axis=-1)
    gray = load_image(_encode(_u8(rgb)))
    np.testing.assert_allclose(gray, 1 - (0.299 + 0.587) * _u8(ink) / 255, atol=1.5 / 255)
    # RGBA: black ink whose alpha is the digit, over transparent *black* pixels: the
    # transparent part must become white paper, not black
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., 3] = _u8(ink)
    np.testing.assert_allclose(load_image(_encode(rgba)), 1 - _u8(ink) / 255, atol=1e-12)
    # 16-bit grayscale keeps its precision
    deep = np.round(ink * 65535).astype(np.uint16)
    im = Image.fromarray(deep)
    assert im.mode.startswith("I;16")
    np.testing.assert_allclose(load_image(_encode(im)), deep / 65535, atol=1e-12)
    # palette
    pal = Image.fromarray(_u8(rgb)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    assert _corr(load_image(_encode(pal)), gray) > 0.99


def test_load_image_applies_the_exif_orientation():
    a = np.zeros((10, 20), dtype=np.uint8)  # 20 wide, 10 high
    a[:3, :3] = 255  # a mark at the top left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display" (a phone held upright)
    gray = load_image(_encode(a, exif=exif))
    assert gray.shape == (20, 10)
    np.testing.assert_array_equal(gray, np.rot90(a, k=-1) / 255.0)
    assert gray[:3, -3:].min() == 1.0


def test_mnist_digit_as_png_comes_back_close_to_the_original(digits):
    x, _ = digits
    for digit in x:
        out = prepare_digit(load_image(_encode(_u8(digit))))
        assert out.dtype == np.float32 and out.shape == (28, 28)
        assert out.min() >= 0 and out.max() <= 1
        assert _corr(out, digit) > 0.9


def test_dark_ink_on_white_paper_at_another_size_is_prepared_like_mnist(digits):
    x, _ = digits
    for digit in x:
        photo = _dark_ink_on_paper(digit)  # 200 x 140, ink at the left, upscaled
        assert photo.shape == (140, 200)
        out = prepare_digit(load_image(_encode(photo)))
        assert _corr(out, digit) > 0.85
        cy, cx = _centre_of_mass(out)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # as in MNIST
        rows = np.flatnonzero(out.max(axis=1) > 0.1)
        cols = np.flatnonzero(out.max(axis=0) > 0.1)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)  # fitted to 20
        assert out.max() > 0.9  # white ink, stretched to full strength


def test_jpeg_and_aspect_ratio(digits):
    x, _ = digits
    photo = _dark_ink_on_paper(x[1], size=(60, 120), canvas=(150, 160), at=(70, 10))
    rgb = np.repeat(photo[..., None], 3, axis=-1)
    out = image_to_input(_encode(rgb, "JPEG", quality=85), flatten=False)
    assert out.shape == (1, 1, 28, 28) and out.dtype == np.float32
    ink = out[0, 0] > 0.2
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert 19 <= height <= 21 and width < height  # squeezed digit: tall, the aspect is kept
    flat = image_to_input(_encode(rgb, "JPEG", quality=85), flatten=True)
    assert flat.shape == (1, 784)
    np.testing.assert_array_equal(flat.reshape(28, 28), out[0, 0])


def test_a_small_speck_of_noise_on_the_paper_does_not_move_the_digit(digits):
    x, _ = digits
    photo = _dark_ink_on_paper(x[0]).astype(np.int16)
    noise = np.random.default_rng(0).integers(-8, 9, photo.shape)  # paper is never flat
    noisy = np.clip(photo + noise, 0, 255).astype(np.uint8)
    clean = prepare_digit(load_image(_encode(photo.astype(np.uint8))))
    assert _corr(prepare_digit(load_image(_encode(noisy))), clean) > 0.98


@pytest.mark.parametrize("data, match", [
    (b"", "is empty"),
    (b"this is not an image " * 20, "not an image file"),
    (_png_header_only(1, 1), r"too small \(1x1 pixels"),
    (_png_header_only(7, 100), r"too small \(7x100"),
    (_png_header_only(5000, 5000), r"too large \(5000x5000 pixels"),
    (_png_header_only(4097, 8), r"too large \(4097x8"),
    (_png_header_only(30000, 30000), "too large"),  # Pillow's own bomb limit
])
def test_load_image_refusals(data, match):
    with pytest.raises(ImageError, match=match) as info:
        load_image(data)
    assert "\n" not in str(info.value)


def test_real_tiny_and_damaged_images_are_refused(tmp_path, digits):
    x, _ = digits
    with pytest.raises(ImageError, match="too small"):
        load_image(_encode(np.zeros((1, 1), dtype=np.uint8)))
    data = _encode(_u8(x[0]))
    with pytest.raises(ImageError, match="damaged or truncated") as info:
        load_image(data[: len(data) // 2])
    assert "\n" not in str(info.value)
    with pytest.raises(ImageError, match=r"missing\.png: no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)
    with pytest.raises(TypeError, match="path, bytes or a binary file"):
        load_image(12)


@pytest.mark.parametrize("gray", [
    np.ones((50, 40)),  # white paper
    np.zeros((50, 40)),  # black
    np.full((50, 40), 0.6),  # grey
    np.clip(np.ones((50, 40)) - np.random.default_rng(0).random((50, 40)) * 0.05, 0, 1),
])
def test_a_blank_image_is_refused(gray):
    with pytest.raises(ImageError, match="^the image is blank: no ink found$"):
        prepare_digit(gray)


def test_a_blank_png_is_refused_by_image_to_input():
    with pytest.raises(ImageError, match="blank"):
        image_to_input(_encode(np.full((64, 64), 255, dtype=np.uint8)), flatten=True)


def test_prepare_digit_refuses_what_is_not_a_grayscale_image():
    with pytest.raises(ValueError, match=r"2-D grayscale image \(H, W\), got shape \(28, 28, 3\)"):
        prepare_digit(np.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="in \\[0, 1\\].*divide 8-bit images by 255"):
        prepare_digit(np.full((28, 28), 255.0))
    with pytest.raises(ValueError, match="finite"):
        prepare_digit(np.full((28, 28), np.nan))


def test_prepare_digit_centres_by_mass_and_keeps_ink_in_the_frame():
    # a thin bar at the far top-left corner of a large dark image
    gray = np.zeros((300, 300))
    gray[10:30, 10:110] = 1.0  # 100 wide, 20 high
    out = prepare_digit(gray)
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert cols[-1] - cols[0] + 1 == 20  # the longer side is 20 pixels
    # most of the mass at the top (a "T"): centring by mass would push the stem off the
    # bottom, so the ink is kept inside the frame instead
    gray = np.zeros((200, 200))
    gray[20:60, 20:180] = 1.0
    gray[60:180, 98:102] = 1.0
    out = prepare_digit(gray)
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert rows[0] >= 0 and rows[-1] <= 27 and rows[-1] - rows[0] + 1 == 20


def test_prepared_digits_match_mnist_over_many_digits():
    """Over 100 test digits: the round trip is exact up to MNIST's own whole-pixel centring
    (a digit whose centre of mass sits on a half pixel may move by one), and the same digits
    drawn as dark ink on paper at another size still come out close."""
    from dlscratch.datasets import load_mnist

    (_, _), (x, _) = load_mnist(flatten=False, dataset="mnist-sample")
    same, drawn = [], []
    for digit in x[:100, 0]:
        same.append(_corr(prepare_digit(digit.astype(np.float64)), digit))
        photo = _dark_ink_on_paper(digit, size=(90, 90), canvas=(160, 120), at=(60, 20))
        drawn.append(_corr(prepare_digit(photo / 255.0), digit))
    same, drawn = np.array(same), np.array(drawn)
    assert np.median(same) > 0.999 and np.mean(same > 0.99) >= 0.95 and same.min() > 0.7
    assert np.median(drawn) > 0.95 and np.mean(drawn > 0.85) >= 0.9
