"""Fetch the web page's third-party libraries, pinned, from the npm registry.

Run by `make serve` and `make test` (a fresh clone has none of these files;
they are gitignored): `python agent_service/web/vendor.py`. Each tarball's
sha512 must equal the registry's `integrity` for that version, and only the
files the page loads (and each package's licence) are kept, in
`static/vendor/`. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    integrity: str  # the registry's `dist.integrity` of this version
    files: dict[str, str]  # path inside the tarball -> name in static/vendor/

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


PINS = (
    Pin(
        "marked",
        "18.2.1",
        "sha512-ii4bxCTCqqwpT86XZWgJNs+ZnAIZksmLGYMViWA7PDIXYIeNo1x6cDdX3JOip9NM/cI6p8z57FxliACboTruMA==",
        {"package/lib/marked.esm.js": "marked.esm.js", "package/LICENSE": "LICENSE.marked"},
    ),
    Pin(
        "dompurify",
        "3.4.18",
        "sha512-ofe3wI/uNm68HInABYFJYqQxRw1EaKAjNdrFVKqjUY+UZurvNd2L/HuQe097s/4RivWiZyP6tT7aoT8atjfhwg==",
        {"package/dist/purify.es.mjs": "purify.es.mjs", "package/LICENSE": "LICENSE.dompurify"},
    ),
    Pin(
        "@highlightjs/cdn-assets",
        "11.12.0",
        "sha512-KvOKXODaiFmId9xaq3xc5xCL66wVLUuOngDbO9B/kewbFTqdGbn2nJxNhN3H5R1cgDTVj6R8vH0zgiNDEGjpDw==",
        {
            "package/es/highlight.min.js": "highlight.min.js",
            "package/styles/github.min.css": "highlight-light.min.css",
            "package/styles/github-dark.min.css": "highlight-dark.min.css",
            "package/LICENSE": "LICENSE.highlightjs",
        },
    ),
    # The API docs (/docs, /redoc): served from here, not from a CDN into the page's origin.
    Pin(
        "swagger-ui-dist",
        "5.36.0",
        "sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
        {
            "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "package/swagger-ui.css": "swagger-ui.css",
            "package/favicon-32x32.png": "favicon-32x32.png",
            "package/LICENSE": "LICENSE.swagger-ui",
        },
    ),
    Pin(
        "redoc",
        "2.5.4",  # 3.x's standalone bundle is an ES module; FastAPI's ReDoc page loads a classic script
        "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
        {"package/bundles/redoc.standalone.js": "redoc.standalone.js", "package/LICENSE": "LICENSE.redoc"},
    ),
)


def pins_fingerprint() -> str:
    """Changes whenever a pin does: the stamp that says the vendor folder is current."""
    return hashlib.sha256(repr(PINS).encode()).hexdigest()


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise ValueError(f"integrity mismatch: expected {integrity}, got {algorithm}-{actual}")


def fetch(pin: Pin, target: Path) -> None:
    with urllib.request.urlopen(pin.tarball, timeout=60) as response:  # noqa: S310 - a fixed https URL
        data = response.read()
    check_integrity(data, pin.integrity)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member, name in pin.files.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise ValueError(f"{pin.name}@{pin.version} has no file {member}")
            (target / name).write_bytes(extracted.read())


def main() -> int:
    stamp = VENDOR / ".pins"
    if stamp.is_file() and stamp.read_text() == pins_fingerprint():
        return 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    for pin in PINS:
        try:
            fetch(pin, VENDOR)
        except Exception as exc:  # noqa: BLE001 - reported with the package's name
            print(f"could not fetch {pin.name}@{pin.version}: {exc}", file=sys.stderr)
            return 1
        print(f"fetched {pin.name}@{pin.version}")
    stamp.write_text(pins_fingerprint())
    return 0


if __name__ == "__main__":
    sys.exit(main())
