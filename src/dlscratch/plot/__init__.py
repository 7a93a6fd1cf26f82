"""Plots: the lectures' pictures (a digit, a tangent line, a gradient field, a descent path,
activation curves, scatter plots and decision boundaries, filters, accuracy curves) and a
training run's learning curves, confusion matrix and misclassified images.

matplotlib is imported inside each function, so ``import dlscratch.plot`` works without it.
Every function returns the matplotlib Figure, saves it as a PNG when ``path`` is given
(atomically; missing folders are created), and shows it only with ``show=True`` (the
lectures' ``filter_show`` / ``plot_accuracy`` / ``plot_history`` show by default, as in the
lectures). A figure made with ``show=False`` is not a pyplot figure: it needs no display and no
``plt.close``; a figure made with ``show=True`` should be closed with ``plt.close(fig)``.

Labels are in English by default: matplotlib's default font has no Korean glyphs (they show as
boxes). The lesson plots take ``lang="ko"``: they then label in Korean when
:func:`use_korean_font` finds an installed Korean font (NanumGothic, Noto Sans CJK KR, Malgun
Gothic, AppleGothic, ...), and in English after one warning when none is installed.
"""

from __future__ import annotations

from .calculus import plot_descent_path, plot_gradient_field, plot_tangent_line
from .classification import plot_decision_boundary, plot_scatter
from .confusion import plot_confusion_matrix
from .curves import plot_learning_curves
from .fonts import use_korean_font
from .lectures import filter_show, plot_accuracy, plot_history
from .lessons import img_show, plot_activations, plot_filters_before_after
from .misclassified import plot_misclassified

__all__ = [
    "filter_show",
    "img_show",
    "plot_accuracy",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_descent_path",
    "plot_filters_before_after",
    "plot_gradient_field",
    "plot_history",
    "plot_learning_curves",
    "plot_misclassified",
    "plot_scatter",
    "plot_tangent_line",
    "use_korean_font",
]
