"""Project configuration: ``lms.toml``, validated in one place.

Every command works inside a *project*: a folder with an ``lms.toml``.  The
file is validated by pydantic and **all** problems are reported at once, with
"did you mean" for misspelled keys, because a trainer fixing a config file one
error per run gives up quickly.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lms_core.errors import ConfigError

CONFIG_NAME = "lms.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Strict):
    """How the static site presents itself."""

    title: str = "Tập huấn bảo vệ trẻ em"
    base_url: str = Field(
        default="", description="Public URL of the site, used in certificates' QR codes"
    )
    api_url: str = Field(
        default="",
        description="where graded attempts are sent (the learner server); empty: queue them",
    )
    raw_html: Literal["off", "sanitised"] = Field(
        default="off", description="raw HTML in lessons: off, or a sanitised subset"
    )

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "/")):
            raise ValueError("must start with https://, http:// or / (or be empty)")
        return value.rstrip("/")

    @field_validator("base_url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (or be empty)")
        return value.rstrip("/")


class PathsConfig(_Strict):
    """Folders, relative to the folder holding ``lms.toml``."""

    courses: str = "courses"
    output: str = "site"


DEFAULT_KEY_DIR = "~/.config/taphuan/keys"
"""Where the issuer's private keys live unless ``key_dir`` or ``$LMS_KEY_DIR`` says otherwise."""


class CertificatesConfig(_Strict):
    """Issuing certificates (the ``lms_certificates`` plugin, docs/certificates.md)."""

    issuer: str = Field(
        default="Ủy ban nhân dân tỉnh Ninh Bình",
        min_length=1,
        max_length=255,
        description="the issuer's name, signed into every certificate",
    )
    key_dir: str = Field(
        default="",
        description=f"folder of the private signing keys; empty: {DEFAULT_KEY_DIR}",
    )
    renew_within_days: int = Field(
        default=60,
        ge=0,
        le=3650,
        description="completing again this many days before expiry (or later) renews",
    )
    signatory_name: str = Field(
        default="", max_length=120, description="who signs the paper (printed, not signed)"
    )
    signatory_title: str = Field(
        default="", max_length=160, description="the signatory's title, e.g. KT. CHỦ TỊCH"
    )
    place: str = Field(default="", max_length=80, description="place of signing, e.g. Ninh Bình")
    logo: str = Field(default="", description="image file printed above the issuer's name")
    seal: str = Field(default="", description="image of the seal, printed by the signature")

    @field_validator("issuer")
    @classmethod
    def _nfc(cls, value: str) -> str:
        value = unicodedata.normalize("NFC", " ".join(value.split()))
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("signatory_name", "signatory_title", "place")
    @classmethod
    def _nfc_text(cls, value: str) -> str:
        return unicodedata.normalize("NFC", " ".join(value.split()))


class ProjectConfig(_Strict):
    """The validated contents of ``lms.toml``."""

    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty = lms.db beside lms.toml"
    )
    language: Literal["vi", "en"] = "vi"
    province_code: str = "37"
    site: SiteConfig = SiteConfig()
    paths: PathsConfig = PathsConfig()
    certificates: CertificatesConfig = CertificatesConfig()


class Project(BaseModel):
    """A loaded project: its folder and its validated configuration."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    config: ProjectConfig
    config_path: Path | None = None

    @property
    def database_url(self) -> str:
        """The configured URL, or a SQLite file ``lms.db`` beside ``lms.toml``."""
        url = os.environ.get("LMS_DATABASE_URL") or self.config.database_url
        if url:
            return url
        return f"sqlite:///{(self.root / 'lms.db').as_posix()}"

    @property
    def courses_dir(self) -> Path:
        return self.root / self.config.paths.courses

    @property
    def output_dir(self) -> Path:
        return self.root / self.config.paths.output

    @property
    def key_dir(self) -> Path:
        """Folder of the issuer's private keys: ``$LMS_KEY_DIR``, else ``key_dir``, else
        the default; ``~`` is expanded and a relative path is relative to ``lms.toml``.
        """
        raw = os.environ.get("LMS_KEY_DIR") or self.config.certificates.key_dir or DEFAULT_KEY_DIR
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.root / path


def _known_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _submodel(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The pydantic model that owns the key at ``loc`` (for "did you mean")."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
    return current


def format_validation_error(error: ValidationError, *, model: type[BaseModel], source: str) -> str:
    """Turn a pydantic error into one readable line per problem."""
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        key = ".".join(str(p) for p in loc)
        if item["type"] == "extra_forbidden":
            owner = _submodel(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(owner), n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else ("known keys: " + ", ".join(_known_keys(owner)))
            )
            lines.append(f"{source}: unknown key '{key}' ({hint})")
        else:
            lines.append(f"{source}: {key}: {item['msg']}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], *, source: str) -> ProjectConfig:
    """Validate a parsed TOML document, reporting every problem at once."""
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(exc, model=ProjectConfig, source=source)
        ) from None


def load_config(path: Path) -> Project:
    """Read and validate ``lms.toml`` at ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (save it as UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    config = parse_config(data, source=str(path))
    return Project(root=path.parent.resolve(), config=config, config_path=path.resolve())


def find_config(start: Path) -> Path | None:
    """The nearest ``lms.toml`` in ``start`` or one of its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def locate_project(*, config: Path | None = None, cwd: Path | None = None) -> Project:
    """Find and load the project: explicit ``config``, else ``$LMS_CONFIG``, else search upwards."""
    if config is None and os.environ.get("LMS_CONFIG"):
        config = Path(os.environ["LMS_CONFIG"])
    if config is not None:
        if config.is_dir():
            config = config / CONFIG_NAME
        if not config.is_file():
            raise ConfigError(f"{config}: no such configuration file")
        return load_config(config)
    found = find_config(cwd or Path.cwd())
    if found is None:
        raise ConfigError(
            f"no {CONFIG_NAME} in this folder or any parent "
            "(run 'lms init' to create a project, or pass --config PATH)"
        )
    return load_config(found)


CONFIG_TEMPLATE = """\
# Tập huấn project configuration.  Every key is optional; the values shown
# are the defaults.  Run `lms db upgrade` after changing database_url.

# Where records live.  Empty: a SQLite file lms.db beside this file.
# PostgreSQL: "postgresql+psycopg://user@host:5432/dbname"
# (the environment variable LMS_DATABASE_URL overrides this value).
database_url = "{database_url}"

# Language of messages and of the generated site: "vi" or "en".
language = "{language}"

# Administrative code of the province (used in certificate serials).
province_code = "37"

[site]
title = "Tập huấn bảo vệ trẻ em"
# Public address of the site, e.g. "https://taphuan.ninhbinh.gov.vn".
base_url = ""
# Where the site's pages reach the learner server ("lms serve"): "/api" when
# that server also serves the site (the usual case), an https:// address when
# it runs elsewhere, or "" for a static copy with no server (attempts are then
# kept in the browser and exported as result files for "lms results import").
api_url = "/api"
# Raw HTML inside lessons: "off" (shown nowhere; write Markdown) or "sanitised"
# (a safe subset is kept: no scripts, styles, forms or event handlers).
raw_html = "off"

[paths]
# Relative to this file.
courses = "courses"
output = "site"

[certificates]
# The issuer named (and signed) in every certificate.
issuer = "Ủy ban nhân dân tỉnh Ninh Bình"
# Folder of the private signing keys ("lms keys init" creates it, mode 0700).
# It must be outside this project folder and outside the site; empty means
# ~/.config/taphuan/keys (the environment variable LMS_KEY_DIR overrides).
key_dir = ""
# Completing a course again this many days before the certificate expires,
# or any time after, renews it: the new certificate names the old one.
renew_within_days = 60
# Printed on the paper (not part of the signed token): who signs, their
# title, the place of signing, and images (paths relative to this file) of
# the logo and the seal.  Empty: not printed.
signatory_name = ""
signatory_title = ""
place = ""
logo = ""
seal = ""
"""


def render_config_template(*, database_url: str = "", language: str = "vi") -> str:
    """The commented ``lms.toml`` that ``lms init`` writes."""
    escaped = database_url.replace("\\", "\\\\").replace('"', '\\"')
    return CONFIG_TEMPLATE.format(database_url=escaped, language=language)
