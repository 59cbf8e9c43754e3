"""The upstream client stands alone: importing it loads no Django and none of the project's models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_client_loads_no_django():
    script = "import json, sys, devices.upstream; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"}, check=True)
    loaded = json.loads(result.stdout)
    assert "devices.upstream.client" in loaded
    assert not [name for name in loaded if name == "django" or name.startswith(("django.", "devices.models"))]
