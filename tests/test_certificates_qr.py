"""The certificate's QR code (issue 7, "Speed"): zxing-cpp encodes, segno is the fallback.

Nothing here compares strings with strings: every code is drawn by a real
rasteriser (typst puts our SVG into a PDF, poppler's ``pdftoppm`` turns the
PDF into pixels) and read back by a real decoder (zxing-cpp's reader), and
the decoded text must be the URL.  One test reads the code off a whole
certificate page at 150 dpi, so the printed paper scans.  Page images are
grey PGM (``pdftoppm -gray``) because the test environment has no PNG
decoder; the pixels are the ones ``-png`` would write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lms_certificates import qr
from lms_certificates.pdf import CertificateDoc, Renderer
from lms_certificates.token import kid_of, sign_token

BASE = "https://taphuan.ninhbinh.gov.vn/verify/#"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def signed_url(name: str, unit: str, *, serial: int = 123) -> str:
    """A verify URL exactly as the issuer makes one: a real Ed25519-signed token."""
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test key").digest())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    fields = {
        "v": 1,
        "kid": kid_of(public),
        "serial": f"37-2026-{serial:06d}",
        "name": name,
        "unit": unit,
        "position": "Cán bộ bảo vệ trẻ em",
        "course": "phong-chong-xam-hai",
        "title": "Phòng, chống xâm hại trẻ em: nhận biết, báo cáo và hỗ trợ",
        "version": 3,
        "completed": "2026-03-05",
        "score": 92.5,
        "issued": "2026-03-06",
        "valid_until": "2028-03-06",
        "issuer": "Ủy ban nhân dân tỉnh Ninh Bình",
        "prev": None,
    }
    return BASE + sign_token(fields, key)


URLS = {
    # Short enough that segno's boost raises the level above L at the same version.
    "short": BASE + "eyJ2IjoxfQ.c2ln",
    # The usual length, about 750 characters: version 19 at level L.
    "usual": signed_url("Nguyễn Thị Hồng Nhung", "UBND xã Gia Viễn, tỉnh Ninh Bình"),
    # A long name and unit: a bigger version.
    "long": signed_url(
        "Tôn Nữ Hoàng Phương Thảo Nguyên",
        "Phòng Lao động - Thương binh và Xã hội huyện Hoa Lư, tỉnh Ninh Bình (cũ)",
        serial=987654,
    ),
    # Every base64url character, several times over, and the token's dot.
    "alphabet": BASE + (B64URL * 6) + "." + B64URL[::-1] * 2,
}

ENCODERS: dict[str, Callable[..., qr.QrSymbol]] = {
    "zxing-cpp": qr.zxing_symbol,
    "segno": qr.segno_symbol,
}


@pytest.fixture(scope="module")
def poppler() -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian: apt-get install poppler-utils)")


def read_pgm(path: Path) -> memoryview:
    """A binary grey PGM (``P5``, 8 bits) as rows of pixels zxing-cpp can read."""
    data = path.read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header, data[:20]
    width, height = int(header.group(1)), int(header.group(2))
    pixels = data[header.end() : header.end() + width * height]
    assert len(pixels) == width * height
    return memoryview(pixels).cast("B", (height, width))


def rasterise_pdf(pdf: Path, *, dpi: int) -> memoryview:
    stem = pdf.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), "-singlefile", str(pdf), str(stem)], check=True
    )
    return read_pgm(stem.with_suffix(".pgm"))


def rasterise_svg(svg: str, folder: Path, *, width_mm: int = 40, dpi: int = 200) -> memoryview:
    """Our SVG as printed: typst places it on a page, poppler draws the page."""
    import typst

    (folder / "qr.svg").write_text(svg, encoding="utf-8")
    source = folder / "qr.typ"
    source.write_text(
        "#set page(width: auto, height: auto, margin: 5mm)\n"
        f'#image("qr.svg", width: {width_mm}mm)\n',
        encoding="utf-8",
    )
    pdf = folder / "qr.pdf"
    typst.compile(str(source), output=str(pdf))
    return rasterise_pdf(pdf, dpi=dpi)


QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def decode(image: memoryview) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=QR_ONLY)


def test_this_environment_encodes_with_zxing_cpp() -> None:
    """zxing-cpp is a runtime dependency: if it stops importing, the speed is gone."""
    assert qr.ENCODER == "zxing-cpp"


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("which", URLS)
def test_printed_svg_decodes_to_the_url(
    encoder: str, which: str, poppler: None, tmp_path: Path
) -> None:
    url = URLS[which]
    symbol = ENCODERS[encoder](url)
    found = decode(rasterise_svg(qr.svg(symbol), tmp_path))
    assert [code.text for code in found] == [url]
    code = found[0]
    assert code.symbology_identifier == "]Q1"  # model 2, no ECI: plain text for every phone
    assert code.ec_level == symbol.level
    extra = code.extra
    assert isinstance(extra, dict)
    assert extra["Version"] == str(symbol.version)
    assert extra["DataMask"] == qr.QR_MASK


@pytest.mark.parametrize("which", URLS)
def test_both_encoders_follow_the_same_rule(which: str) -> None:
    """Smallest version at level L, then the highest level that fits that version.

    zxing-cpp may need a smaller version than segno: it switches to the
    alphanumeric mode for runs of capitals and digits (every decoder reads
    mixed modes), where segno keeps the whole URL in byte mode.  For a real
    signed token, close to random, both choose the same symbol.
    """
    url = URLS[which]
    fast, slow = qr.zxing_symbol(url), qr.segno_symbol(url)
    assert fast.version <= slow.version
    if which != "alphabet":
        assert fast.designator == slow.designator
    for symbol in (fast, slow):
        assert len(symbol.rows) == len(symbol.rows[0]) == 17 + 4 * symbol.version
        assert set(b"".join(symbol.rows)) == {0, 1}


def test_the_level_is_boosted_when_it_costs_no_size() -> None:
    assert qr.zxing_symbol(URLS["usual"]).level == "L"
    short = qr.zxing_symbol(URLS["short"])
    assert short.designator == segno.make(URLS["short"], micro=False).designator == "4-M"


@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_encoder_may_choose_the_mask(encoder: str, poppler: None, tmp_path: Path) -> None:
    url = URLS["usual"]
    symbol = ENCODERS[encoder](url, mask=None)
    found = decode(rasterise_svg(qr.svg(symbol), tmp_path))
    assert [code.text for code in found] == [url]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_url_too_long_for_any_qr_code_is_a_clear_error(encoder: str) -> None:
    with pytest.raises(qr.QrCodeError, match="cannot be a QR code"):
        ENCODERS[encoder](BASE + "a" * 3000)  # byte mode: 3,040 bytes


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_mask_out_of_range_is_refused(encoder: str) -> None:
    with pytest.raises(ValueError, match="0 to 7"):
        ENCODERS[encoder](URLS["short"], mask=8)


def certificate(url: str) -> CertificateDoc:
    return CertificateDoc(
        serial="37-2026-000123",
        name="Nguyễn Thị Hồng Nhung",
        unit="UBND xã Gia Viễn, tỉnh Ninh Bình",
        position="Cán bộ bảo vệ trẻ em",
        course_title="Phòng, chống xâm hại trẻ em: nhận biết, báo cáo và hỗ trợ",
        version=3,
        completed=dt.date(2026, 3, 5),
        score=92.5,
        issued=dt.date(2026, 3, 6),
        valid_until=dt.date(2028, 3, 6),
        issuer="Ủy ban nhân dân tỉnh Ninh Bình",
        verify_url=url,
        signatory_name="Trần Văn Đức",
        signatory_title="Phó Chủ tịch",
        place="Ninh Bình",
    )


def test_the_certificate_page_scans_at_150_dpi(poppler: None, tmp_path: Path) -> None:
    """The whole A4 page as a scanner or a phone sees it: one QR code, the URL."""
    url = URLS["usual"]
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(Renderer().render(certificate(url)))
    found = decode(rasterise_pdf(pdf, dpi=150))
    assert [code.text for code in found] == [url]


def test_without_zxing_cpp_segno_makes_the_code_and_the_page_scans(
    poppler: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    make = segno.make

    def counting_make(content: str, **options: object) -> segno.QRCode:
        calls.append(content)
        return make(content, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(qr, "ENCODER", "segno")
    monkeypatch.setattr(segno, "make", counting_make)
    url = URLS["long"]
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(Renderer().render(certificate(url)))
    assert calls == [url]
    found = decode(rasterise_pdf(pdf, dpi=150))
    assert [code.text for code in found] == [url]


def test_when_zxing_cpp_cannot_be_imported_the_fallback_is_chosen(
    poppler: None, tmp_path: Path
) -> None:
    """A fresh interpreter where ``import zxingcpp`` fails, as on a platform without wheels."""
    url = URLS["usual"]
    script = (
        "import sys\n"
        "sys.modules['zxingcpp'] = None  # makes the import raise ImportError\n"
        "from lms_certificates import qr\n"
        "print(qr.ENCODER)\n"
        f"print(qr.qr_svg({url!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    encoder, svg = result.stdout.splitlines()
    assert encoder == "segno"
    assert svg == qr.svg(qr.segno_symbol(url))
    found = decode(rasterise_svg(svg, tmp_path))
    assert [code.text for code in found] == [url]
