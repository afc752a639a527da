"""Colours everyone can read: text contrast by WCAG's ratio, and colour-vision simulation.

Why a module of its own: the figures (:mod:`helpers.plots`) and the explorers
(:mod:`helpers.explorers.kit`) both write numbers on coloured cells and both draw
categorical outlines, and both must choose the same way. Ink is chosen by WCAG 2.1's
contrast ratio (relative luminance of linear RGB), not by luma: white on ``#d55d4c``
reads 3.8:1 though its luma is below one half, black on it 5.5:1.

Colour-vision deficiency is simulated with the matrices of Machado, Oliveira and
Fernandes (2009), severity 1, applied to linear RGB; distinctions are measured as
CIE76 distances in CIELAB. The tests check with them that a figure's categorical
colours stay apart under deuteranopia, protanopia and tritanopia.
"""

from __future__ import annotations

import numpy as np

__all__ = ["luminance", "contrast_ratio", "ink_for", "AA_TEXT", "simulate", "delta_e", "CVD", "CATEGORICAL",
           "CATEGORICAL_STYLES"]

#: WCAG 2.1 AA: the least contrast ratio for normal-size text.
AA_TEXT = 4.5

#: Machado et al. (2009), severity 1.0, on linear RGB.
CVD: dict[str, np.ndarray] = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}

#: Categorical colours that stay apart for every common colour vision (Okabe and Ito's palette): orange,
#: blue, bluish green, vermillion, sky blue, and last yellow (faint on the white of a legend or a page).
CATEGORICAL = ["#e69f00", "#0072b2", "#009e73", "#d55e00", "#56b4e9", "#f0e442"]
#: The second cue that goes with each categorical colour: a line style, so no distinction is colour alone.
CATEGORICAL_STYLES = ["solid", "dashed", "dotted", "dashdot", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 3))]


def _rgb(colour) -> np.ndarray:
    """Any matplotlib colour (name, hex, tuple in 0..1) or an ``(r, g, b)`` in 0..255 as floats in 0..1."""
    if isinstance(colour, (tuple, list, np.ndarray)) and len(colour) >= 3 and max(colour[:3]) > 1:
        return np.asarray(colour[:3], dtype=float) / 255.0
    from matplotlib.colors import to_rgb

    return np.asarray(to_rgb(colour), dtype=float)


def _linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def luminance(colour) -> float:
    """WCAG 2.1's relative luminance of a colour (0 black, 1 white)."""
    red, green, blue = _linear(_rgb(colour))
    return float(0.2126 * red + 0.7152 * green + 0.0722 * blue)


def contrast_ratio(a, b) -> float:
    """WCAG 2.1's contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink_for(background) -> str:
    """``"black"`` or ``"white"``: whichever has the higher contrast ratio on ``background``.

    One of the two always reaches 4.5:1 (the worst background, luminance 0.18, gives 4.58:1 either way).
    """
    return "black" if contrast_ratio("black", background) >= contrast_ratio("white", background) else "white"


def simulate(colour, kind: str) -> np.ndarray:
    """How ``colour`` looks with the colour-vision deficiency ``kind`` (a key of :data:`CVD`), RGB in 0..1."""
    return _gamma(CVD[kind] @ _linear(_rgb(colour)))


def _lab(rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ _linear(rgb)
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b) -> float:
    """CIE76 colour difference of two colours (about 2.3 is just noticeable; 10+ is clearly different)."""
    return float(np.linalg.norm(_lab(_rgb(a)) - _lab(_rgb(b))))
