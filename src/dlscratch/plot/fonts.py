"""Korean labels: find an installed Korean font for matplotlib, or fall back to English.

matplotlib's default font (DejaVu Sans) has no Hangul glyphs: Korean text is drawn as empty
boxes. :func:`use_korean_font` looks for a font that has them among the fonts matplotlib knows
(``matplotlib.font_manager.fontManager``), selects it in ``rcParams`` and returns its name. The
lesson plots take ``lang="en"`` or ``lang="ko"``; with ``"ko"`` they call :func:`resolve_lang`,
which labels in Korean only when such a font was found and otherwise labels in English after
one warning that says how to install a font.

To install one: ``apt-get install fonts-nanum`` (Debian/Ubuntu, also Colab), or
``fonts-noto-cjk``; Windows has "Malgun Gothic" and macOS "AppleGothic" already. A font
installed after matplotlib built its font cache is found after
``matplotlib.font_manager.fontManager.addfont(path)`` or after deleting the cache
(``matplotlib.get_cachedir()``).
"""

from __future__ import annotations

import os
import warnings

__all__ = ["KOREAN_FONTS", "LANGS", "korean_font_name", "pick", "resolve_lang", "use_korean_font"]

#: Korean fonts looked for, most preferred first (the names matplotlib reports).
KOREAN_FONTS = (
    "NanumGothic",
    "NanumBarunGothic",
    "NanumSquare",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Noto Sans CJK JP",  # every Noto Sans CJK font has the Hangul block
    "Noto Sans CJK SC",
    "Source Han Sans KR",
    "Malgun Gothic",
    "AppleGothic",
    "Apple SD Gothic Neo",
    "UnDotum",
    "Baekmuk Gulim",
)

#: The label languages the lesson plots accept.
LANGS = ("en", "ko")

#: Font file names (lower case, without extension) that hold a Korean font, for fonts installed
#: after matplotlib built its font cache (e.g. ``apt-get install fonts-nanum`` on Colab).
_KOREAN_FILES = ("nanumgothic", "nanumbarungothic", "nanumsquarer", "notosanscjk-regular",
                 "notosanscjkkr-regular", "notosanskr-regular", "malgun", "applegothic",
                 "undotum", "gulim")

_warned = False
_scanned = False


def _first_known(font_manager) -> str | None:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in KOREAN_FONTS:
        if name in installed:
            return name
    return None


def korean_font_name() -> str | None:
    """The name of the first installed font of :data:`KOREAN_FONTS`, or None.

    Looks in matplotlib's font list; when none is there, looks once per process for Korean
    font files installed since matplotlib's font cache was built and adds them to the list
    (``fontManager.addfont``).
    """
    global _scanned
    from matplotlib import font_manager

    name = _first_known(font_manager)
    if name is None and not _scanned:
        _scanned = True
        for fname in font_manager.findSystemFonts():
            stem = os.path.splitext(os.path.basename(fname))[0].lower()
            if stem in _KOREAN_FILES:
                try:
                    font_manager.fontManager.addfont(fname)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file
                    continue
        name = _first_known(font_manager)
    return name


def use_korean_font() -> str | None:
    """Select an installed Korean font for every later figure and return its name.

    Sets ``rcParams["font.family"]`` to the font and ``rcParams["axes.unicode_minus"] = False``
    (the Korean fonts lack the Unicode minus sign U+2212, so tick labels use "-"). When no
    Korean font is installed nothing is changed, a warning saying that labels stay English (and
    how to install a font) is issued once per process, and None is returned.

    Returns
    -------
    str or None
        The font's name, e.g. ``"NanumGothic"``, or None.
    """
    global _warned
    import matplotlib

    name = korean_font_name()
    if name is None:
        if not _warned:
            _warned = True
            warnings.warn(
                "no Korean font is installed, so plot labels stay English (matplotlib's default "
                "font draws Hangul as boxes); install one, e.g. `apt-get install fonts-nanum`, "
                f"or one of: {', '.join(KOREAN_FONTS)}",
                UserWarning, stacklevel=2)
        return None
    matplotlib.rcParams["font.family"] = name
    matplotlib.rcParams["axes.unicode_minus"] = False
    return name


def resolve_lang(lang: str) -> str:
    """The language to label in: ``"ko"`` only when asked for and a Korean font was selected
    (:func:`use_korean_font`), else ``"en"``.

    Raises
    ------
    ValueError
        When ``lang`` is not ``"en"`` or ``"ko"``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be 'en' or 'ko', got {lang!r}")
    if lang == "ko" and use_korean_font() is None:
        return "en"
    return lang


def pick(lang: str, en: str, ko: str) -> str:
    """``ko`` when ``lang == "ko"`` (already resolved by :func:`resolve_lang`), else ``en``."""
    return ko if lang == "ko" else en
