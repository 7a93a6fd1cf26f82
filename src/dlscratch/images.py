"""Reading a user's picture of a digit and preparing it as an MNIST-style model input.

``load_image`` reads PNG, JPEG and the other formats Pillow knows (Pillow is imported only
there: ``pip install pillow``) into grayscale; ``prepare_digit`` (NumPy only) makes it look like
an MNIST digit, as MNIST itself was made: white ink on black, the digit's bounding box fitted
into 20x20 keeping its aspect ratio (antialiased), then placed in 28x28 with its centre of mass
at the centre; ``image_to_input`` does both and shapes the result for a model.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

__all__ = ["ImageError", "image_to_input", "load_image", "prepare_digit"]

MIN_SIDE = 8  # pixels; smaller is not a picture of anything
MAX_SIDE = 4096  # pixels per side
MAX_PIXELS = 16 * 1024 * 1024  # 16 Mpx: checked from the header, before any pixel is decoded
MAX_FILE_BYTES = 128 * 1024 * 1024
NOISE = 0.1  # ink below this (after the background is removed) counts as paper
MIN_CONTRAST = 0.1  # ink at most this much darker/lighter than the paper: a blank image
FIT = 20  # the digit's longer side in the 28x28 image, as in MNIST
SIZE = 28


class ImageError(ValueError):
    """An image that cannot be used: its message says in one line what is wrong with it."""


def _pil():
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading images needs Pillow: pip install pillow "
                          "(or pip install dlscratch[image])") from e
    return Image


def _read_bytes(source) -> tuple[bytes, str]:
    """The encoded image and a name for messages, from a path, bytes or a binary file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "the image data"
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            size = os.stat(name).st_size
            if os.path.isdir(name):
                raise ImageError(f"{name}: is a folder, not an image file")
            if size > MAX_FILE_BYTES:
                raise ImageError(f"{name}: the file is too large ({size} bytes; at most "
                                 f"{MAX_FILE_BYTES})")
            with open(name, "rb") as f:
                return f.read(), name
        except FileNotFoundError:
            raise ImageError(f"{name}: no such file") from None
        except OSError as e:
            raise ImageError(f"{name}: cannot read it ({e.strerror or e})") from None
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "the image file"))
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"load_image: {name} must be opened in binary mode ('rb')")
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(f"{name}: the file is too large (more than {MAX_FILE_BYTES} bytes)")
        return bytes(data), name
    raise TypeError(f"load_image: source must be a path, bytes or a binary file, got "
                    f"{type(source).__name__}")


def _check_size(width: int, height: int, name: str) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(f"{name}: the image is too small ({width}x{height} pixels; at least "
                         f"{MIN_SIDE}x{MIN_SIDE})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"{name}: the image is too large ({width}x{height} pixels; at most "
                         f"{MAX_SIDE} on a side and {MAX_PIXELS // 2**20} Mpx) - scale it down")


def _to_gray(im, name: str) -> np.ndarray:
    """A decoded Pillow image as float64 grayscale in [0, 1], alpha composited on white."""
    mode = im.mode
    if mode.startswith("I"):  # 16-bit (I;16, I;16B, ...) or 32-bit integer grayscale
        return np.clip(np.asarray(im, dtype=np.float64) / 65535.0, 0.0, 1.0)
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ImageError(f"{name}: a floating-point image must hold values in [0, 1]")
        return a
    if mode == "L" and "transparency" not in im.info:
        return np.asarray(im, dtype=np.float64) / 255.0
    if mode in ("1", "L", "P", "RGB", "CMYK", "YCbCr", "LAB", "HSV") \
            and "transparency" not in im.info:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
        alpha = None
    else:  # LA, PA, RGBA, La, RGBa, or a transparent colour: composite on white paper
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0
        rgb, alpha = rgba[..., :3], rgba[..., 3]
    gray = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma, as Pillow's "L"
    if alpha is not None:
        gray = gray * alpha + (1.0 - alpha)
    return np.clip(gray, 0.0, 1.0)


def load_image(source) -> np.ndarray:
    """Read an image file as grayscale.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file
        A PNG, JPEG, BMP, GIF (first frame), TIFF, WebP... file, or its bytes.

    Returns
    -------
    gray : ndarray of float64, shape (H, W)
        0 = black, 1 = white. The EXIF orientation (phone photos) is applied; transparent
        pixels are composited on white; colour becomes luma ``0.299 R + 0.587 G + 0.114 B``;
        16-bit grayscale is divided by 65535.

    Raises
    ------
    ImageError
        Missing or unreadable file, not an image or a damaged one, smaller than 8x8 pixels, or
        larger than 4096 pixels on a side / 16 Mpx (decided from the header, before decoding, so
        a small file that would decode to gigabytes is refused cheaply).
    ImportError
        Pillow is not installed (``pip install pillow``).
    """
    data, name = _read_bytes(source)
    if not data:
        raise ImageError(f"{name}: is empty (0 bytes), not an image")
    Image = _pil()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))  # reads the header only
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageError(f"{name}: the image is too large (at most {MAX_SIDE} pixels on a "
                             "side) - scale it down") from None
        except Exception:  # Pillow raises UnidentifiedImageError, SyntaxError, struct.error...
            raise ImageError(f"{name}: not an image file that can be read (PNG, JPEG, BMP, GIF, "
                             "TIFF or WebP)") from None
    with im:
        _check_size(*im.size, name)
        try:
            im.load()
            from PIL import ImageOps

            im = ImageOps.exif_transpose(im)
        except Exception as e:  # truncated or corrupt pixel data
            raise ImageError(f"{name}: the image data is damaged or truncated and cannot be "
                             f"decoded ({type(e).__name__}: {e})".replace("\n", " ")) from None
        return _to_gray(im, name)


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of a triangle (linear) filter that is widened when shrinking, so
    that every input pixel contributes (antialiased, like Pillow's BILINEAR resize)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale  # output pixel centres in input coordinates
    dist = np.abs((np.arange(n_in) + 0.5)[None, :] - centres[:, None]) / support
    w = np.clip(1.0 - dist, 0.0, None)  # every row has a positive weight: |dist| <= 0.5 / 1
    return w / w.sum(axis=1, keepdims=True)


def _resize(a: np.ndarray, height: int, width: int) -> np.ndarray:
    return _resample_matrix(a.shape[0], height) @ a @ _resample_matrix(a.shape[1], width).T


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring (about 5% of the shorter side, at least 1 pixel wide)."""
    k = max(1, min(a.shape) // 20)
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[k:-k, :k].ravel(),
                           a[k:-k, -k:].ravel()])


def prepare_digit(gray) -> np.ndarray:
    """Turn a grayscale picture of one digit into an MNIST-style 28x28 image.

    Steps, as MNIST was made:

    1. Polarity: MNIST is white ink on black. If the outer ring of pixels is light
       (mean > 0.5: dark ink on light paper) the image is inverted.
    2. The paper's level (the ring's median) is subtracted and the ink stretched to
       ``(ink - paper) / (max - paper)``; values below 0.1 are noise and set to 0.
    3. Cropped to the bounding box of the ink, scaled (antialiased) so that its longer side
       is 20 pixels, keeping the aspect ratio.
    4. Placed in 28x28 so that its centre of mass lands on (14, 14) in pixel-index coordinates
       (in MNIST it lies between 13.5 and 14.5, mean 14.0: the shift is by whole pixels),
       never pushing ink off the edge.

    Parameters
    ----------
    gray : array_like, shape (H, W)
        Grayscale in [0, 1] (0 = black), e.g. from :func:`load_image`.

    Returns
    -------
    ndarray of float32, shape (28, 28)
        Values in [0, 1], 1 = ink.

    Raises
    ------
    ImageError
        The image is blank (no ink differs from the paper by 0.1 or more).
    ValueError
        ``gray`` is not a 2-D array of finite values in [0, 1].
    """
    a = np.asarray(gray, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < 1:
        raise ValueError(f"prepare_digit: expected a 2-D grayscale image (H, W), got shape "
                         f"{a.shape}")
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise ValueError("prepare_digit: pixel values must be finite and in [0, 1] "
                         "(0 = black, 1 = white); divide 8-bit images by 255")
    ink = 1.0 - a if _border(a).mean() > 0.5 else a  # light paper: dark ink, invert
    paper = float(np.median(_border(ink)))
    top = float(ink.max())
    if top - paper < MIN_CONTRAST:
        raise ImageError("the image is blank: no ink found")
    ink = np.clip((ink - paper) / (top - paper), 0.0, 1.0)
    ink[ink < NOISE] = 0.0

    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = FIT / max(h, w)
    h2, w2 = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.clip(_resize(ink, h2, w2), 0.0, 1.0)

    mass = small.sum()
    cy = float((small.sum(axis=1) * np.arange(h2)).sum() / mass)
    cx = float((small.sum(axis=0) * np.arange(w2)).sum() / mass)
    centre = SIZE / 2  # where MNIST's digits have it: 13.5 .. 14.5, mean 14.0 (index coords)
    oy = int(np.clip(round(centre - cy), 0, SIZE - h2))
    ox = int(np.clip(round(centre - cx), 0, SIZE - w2))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[oy:oy + h2, ox:ox + w2] = small
    return out


def image_to_input(source, flatten: bool) -> np.ndarray:
    """Read an image of a digit and shape it as one model input.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file
        See :func:`load_image`.
    flatten : bool
        True for models that take rows (MLPs): shape (1, 784); False for CNNs: (1, 1, 28, 28).

    Returns
    -------
    ndarray of float32
        The prepared digit (:func:`prepare_digit`), values in [0, 1].
    """
    digit = prepare_digit(load_image(source))
    return digit.reshape(1, SIZE * SIZE) if flatten else digit.reshape(1, 1, SIZE, SIZE)
