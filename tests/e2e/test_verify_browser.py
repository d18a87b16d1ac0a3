"""Certificate verification on the site's verify/ page, in headless Chromium.

The test plays the certificates plugin: it makes Ed25519 keys with
``cryptography``, publishes ``verify/keys.json`` and ``verify/revoked.json``
through the ``lms_site_built`` hook exactly as docs/certificates.md says, signs
tokens, and opens ``verify/#<token>`` as a QR code would.  The page must give
the contract's verdict, online and offline, show every signed field exactly,
and never send the token anywhere.  Skips without Chromium, Playwright or
``cryptography``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import os
import random
import shutil
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lms_core.config import Project, load_config
from lms_core.hookspecs import hookimpl
from lms_core.plugins import exercise_types, make_plugin_manager
from site_builder import build_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
ed25519 = pytest.importorskip(
    "cryptography.hazmat.primitives.asymmetric.ed25519", reason="cryptography is not installed"
)
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "golden"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TYPES = exercise_types(make_plugin_manager())


# ------------------------------------------------------------- the contract


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_public(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def kid_of(key: Any) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def canonical(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def nfc(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in payload.items()
    }


def sign_bytes(key: Any, data: bytes) -> str:
    return b64u(data) + "." + b64u(key.sign(data))


def sign(key: Any, payload: dict[str, Any]) -> str:
    return sign_bytes(key, canonical(nfc(payload)))


ACTIVE = ed25519.Ed25519PrivateKey.generate()
RETIRED = ed25519.Ed25519PrivateKey.generate()
STRANGER = ed25519.Ed25519PrivateKey.generate()  # not published: its tokens are forged

PERSON: dict[str, Any] = {
    "v": 1,
    "kid": kid_of(ACTIVE),
    "serial": "37-2026-000123",
    # decomposed on purpose: the issuer signs NFC, the page must show NFC
    "name": unicodedata.normalize("NFD", "Nguyễn Thị Thu Hà"),
    "unit": "UBND xã Hòa Phước, huyện Hòa Vang",
    "position": "Cán bộ Lao động – Thương binh và Xã hội",
    "course": "phong-chong-xam-hai",
    "title": "Phòng, chống xâm hại trẻ em",
    "version": 3,
    "completed": "2026-11-20",
    "score": 92.5,
    "issued": "2026-11-21",
    "valid_until": "2099-11-20",
    "issuer": "Sở Y tế tỉnh Quảng Nam",
    "prev": "37-2024-000045",
}
REVOKED_SERIAL = "37-2026-000999"
KEYS = {
    "keys": [
        {
            "kid": kid_of(RETIRED),
            "alg": "Ed25519",
            "public_key": b64u(raw_public(RETIRED)),
            "created": "2024-01-02",
            "retired": "2026-01-02",
        },
        {
            "kid": kid_of(ACTIVE),
            "alg": "Ed25519",
            "public_key": b64u(raw_public(ACTIVE)),
            "created": "2026-01-02",
            "retired": None,
        },
    ]
}
REVOKED = {
    "updated": "2026-11-28T09:15:00+07:00",
    "revoked": [{"serial": REVOKED_SERIAL, "revoked_on": "2026-11-25"}],
}


class Publisher:
    """What the certificates plugin does at build time: publish keys and revocations."""

    @hookimpl
    def lms_site_built(self, project: Project, output_dir: Path) -> list[Path]:
        folder = output_dir / "verify"
        for name, data in (("keys.json", KEYS), ("revoked.json", REVOKED)):
            (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return [Path("verify/keys.json"), Path("verify/revoked.json")]


# -------------------------------------------------------------- the site


class _Recording(http.server.SimpleHTTPRequestHandler):
    """Serves the site and remembers every request line (nothing may carry the token)."""

    seen: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    handler = type("Handler", (_Recording,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def _project(root: Path) -> Project:
    shutil.copytree(FIXTURE, root / "p", ignore=shutil.ignore_patterns("expected-site"))
    return load_config(root / "p" / "lms.toml")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The golden fixture's site with published keys, on 127.0.0.1 (a secure context)."""
    project = _project(tmp_path_factory.mktemp("verify"))
    pm = make_plugin_manager(load_entry_points=False, plugins=[Publisher()])
    report = build_site(project, types=TYPES, use_cache=False, pm=pm)
    assert report.plugin_files == ["verify/keys.json", "verify/revoked.json"]
    server, seen = _serve(project.output_dir)
    yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    server.shutdown()


@pytest.fixture(scope="module")
def site(served: tuple[str, list[str]]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _watch(page: Any, errors: list[str], tokens: list[str]) -> None:
    """Console errors, and any request that carries a token (or its signed part)."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def request(r: Any) -> None:
        sent = r.url + (r.post_data or "")
        for token in tokens:
            for part in token.split("."):
                if len(part) >= 16 and part[:40] in sent:
                    errors.append(f"the token left the page: {r.url}")

    page.on("request", request)


SECRETS: list[str] = []
"""Every token a test opens: no request may contain one."""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    _watch(page, errors, SECRETS)
    yield page
    context.close()
    assert errors == [], errors


def opened(page: Any, site: str, token: str) -> str:
    """Open ``verify/#token`` as the QR code does; the verdict shown."""
    SECRETS.append(token)
    page.goto(site + "verify/#" + token)
    return verdict(page)


def verdict(page: Any) -> str:
    page.wait_for_selector(
        "#verify-status [data-verdict], #verify-status [data-state]:not([data-state=checking])"
    )
    found = page.locator("#verify-status [data-verdict]")
    if found.count() == 0:
        return "state:" + str(
            page.locator("#verify-status [data-state]").get_attribute("data-state")
        )
    return str(found.get_attribute("data-verdict"))


def shown(page: Any) -> dict[str, str]:
    """The definition list: data-field → text."""
    return dict(
        page.eval_on_selector_all(
            "#verify-status dd[data-field]",
            "els => els.map(e => [e.getAttribute('data-field'), e.textContent])",
        )
    )


def dates(page: Any) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            "#verify-status dd[data-field] time",
            "els => els.map(e => [e.closest('dd').getAttribute('data-field'),"
            " e.getAttribute('datetime')])",
        )
    )


def checks(page: Any, tokens: list[str]) -> list[str]:
    """Verdicts of many tokens through the page's own checker, in one round trip."""
    SECRETS.extend(tokens)
    return list(
        page.evaluate(
            "ts => Promise.all(ts.map(t => lmsVerify.check(t).then(r => r.verdict || r.state)))",
            tokens,
        )
    )


# ------------------------------------------------------------------- tests


def test_valid_certificate_shows_every_signed_field(page: Any, site: str) -> None:
    token = sign(ACTIVE, PERSON)
    assert opened(page, site, token) == "valid"
    status = page.locator("[role=status]")
    assert "HỢP LỆ" in status.inner_text()
    assert "Sở Y tế tỉnh Quảng Nam" in status.locator(".verdict").inner_text()
    fields = shown(page)
    name = unicodedata.normalize("NFC", "Nguyễn Thị Thu Hà")
    assert fields["name"] == name and fields["name"] != PERSON["name"]  # NFC, as signed
    assert fields["unit"] == "UBND xã Hòa Phước, huyện Hòa Vang"
    assert fields["position"] == "Cán bộ Lao động – Thương binh và Xã hội"
    assert fields["course"] == "Phòng, chống xâm hại trẻ em (phong-chong-xam-hai)"
    assert fields["version"] == "3"
    assert fields["completed"] == "20/11/2026" and fields["issued"] == "21/11/2026"
    assert fields["valid_until"] == "20/11/2099"
    assert fields["score"] == "92,5%"
    assert fields["issuer"] == "Sở Y tế tỉnh Quảng Nam"
    assert fields["serial"] == "37-2026-000123"
    assert fields["prev"] == "37-2024-000045"
    assert fields["kid"] == kid_of(ACTIVE)
    assert fields["revocation"].startswith("cập nhật ngày 28/11/2026")
    assert dates(page) == {
        "completed": "2026-11-20",
        "issued": "2026-11-21",
        "valid_until": "2099-11-20",
        "revocation": "2026-11-28",
    }
    labels = page.locator("#verify-status dt").all_inner_texts()
    for label in (
        "Họ và tên",
        "Đơn vị",
        "Chức vụ",
        "Khóa học",
        "Phiên bản",
        "Ngày hoàn thành",
        "Điểm",
        "Ngày cấp",
        "Có giá trị đến",
        "Đơn vị cấp",
        "Số hiệu",
        "Cấp lại cho",
        "Khóa ký",
        "Danh sách thu hồi",
    ):
        assert label in labels, label
    page.click("#lang-switch")
    page.wait_for_function("document.querySelector('.verdict-word').textContent.includes('VALID')")
    fields = shown(page)
    assert fields["completed"] == "20 November 2026" and fields["score"] == "92.5%"
    assert fields["name"] == name
    assert "Full name" in page.locator("#verify-status dt").all_inner_texts()
    assert page.locator("h1").inner_text() == "Verify a certificate"


def test_a_retired_key_still_verifies_and_empty_fields_say_so(page: Any, site: str) -> None:
    payload = {
        **PERSON,
        "kid": kid_of(RETIRED),
        "position": "",
        "score": None,
        "valid_until": None,
        "prev": None,
    }
    assert opened(page, site, sign(RETIRED, payload)) == "valid"
    fields = shown(page)
    assert fields["position"] == fields["prev"] == "(không có)"
    assert fields["score"] == "Không chấm điểm"
    assert fields["valid_until"] == "Không thời hạn"


def test_expired_revoked_forged_unreadable(page: Any, site: str) -> None:
    expired = sign(ACTIVE, {**PERSON, "valid_until": "2020-01-31"})
    assert opened(page, site, expired) == "expired"
    assert "31/01/2020" in page.locator(".verdict").inner_text()
    assert shown(page)["name"]  # the signed fields are shown: the paper is genuine
    revoked = sign(ACTIVE, {**PERSON, "serial": REVOKED_SERIAL})
    assert opened(page, site, revoked) == "revoked"
    assert "25/11/2026" in page.locator(".verdict").inner_text()
    # signed by a key the site does not publish (claiming it or its own kid)
    for payload in (PERSON, {**PERSON, "kid": kid_of(STRANGER)}):
        assert opened(page, site, sign(STRANGER, payload)) == "forged"
        assert shown(page) == {}  # nothing a forged code claims is shown
    assert kid_of(STRANGER) in page.locator(".verdict").inner_text()
    assert "GIẢ MẠO" in page.locator("[role=status]").inner_text()
    assert opened(page, site, "xin-chao") == "unreadable"
    assert "KHÔNG ĐỌC ĐƯỢC" in page.locator("[role=status]").inner_text()
    # the verdicts look different without colour: word, symbol and border style
    styles = set()
    for token in (sign(ACTIVE, PERSON), expired, revoked, sign(STRANGER, PERSON), "x"):
        opened(page, site, token)
        styles.add(
            page.eval_on_selector(
                ".verdict",
                "e => getComputedStyle(e).borderTopStyle + ' ' + "
                "e.querySelector('.verdict-icon').textContent",
            )
        )
    assert len(styles) >= 4, styles


def test_malformed_tokens_are_unreadable(page: Any, site: str) -> None:
    opened(page, site, sign(ACTIVE, PERSON))
    good = sign(ACTIVE, PERSON)
    body, signature = good.split(".")
    odd = {**PERSON, "extra": "x"}
    cases = [
        "",
        "abc",
        ".",
        good + ".",
        body,
        "." + signature,
        body + "." + signature + "=",
        body + "=" + "." + signature,
        "%%%." + signature,
        good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good) else "+/+.x",
        sign(ACTIVE, {**PERSON, "v": 2}),
        sign(ACTIVE, odd),
        sign(ACTIVE, {k: v for k, v in PERSON.items() if k != "prev"}),
        sign(ACTIVE, {**PERSON, "score": "92.5"}),
        sign(ACTIVE, {**PERSON, "version": 1.5}),
        sign(ACTIVE, {**PERSON, "completed": "2026-02-30"}),
        sign(ACTIVE, {**PERSON, "issued": "21/11/2026"}),
        sign(ACTIVE, {**PERSON, "name": ""}),
        sign(ACTIVE, {**PERSON, "kid": "ABCDEF0123456789"}),
        sign_bytes(ACTIVE, b"[1,2,3]"),
        sign_bytes(ACTIVE, b"\xff\xfe not utf-8"),
        sign_bytes(ACTIVE, canonical(PERSON)[:-1]),
    ]
    assert checks(page, cases) == ["unreadable"] * len(cases)


def test_every_single_byte_change_is_caught(page: Any, site: str) -> None:
    """No change to the signed part of a token, at any position, is ever valid."""
    short = {
        **PERSON,
        "serial": "1",
        "name": "Hà",
        "unit": "X",
        "position": "",
        "course": "c",
        "title": "T",
        "issuer": "Sở",
        "prev": None,
    }
    assert opened(page, site, sign(ACTIVE, short)) == "valid"
    rng = random.Random(7)
    tokens: list[str] = []
    for payload in (short, PERSON):
        data = canonical(nfc(payload))
        signature = b64u(ACTIVE.sign(data))
        body = b64u(data)
        everywhere = payload is short  # every position of the short token; a sample of the long
        positions = range(len(data)) if everywhere else rng.sample(range(len(data)), 120)
        for i in positions:
            for new in {data[i] ^ 0x01, data[i] ^ 0x80, rng.randrange(256)} - {data[i]}:
                changed = data[:i] + bytes([new]) + data[i + 1 :]
                tokens.append(b64u(changed) + "." + signature)
        spots = range(len(body)) if everywhere else rng.sample(range(len(body)), 120)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for i in spots:
            for c in rng.sample([c for c in alphabet if c != body[i]], 2):
                tokens.append(body[:i] + c + body[i + 1 :] + "." + signature)
    got = checks(page, tokens)
    assert len(got) == len(tokens) > 1500
    assert set(got) <= {"forged", "unreadable"}, sorted(set(got))
    assert got.count("forged") > 100 and got.count("unreadable") > 100


def test_works_offline_from_the_service_worker(browser: Any, served: tuple[str, list[str]]) -> None:
    site, seen = served
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    _watch(page, errors, SECRETS)
    token = sign(ACTIVE, PERSON)
    forged = sign(STRANGER, PERSON)
    SECRETS.extend([token, forged])
    page.goto(site + "verify/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the first visit installs the worker; from now on it controls the page
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    page.goto(site + "verify/#" + token)
    assert verdict(page) == "valid"  # once online: the page, keys and revocation list cached
    assert "/verify/keys.json" in seen and "/verify/revoked.json" in seen
    context.set_offline(True)
    seen.clear()
    page.goto("about:blank")
    page.goto(site + "verify/#" + token)
    assert verdict(page) == "valid"
    assert shown(page)["name"] == unicodedata.normalize("NFC", PERSON["name"])
    assert shown(page)["revocation"].startswith("cập nhật ngày 28/11/2026")
    page.fill("#verify-token", forged)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("[data-verdict=forged]")
    assert seen == []  # all of it came from this device
    context.close()
    assert errors == [], errors


def test_paste_a_verify_link(page: Any, site: str) -> None:
    token = sign(ACTIVE, PERSON)
    SECRETS.append(token)
    page.goto(site + "verify/")
    assert page.locator("#verify-status").inner_text() == ""
    # as copied from a PDF: another host, the link broken over two lines
    link = "  https://taphuan.example.gov.vn/tap-huan/verify/#" + token
    page.fill("#verify-token", link[:60] + "\n" + link[60:] + "\n")
    page.click("#verify-form button[type=submit]")
    assert verdict(page) == "valid"
    assert page.url == site + "verify/"  # the page did not navigate: nothing was sent
    page.fill("#verify-token", "giấy này là thật")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-verdict=unreadable]")


def test_no_published_keys_and_no_webcrypto(browser: Any, tmp_path: Path) -> None:
    """A site without the certificates plugin says no keys are published; a browser
    without Ed25519 says so and offers the server check, which alone sends the token."""
    project = _project(tmp_path)
    build_site(project, types=TYPES, use_cache=False)
    assert not (project.output_dir / "verify" / "keys.json").exists()
    page_file = project.output_dir / "verify" / "index.html"
    # as a site with a learner server renders it (this test answers for the server)
    page_file.write_text(
        page_file.read_text(encoding="utf-8").replace(
            'data-page="verify"', 'data-page="verify" data-api="/api"'
        ),
        encoding="utf-8",
    )
    server, _seen = _serve(project.output_dir)
    site = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        page.route("**/api/me", lambda route: route.fulfill(status=200, json={}, headers={}))
        page.route("**/api/my/**", lambda route: route.fulfill(status=200, json={}))
        token = sign(ACTIVE, PERSON)
        assert opened(page, site, token) == "state:none"
        assert "chưa công bố khóa" in page.locator("#verify-status").inner_text()
        assert page.locator("#verify-server").is_visible()

        page.add_init_script(
            "Object.defineProperty(window.crypto, 'subtle', {get: () => undefined})"
        )
        asked: list[dict[str, Any]] = []

        def answer(route: Any) -> None:
            asked.append(json.loads(route.request.post_data or "{}"))
            fields = {k: v for k, v in nfc(PERSON).items() if k not in ("v",)}
            route.fulfill(status=200, json={"verdict": "valid", "fields": fields})

        page.route("**/api/certificates/verify", answer)
        page.goto(site + "verify/#" + token)
        page.reload()
        assert verdict(page) == "state:nocrypto"
        assert "không tự kiểm tra được" in page.locator("#verify-status").inner_text()
        assert asked == []  # nothing is sent until the button is pressed
        page.click("#verify-server-button")
        page.wait_for_selector("[data-verdict=valid]")
        assert asked == [{"token": token}]
        assert "máy chủ" in page.locator(".verdict").inner_text()
        assert shown(page)["name"] == unicodedata.normalize("NFC", PERSON["name"])
    finally:
        context.close()
        server.shutdown()


@pytest.mark.parametrize("kind", ["valid", "forged"])
def test_axe_finds_no_serious_violations(browser: Any, site: str, kind: str) -> None:
    axe = os.environ.get("LMS_AXE_JS", "")
    if not axe or not Path(axe).is_file():
        pytest.skip("LMS_AXE_JS does not point at axe.min.js (npm install axe-core)")
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    token = sign(ACTIVE if kind == "valid" else STRANGER, PERSON)
    assert opened(page, site, token) == kind
    page.add_script_tag(path=axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert bad == []
    assert width <= 360, width
