"""Start the app's settings in a fresh process, to see what a given environment does at startup."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def start_app_with(**env: str) -> subprocess.CompletedProcess:
    """`django.setup()` with the real settings, DEBUG on, no .env, and `env`; its exit status and output."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "IGNORE_DOTENV": "on",
        "DEBUG": "on",
        "DJANGO_SETTINGS_MODULE": "schoolcontacts.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
