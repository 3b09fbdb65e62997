"""NVIDIA's driver/CUDA compatibility rules, and the one decision built on them.

Source: the CUDA Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions"
(Linux x86_64 column), and the minor-version-compatibility minimums of the same notes
(tests/fixtures/doctor/README.md lists where each figure was checked). A driver runs any
CUDA runtime up to the version it reports (nvidia-smi's "CUDA Version"); a newer runtime of
the same major version may still run through minor-version compatibility, without PTX JIT.
"""

from __future__ import annotations

from chatkb.doctor.nvidia import version_tuple
from chatkb.doctor.report import Check

# (CUDA toolkit release, minimum Linux x86_64 driver), newest first.
DRIVER_TABLE: tuple[tuple[str, str], ...] = (
    ("13.1 GA", "590.44.01"),
    ("13.0 Update 2", "580.95.05"),
    ("13.0 Update 1", "580.82.07"),
    ("13.0 GA", "580.65.06"),
    ("12.9 Update 1", "575.57.08"),
    ("12.9 GA", "575.51.03"),
    ("12.8 Update 1", "570.124.06"),
    ("12.8 GA", "570.26"),
    ("12.6 Update 3", "560.35.05"),
    ("12.6 Update 2", "560.35.03"),
    ("12.6 Update 1", "560.35.03"),
    ("12.6 GA", "560.28.03"),
    ("12.5 Update 1", "555.42.06"),
    ("12.5 GA", "555.42.02"),
    ("12.4 Update 1", "550.54.15"),
    ("12.4 GA", "550.54.14"),
    ("12.3 Update 1", "545.23.08"),
    ("12.3 GA", "545.23.06"),
    ("12.2 Update 2", "535.104.05"),
    ("12.2 Update 1", "535.86.09"),
    ("12.2 GA", "535.54.03"),
    ("12.1 Update 1", "530.30.02"),
    ("12.1 GA", "530.30.02"),
    ("12.0 Update 1", "525.85.12"),
    ("12.0 GA", "525.60.13"),
    ("11.8 GA", "520.61.05"),
    ("11.7 Update 1", "515.48.07"),
    ("11.7 GA", "515.43.04"),
    ("11.6 Update 2", "510.47.03"),
    ("11.6 Update 1", "510.47.03"),
    ("11.6 GA", "510.39.01"),
    ("11.5 Update 2", "495.29.05"),
    ("11.5 Update 1", "495.29.05"),
    ("11.5 GA", "495.29.05"),
    ("11.4 Update 4", "470.82.01"),
    ("11.4 Update 3", "470.82.01"),
    ("11.4 Update 2", "470.57.02"),
    ("11.4 Update 1", "470.57.02"),
    ("11.4 GA", "470.42.01"),
    ("11.3 Update 1", "465.19.01"),
    ("11.3 GA", "465.19.01"),
    ("11.2 Update 2", "460.32.03"),
    ("11.2 Update 1", "460.32.03"),
    ("11.2 GA", "460.27.03"),
    ("11.1 Update 1", "455.32"),
    ("11.1 GA", "455.23"),
    ("11.0 Update 1", "450.51.06"),
    ("11.0 GA", "450.51.05"),
    ("10.2", "440.33"),
    ("10.1", "418.39"),
    ("10.0", "410.48"),
)
# The oldest driver that runs any runtime of a major version through minor-version compatibility.
MINOR_COMPAT_DRIVER: dict[int, str] = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
# CUDA builds PyTorch publishes wheels for (https://download.pytorch.org/whl/cuXYZ).
TORCH_CUDA_BUILDS = ("11.8", "12.1", "12.4", "12.6", "12.8", "12.9", "13.0")


def _major_minor(version: str) -> tuple[int, int]:
    parts = (*version_tuple(version), 0, 0)
    return parts[0], parts[1]


def min_driver(cuda: str) -> str | None:
    """The oldest Linux driver that fully supports CUDA ``cuda`` (its GA release), if known."""
    wanted = _major_minor(cuda)
    rows = [d for label, d in DRIVER_TABLE if _major_minor(label.split()[0]) == wanted]
    return min(rows, key=version_tuple) if rows else None


def max_cuda(driver: str) -> str | None:
    """The newest CUDA version whose GA minimum ``driver`` meets (what nvidia-smi would show)."""
    have = version_tuple(driver)
    for label, needed in DRIVER_TABLE:
        is_ga = label.endswith("GA") or " " not in label
        if is_ga and have >= version_tuple(needed):
            major, minor = _major_minor(label.split()[0])
            return f"{major}.{minor}"
    return None


def supports(driver_cuda: str, runtime_cuda: str) -> bool:
    return _major_minor(driver_cuda) >= _major_minor(runtime_cuda)


def check_runtime(
    runtime: str,
    runtime_cuda: str,
    *,
    driver_version: str | None,
    driver_cuda: str | None,
    used: bool,
) -> Check:
    """Can the installed driver run ``runtime``, built for CUDA ``runtime_cuda``?

    ``used`` says whether a configured model runs on this library: a mismatch is then an
    error (the model cannot run on the GPU), otherwise a warning.
    """
    name = f"cuda:{runtime}"
    if driver_version is None:
        return _no_driver(name, runtime, runtime_cuda)
    driver_cuda = driver_cuda or max_cuda(driver_version)
    if driver_cuda and supports(driver_cuda, runtime_cuda):
        return Check(
            name,
            "ok",
            f"driver {driver_version} supports CUDA {driver_cuda}; {runtime} is built for "
            f"CUDA {runtime_cuda}",
        )
    needed = min_driver(runtime_cuda)
    upgrade = f"upgrade the NVIDIA driver to {needed} or newer" if needed else "upgrade the driver"
    if _minor_compatible(driver_version, runtime_cuda):
        return Check(
            name,
            "warn",
            f"driver {driver_version} supports CUDA {driver_cuda}, older than the CUDA "
            f"{runtime_cuda} {runtime} is built for; it runs through minor-version "
            "compatibility, where kernels that need JIT compilation fail",
            f"{upgrade} (CUDA {runtime_cuda} needs ≥ {needed})",
        )
    return Check(
        name,
        "error" if used else "warn",
        f"driver {driver_version} supports CUDA {driver_cuda or 'unknown'}, but {runtime} is "
        f"built for CUDA {runtime_cuda}: it cannot use the GPU",
        _mismatch_fix(runtime, runtime_cuda, driver_version, driver_cuda, upgrade),
    )


def _minor_compatible(driver_version: str, runtime_cuda: str) -> bool:
    floor = MINOR_COMPAT_DRIVER.get(_major_minor(runtime_cuda)[0])
    return floor is not None and version_tuple(driver_version) >= version_tuple(floor)


def _mismatch_fix(
    runtime: str, runtime_cuda: str, driver_version: str, driver_cuda: str | None, upgrade: str
) -> str:
    fix = f"{upgrade} (CUDA {runtime_cuda} needs ≥ {min_driver(runtime_cuda)})"
    if runtime == "torch" and driver_cuda:
        # A build the driver fully supports, else one it runs by minor-version compatibility.
        older = [b for b in TORCH_CUDA_BUILDS if supports(driver_cuda, b)] or [
            b for b in TORCH_CUDA_BUILDS if _minor_compatible(driver_version, b)
        ]
        if older:
            tag = "cu" + older[-1].replace(".", "")
            fix += (
                f", or install a torch build for CUDA {older[-1]}: pip install torch "
                f"--index-url https://download.pytorch.org/whl/{tag}"
            )
    elif runtime == "onnxruntime":
        fix += ", or install an onnxruntime-gpu build for the CUDA version the driver supports"
    return fix


def _no_driver(name: str, runtime: str, runtime_cuda: str) -> Check:
    return Check(
        name,
        "info",
        f"{runtime} is built for CUDA {runtime_cuda}, but no NVIDIA driver was found: "
        "it runs on the CPU",
        "install the NVIDIA driver if this machine has an NVIDIA GPU; inside Docker, start the "
        "container with --gpus all (NVIDIA Container Toolkit)",
    )
