"""`lianxin demo` leaves no caller's phone number or name in clear: not in its log, not on
its console, not in the bytes of its SQLite database (WAL included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.world.orders import DEMO_ORDERS, EMERGENCY_ORDERS, MAYOR_LETTER, UTILITY_ORDERS

POLICE_CALLER_PHONE = "13811112222"  # BJDH of the 双非 case the simulated 110 pushes
CALLERS = [o["caller"] for o in DEMO_ORDERS + EMERGENCY_ORDERS + UTILITY_ORDERS]
PHONES = [c["phone"] for c in CALLERS] + [MAYOR_LETTER["dh"], POLICE_CALLER_PHONE]
NAMES = [c["name"] for c in CALLERS if "name" in c] + [MAYOR_LETTER["xm"]]


def test_the_demo_keeps_every_callers_phone_and_name_out_of_its_log_console_and_database(
    tmp_path: Path,
) -> None:
    keep = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = (keep / "lianxin.log").read_text(encoding="utf-8")
    console = result.stdout + result.stderr
    database = b"".join(path.read_bytes() for path in sorted(keep.glob("lianxin.db*")))
    assert len(PHONES) >= 10 and log and database
    for phone in PHONES:
        assert phone not in log, f"{phone} in the log"
        assert phone not in console, f"{phone} on the console"
        assert phone.encode() not in database, f"{phone} in the database"
    for name in NAMES:
        assert name not in log and name not in console, f"{name} in the log or console"
        assert name.encode() not in database, f"{name} in the database"
