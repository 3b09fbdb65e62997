"""Publish the web UI screenshots the docs show (docs/img/*.png), taken by the browser tests.

    python scripts/screenshots.py            (from the repository, with the test extras)

Runs the tests of tests/test_web_ui.py that take these pictures against a real server in
Debian's Chromium (see docs/web-ui.md), with CHATKB_SCREENSHOTS pointing at a scratch
folder, then copies the published ones into docs/img/. A plain test run writes screenshots
only under the temporary directory, so it never changes the tree; this script does, on
purpose: review the pictures and commit them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS_IMG = ROOT / "docs" / "img"
# picture -> the test that takes it
PUBLISHED = {
    "chat": "test_chat_answers_with_citations",
    "knowledge-bases": "test_upload_files_and_watch_ingestion",
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="chatkb-screenshots-") as scratch:
        env = {**os.environ, "CHATKB_SCREENSHOTS": scratch}
        tests = [f"tests/test_web_ui.py::{name}" for name in sorted(set(PUBLISHED.values()))]
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
            print("screenshots: the tests failed; docs/img/ is unchanged", file=sys.stderr)
            return 1
        missing = [name for name in PUBLISHED if not (Path(scratch) / f"{name}.png").is_file()]
        if missing:  # e.g. skipped for want of a browser
            print(
                f"screenshots: not taken: {', '.join(missing)}; docs/img/ is unchanged",
                file=sys.stderr,
            )
            return 1
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for name in PUBLISHED:
            shutil.copyfile(Path(scratch) / f"{name}.png", DOCS_IMG / f"{name}.png")
            print(f"docs/img/{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
