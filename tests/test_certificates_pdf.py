"""The certificate PDF (issue 7, "The paper"): real typst renders read back with poppler.

Text is checked with ``pdftotext`` (the PDF's own text layer, so it proves the
font is embedded with the right Unicode mapping), page images are written with
``pdftoppm`` for a person to look at (into ``$LMS_ARTIFACTS/certificates`` when
set, else a pytest temporary folder; the path is printed), and the QR code is
decoded with ``zbarimg`` when it is installed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import unicodedata
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from lms_certificates import pdf
from lms_certificates.pdf import (
    CertificateDoc,
    CertificatePdfError,
    CertificateTemplateError,
    Renderer,
    render_to_files,
    verify_url_from_pdf,
)

LOWER = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
EVERY_DIACRITIC = f"{LOWER} {LOWER.upper()}"
TOKEN = (
    "eyJ2IjoxLCJraWQiOiJhYmNkZWYwMTIzNDU2Nzg5Iiwic2VyaWFsIjoiMzctMjAyNi0wMDAxMjMiLCJuYW1lIjoi"
    "Tmd1eeG7hW4gVGjhu4sgSOG7k25nIE5odW5nIiwidW5pdCI6IlVCTkQgeMOjIEdpYSBWaeG7hW4iLCJwb3NpdGlv"
    "biI6IkPDoW4gYuG7mSBi4bqjbyB24buHIHRy4bq7IGVtIiwiY291cnNlIjoicGhvbmctY2hvbmcteGFtLWhhaSIs"
    "InRpdGxlIjoiUGjDsm5nIGNo4buRbmcgeMOibSBo4bqhaSB0cuG6uyBlbSIsInZlcnNpb24iOjMsImNvbXBsZXRl"
    "ZCI6IjIwMjYtMDMtMDUiLCJzY29yZSI6OTIuNSwiaXNzdWVkIjoiMjAyNi0wMy0wNiIsInZhbGlkX3VudGlsIjoi"
    "MjAyOC0wMy0wNiIsImlzc3VlciI6IlPhu58gWSB04bq_IHThu4luaCBOaW5oIELDrG5oIiwicHJldiI6bnVsbH0"
    ".c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
)
URL = f"https://taphuan.ninhbinh.gov.vn/verify/#{TOKEN}"

SEAL = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="46" fill="none" stroke="#c8102e" stroke-width="4"/>'
    '<circle cx="50" cy="50" r="36" fill="none" stroke="#c8102e" stroke-width="1.5"/>'
    '<polygon points="50,28 56,45 74,45 60,56 65,73 50,63 35,73 40,56 26,45 44,45" '
    'fill="#c8102e"/></svg>'
)
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="48" fill="#da251d"/>'
    '<polygon points="50,18 58,42 84,42 63,57 71,82 50,67 29,82 37,57 16,42 42,42" '
    'fill="#ffcd00"/></svg>'
)


def make_doc(**changes: object) -> CertificateDoc:
    doc = CertificateDoc(
        serial="37-2026-000123",
        name="Nguyễn Thị Hồng Nhung",
        unit="UBND xã Gia Viễn, tỉnh Ninh Bình",
        position="Cán bộ bảo vệ trẻ em",
        course_title="Phòng chống xâm hại trẻ em: nhận biết, báo cáo và hỗ trợ",
        version=3,
        completed=dt.date(2026, 3, 5),
        score=92.5,
        issued=dt.date(2026, 3, 6),
        valid_until=dt.date(2028, 3, 6),
        issuer="Sở Y tế tỉnh Ninh Bình",
        verify_url=URL,
        course="phong-chong-xam-hai",
        signatory_name="Trần Văn Đức",
        signatory_title="Giám đốc",
        place="Ninh Bình",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def flat(text: str) -> str:
    """Whitespace runs (line breaks, layout gaps) as one space."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    """One renderer for the module, as a process would keep one."""
    return Renderer()


@pytest.fixture(scope="module")
def poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.skip("pdftotext/pdftoppm not installed (Debian: apt-get install poppler-utils)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where page images go for a person to look at; kept after the run."""
    root = os.environ.get("LMS_ARTIFACTS")
    folder = Path(root) / "certificates" if root else tmp_path_factory.mktemp("certificates")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ncertificate page images: {folder}")
    return folder


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("images")
    logo, seal = folder / "logo.svg", folder / "seal.svg"
    logo.write_text(LOGO, encoding="utf-8")
    seal.write_text(SEAL, encoding="utf-8")
    return logo, seal


def pdf_text(data: bytes, folder: Path, name: str = "c") -> str:
    path = folder / f"{name}.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def page_image(data: bytes, folder: Path, name: str, *, dpi: int = 110) -> Path:
    path = folder / f"{name}.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(path), str(folder / name)],
        check=True,
    )
    return folder / f"{name}.png"


def pages(text: str) -> int:
    """pdftotext ends every page with a form feed."""
    return text.count("\f")


def test_text_layer_holds_the_nfc_strings(
    renderer: Renderer, poppler: None, artifacts: Path, images: tuple[Path, Path]
) -> None:
    logo, seal = images
    doc = make_doc(logo=logo, seal=seal)
    data = renderer.render(doc)
    text = pdf_text(data, artifacts, "certificate-vi")
    print(f"page image: {page_image(data, artifacts, 'certificate-vi')}")
    assert unicodedata.is_normalized("NFC", text)
    body = flat(text)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY CHỨNG NHẬN",
        "SỞ Y TẾ TỈNH NINH BÌNH",
        doc.name,
        f"Đơn vị: {doc.unit}",
        f"Chức vụ: {doc.position}",
        doc.course_title,
        "Phiên bản 3",
        "Ngày hoàn thành: 05/03/2026",
        "Kết quả: 92,5%",
        "Có giá trị đến ngày: 06/03/2028",
        "Ninh Bình, ngày 06 tháng 03 năm 2026",
        "GIÁM ĐỐC",
        doc.signatory_name,
        "Số: 37-2026-000123",
    ):
        assert expected in body
    assert pages(text) == 1


def test_every_vietnamese_diacritic_extracts_exactly(
    renderer: Renderer, poppler: None, artifacts: Path
) -> None:
    doc = make_doc(name=EVERY_DIACRITIC, unit=LOWER.upper(), course_title=LOWER)
    data = renderer.render(doc)
    text = pdf_text(data, artifacts, "certificate-diacritics")
    print(f"page image: {page_image(data, artifacts, 'certificate-diacritics', dpi=200)}")
    body = flat(text)
    assert EVERY_DIACRITIC in body
    assert LOWER.upper() in body
    assert LOWER in body
    assert pages(text) == 1


def test_decomposed_input_comes_out_composed(
    renderer: Renderer, poppler: None, tmp_path: Path
) -> None:
    name = "Nguyễn Thị Hồng Nhung"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    doc = make_doc(name=decomposed, unit=unicodedata.normalize("NFD", "Xã Đồng Hới"))
    body = flat(pdf_text(renderer.render(doc), tmp_path))
    assert name in body
    assert "Xã Đồng Hới" in body
    assert decomposed not in body


def test_a_long_name_shrinks_onto_one_line_of_one_page(
    renderer: Renderer, poppler: None, artifacts: Path
) -> None:
    words = ["Nguyễn", "Thị", "Hồng", "Nhung", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Đỗ"]
    name = ""
    while len(name) < 120:
        name = f"{name} {words[len(name) % len(words)]}".strip()
    name = name[:120].rstrip()
    title = ("Kỹ năng phát hiện, can thiệp và hỗ trợ trẻ em bị xâm hại ở cộng đồng " * 4)[:255]
    doc = make_doc(name=name, course_title=title.strip(), unit="Ủy ban nhân dân " * 12)
    data = renderer.render(doc)
    text = pdf_text(data, artifacts, "certificate-long")
    page_image(data, artifacts, "certificate-long")
    assert pages(text) == 1
    assert any(name in line for line in text.splitlines()), "the name wrapped or was cut"
    assert title.strip() in flat(text)


def test_markup_characters_print_literally(
    renderer: Renderer, poppler: None, tmp_path: Path
) -> None:
    name = 'Lê #Văn] [Tư $x^2$ "An" *đậm* _nghiêng_ `mã` \\n <b> @nhãn = 1 // // #{1+1}'
    body = flat(pdf_text(renderer.render(make_doc(name=name, position="#set text(red)")), tmp_path))
    assert name in body
    assert "#set text(red)" in body


def test_qr_code_opens_the_verify_url(renderer: Renderer, poppler: None, tmp_path: Path) -> None:
    data = renderer.render(make_doc())
    assert verify_url_from_pdf(data) == URL
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed (Debian: zbar-tools): checked the PDF's link only")
    image = page_image(data, tmp_path, "qr", dpi=300)
    decoded = subprocess.run(
        ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        check=True,
    )
    assert decoded.stdout.decode("utf-8").strip() == URL


def test_english_labels(renderer: Renderer, poppler: None, artifacts: Path) -> None:
    doc = make_doc(language="en", valid_until=None, score=None, place="")
    data = renderer.render(doc)
    page_image(data, artifacts, "certificate-en")
    body = flat(pdf_text(data, artifacts, "certificate-en"))
    for expected in (
        "SOCIALIST REPUBLIC OF VIET NAM",
        "CERTIFICATE",
        "This is to certify that",
        "has completed the training course",
        "Completed on: 5 March 2026",
        "This certificate does not expire",
        "6 March 2026",
        "No.: 37-2026-000123",
    ):
        assert expected in body
    assert "Score" not in body


def test_same_certificate_same_bytes(renderer: Renderer) -> None:
    """The PDF's dates come from the issue date, not the clock."""
    assert renderer.render(make_doc()) == renderer.render(make_doc())
    assert Renderer().render(make_doc()) == renderer.render(make_doc())


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "theme" / "certificates"
    folder.mkdir(parents=True)
    broken = folder / "broken.typ"
    broken.write_text(
        "#let d = json(bytes(sys.inputs.certificate))\n\n#text(size: 12pt, d.name\n",
        encoding="utf-8",
    )
    with pytest.raises(CertificateTemplateError) as caught:
        Renderer(tmp_path / "theme").render(make_doc(), template="broken")
    message = str(caught.value)
    assert f"{broken}:3:" in message
    assert "'broken'" in message
    assert caught.value.problems[0].file == str(broken)
    assert caught.value.problems[0].line == 3


def test_template_unknown_field_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "theme" / "certificates"
    folder.mkdir(parents=True)
    typo = folder / "typo.typ"
    typo.write_text(
        "#let d = json(bytes(sys.inputs.certificate))\n#d.name\n\n#d.nmae\n", encoding="utf-8"
    )
    with pytest.raises(CertificateTemplateError) as caught:
        Renderer(tmp_path / "theme").render(make_doc(), template="typo")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.column) == (str(typo), 4, 4)
    assert "nmae" in problem.message
    assert "_page.typ" not in str(caught.value)


def test_project_template_overrides_the_builtin_one(
    renderer: Renderer, poppler: None, tmp_path: Path
) -> None:
    folder = tmp_path / "theme" / "certificates"
    folder.mkdir(parents=True)
    (folder / "default.typ").write_text(
        '#let d = json(bytes(sys.inputs.certificate))\n#set page(paper: "a5")\n'
        "Mẫu riêng của dự án: #d.name\n",
        encoding="utf-8",
    )
    custom = Renderer(tmp_path / "theme")
    assert custom.template_path("default") == (folder / "default.typ").resolve()
    data = custom.render(make_doc())
    assert "Mẫu riêng của dự án: Nguyễn Thị Hồng Nhung" in flat(pdf_text(data, tmp_path))
    assert verify_url_from_pdf(data) == URL, "the metadata does not depend on the template"
    assert renderer.template_path("default") == pdf.TEMPLATES / "default.typ"


@pytest.mark.parametrize("name", ["missing", "../default", "_page", "Default"])
def test_unknown_or_invalid_template_name(renderer: Renderer, name: str) -> None:
    with pytest.raises(CertificateTemplateError, match=name.replace(".", r"\.")):
        renderer.render(make_doc(), template=name)


def test_missing_image_is_a_clear_error(renderer: Renderer, tmp_path: Path) -> None:
    with pytest.raises(CertificatePdfError, match="seal"):
        renderer.render(make_doc(seal=tmp_path / "nope.png"))


def test_render_many_is_lazy_and_reuses_one_compiler(renderer: Renderer) -> None:
    docs = [make_doc(serial=f"37-2026-{n:06d}") for n in range(3)]
    rendered = renderer.render_many(docs)
    first = next(rendered)
    assert first.startswith(b"%PDF")
    assert len(list(rendered)) == 2


def test_one_renderer_shared_by_threads(renderer: Renderer) -> None:
    """A server's request threads may share the process's Renderer."""
    docs = [make_doc(serial=f"37-2026-{n:06d}", name=f"Người {n}") for n in range(4)]
    expected = [renderer.render(doc) for doc in docs]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(renderer.render, docs)) == expected


def test_render_to_files_on_several_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "_CHUNK", 2)
    docs = [make_doc(serial=f"37-2026-{n:06d}", name=f"Người {n}") for n in range(5)]
    paths = render_to_files(docs, tmp_path / "out", workers=2)
    assert [p.name for p in paths] == [f"37-2026-{n:06d}.pdf" for n in range(5)]
    assert all(p.read_bytes().startswith(b"%PDF") for p in paths)
    assert not list((tmp_path / "out").glob("*.part"))
    with pytest.raises(CertificatePdfError, match="unique"):
        render_to_files([docs[0], docs[0]], tmp_path / "again", workers=1)
    with pytest.raises(CertificateTemplateError, match="nope"):
        render_to_files(docs, tmp_path / "again", template={"phong-chong-xam-hai": "nope"})


def test_template_error_survives_a_worker_process(tmp_path: Path) -> None:
    """The error raised in a spawned worker reaches the caller with its problems."""
    folder = tmp_path / "theme" / "certificates"
    folder.mkdir(parents=True)
    (folder / "default.typ").write_text("#d.name\n", encoding="utf-8")
    docs = [make_doc(serial=f"37-2026-{n:06d}") for n in range(60)]
    with pytest.raises(CertificateTemplateError) as caught:
        render_to_files(docs, tmp_path / "out", theme_dir=tmp_path / "theme", workers=2)
    assert caught.value.problems[0].line == 1


def test_from_payload_matches_the_token() -> None:
    payload = {
        "v": 1,
        "kid": "abcdef0123456789",
        "serial": "37-2026-000123",
        "name": "Nguyễn Thị Hồng Nhung",
        "unit": "UBND xã Gia Viễn",
        "position": "",
        "course": "phong-chong-xam-hai",
        "title": "Phòng chống xâm hại trẻ em",
        "version": 3,
        "completed": "2026-03-05",
        "score": 92.5,
        "issued": "2026-03-06",
        "valid_until": None,
        "issuer": "Sở Y tế tỉnh Ninh Bình",
        "prev": None,
    }
    doc = CertificateDoc.from_payload(payload, verify_url=URL)
    assert (doc.course, doc.version, doc.completed, doc.valid_until) == (
        "phong-chong-xam-hai",
        3,
        dt.date(2026, 3, 5),
        None,
    )
    data = pdf.certificate_data(doc)
    assert data["valid_until"] is None
    assert data["title"] == "Phòng chống xâm hại trẻ em"


def test_verify_url_from_pdf_reads_strings_in_every_form() -> None:
    url = "https://x.vn/verify/#ab(c)d"
    literal = b"1 0 obj <</A <</S/URI/URI(https://x.vn/verify/#ab\\(c\\)d)>> >> endobj"
    assert verify_url_from_pdf(b"%PDF-1.7\n" + literal) == url
    hex_utf16 = ("feff" + url.encode("utf-16-be").hex()).encode()
    assert verify_url_from_pdf(b"%PDF-1.7\n<</Subject <" + hex_utf16 + b">>>") == url
    packed = zlib.compress(b"<</Subject(" + url.encode() + b")>>")
    in_stream = b"%PDF-1.7\n5 0 obj <</Filter/FlateDecode>>\nstream\n" + packed + b"\nendstream"
    assert verify_url_from_pdf(in_stream) == url
    assert verify_url_from_pdf(b"%PDF-1.7\n<</URI(https://example.org/)>>") is None
    assert verify_url_from_pdf(b"not a pdf") is None
