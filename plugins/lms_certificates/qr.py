"""The certificate's QR code: the verify URL as a module matrix, then as one small SVG.

Why zxing-cpp: the verify URL is about 700 characters (version 18 at level L),
and segno, pure Python, spends about 8.5 ms of CPU encoding it, as much as the
whole typst compile of the certificate.  zxing-cpp (C++, encoding through
zint) makes the same symbol in 0.5 to 0.9 ms, depending on the machine's
load (docs/dependencies.md, docs/benchmarks.md ``certificates``).  segno stays as the fallback for a
platform without zxing-cpp wheels: same error-correction rule, same mask, same
SVG, only slower; ``ENCODER`` says which one this process uses.

The contract, whichever encoder: a QR code model 2 (never Micro QR) in the
smallest version that holds the URL at level L, its level then raised to the
highest of M, Q and H that still fits that version (free robustness: what
segno's ``boost_error`` does), and mask ``QR_MASK`` unless told otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import segno

from lms_core.errors import LmsError

if TYPE_CHECKING:
    from typing_extensions import Buffer

try:
    import zxingcpp

    ENCODER: Literal["zxing-cpp", "segno"] = "zxing-cpp"
except ImportError:  # no wheel for this platform: pure Python instead
    ENCODER = "segno"

QR_MASK = 4
"""The QR code's mask pattern, fixed instead of chosen by scoring all eight.

Scoring is most of an encoder's work on a long URL: segno's eight-way search
costs about 29 ms of CPU a code against 8.5 ms with one mask, and even
zxing-cpp's compiled search costs about 2 ms against 0.5 ms, a fifth of the
whole typst compile.  Any mask decodes; the choice only avoids patterns that
confuse scanners.  Our data (base64url of JSON and a signature) is close to
random, and over random tokens mask 4's penalty score averaged within 3 % of
the best of the eight (measured with segno's own scorer).
``Renderer(qr_mask=None)`` restores the automatic choice.
"""

QR_QUIET_ZONE = 4
"""White modules around the symbol, as the QR standard asks; part of the SVG."""

Level = Literal["L", "M", "Q", "H"]
_LEVELS: dict[str, Level] = {"L": "L", "M": "M", "Q": "Q", "H": "H"}
_BOOSTS: tuple[Level, ...] = ("M", "Q", "H")
_DARK_IS_ONE = bytes.maketrans(b"\x00\xff", b"\x01\x00")
"""zxing-cpp's image has black (0) and white (255) pixels; a matrix row has 1 for dark."""
_RUN = re.compile(rb"\x01+|\x00+")
_PIECES: dict[bytes, str] = {
    **{b"\x01" * w: f"v1h{w}v-1" for w in range(1, 178)},
    **{b"\x00" * w: f"m{w} 0" for w in range(1, 178)},
}
"""Every run a row of a version-40 code (177 modules) can have, as its path text."""


class QrCodeError(LmsError):
    """The verify URL does not fit in any QR code (more than about 2,900 bytes)."""


@dataclass(frozen=True, slots=True)
class QrSymbol:
    """One QR code: ``rows`` of its modules (1 dark, 0 light, no quiet zone) and its level."""

    rows: tuple[bytes, ...]
    level: Level

    @property
    def version(self) -> int:
        """1 to 40, from the size: a version-v symbol is 17 + 4v modules wide."""
        return (len(self.rows) - 17) // 4

    @property
    def designator(self) -> str:
        """``18-L``, as segno and the QR standard write it."""
        return f"{self.version}-{self.level}"


def _check_mask(mask: int | None) -> None:
    if mask is not None and not 0 <= mask <= 7:
        raise ValueError(f"a QR mask is 0 to 7, not {mask}")


def zxing_symbol(url: str, *, mask: int | None = QR_MASK) -> QrSymbol:
    """``url``'s QR code by zxing-cpp, the level boosted as segno's ``boost_error`` does.

    zxing-cpp has no boost of its own: after the smallest version at level L,
    each higher level is tried at that version until one does not fit (a
    refusal costs about 0.1 ms; capacity falls with every level, so the first
    refusal ends the search).  ``create_barcode`` takes its options as keyword
    arguments and silently ignores names it does not know, so the tests check
    the mask and version a decoder reads back.
    """
    _check_mask(mask)
    qr = zxingcpp.BarcodeFormat.QRCode
    options: dict[str, int] = {} if mask is None else {"data_mask": mask}
    try:
        code = zxingcpp.create_barcode(url, qr, ec_level="L", **options)
    except ValueError as error:  # zint's "Input too long"
        raise QrCodeError(f"the verify URL cannot be a QR code: {error}") from None
    level: Level = "L"
    image = code.to_image(add_quiet_zones=False)
    size = image.shape[1]
    for higher in _BOOSTS:
        try:
            code = zxingcpp.create_barcode(
                url, qr, ec_level=higher, version=(size - 17) // 4, **options
            )
        except ValueError:
            break
        boosted = code.to_image(add_quiet_zones=False)
        if boosted.shape[1] != size:  # an option it ignored (it ignores unknown ones)
            break
        level, image = higher, boosted
    # The image is a buffer of one byte a module; its stub does not say so.
    pixels = bytes(memoryview(cast("Buffer", image))).translate(_DARK_IS_ONE)
    rows = tuple(pixels[i : i + size] for i in range(0, len(pixels), size))
    return QrSymbol(rows, level)


def segno_symbol(url: str, *, mask: int | None = QR_MASK) -> QrSymbol:
    """``url``'s QR code by segno (pure Python): the fallback, about 17 times slower."""
    _check_mask(mask)
    try:
        code = segno.make(url, micro=False, mask=mask)
    except segno.DataOverflowError as error:
        raise QrCodeError(f"the verify URL cannot be a QR code: {error}") from None
    return QrSymbol(tuple(bytes(row) for row in code.matrix), _LEVELS[code.error])


def qr_symbol(url: str, *, mask: int | None = QR_MASK) -> QrSymbol:
    """``url``'s QR code by this process's ``ENCODER``."""
    if ENCODER == "zxing-cpp":
        return zxing_symbol(url, mask=mask)
    return segno_symbol(url, mask=mask)


def svg(symbol: QrSymbol) -> str:
    """A symbol as a small SVG: one path, a rectangle for every dark run of a row, on white.

    Written here because segno's general-purpose SVG writer costs about 4 ms a
    code.  A row becomes ``M4 y`` then, for every run the regular expression
    finds, a fixed string from a table: a dark run of ``w`` modules draws
    ``v1h{w}v-1`` (three sides of its rectangle, ending at its right edge; a
    filled path closes each subpath itself, in SVG as in PDF), a light run of
    ``w`` moves ``m{w} 0``.  No number is formatted per run, so the writer
    costs about half of writing ``M{x} {y}h{w}v1h-{w}z`` for each run.

    The quiet zone is inside the SVG, on a white background, so a template may
    put the code on any colour; the viewBox has one unit a module and no size,
    so the template chooses the printed size.
    """
    q = QR_QUIET_ZONE
    runs = _RUN.findall
    piece = _PIECES.__getitem__
    path = "".join(
        [
            f"M{q} {y}" + "".join(map(piece, runs(row.rstrip(b"\x00"))))
            for y, row in enumerate(symbol.rows, start=q)
        ]
    )
    size = len(symbol.rows) + 2 * q
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{path}"/></svg>'
    )


def qr_svg(url: str, *, mask: int | None = QR_MASK) -> str:
    """The QR code of ``url`` as the SVG a template prints (``qr_svg`` in its data)."""
    return svg(qr_symbol(url, mask=mask))
