"""The server returns argon2's working memory to the system after each check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evbilling.infra.secrets import _HASHER

# A fresh process: hash checks on four threads at once, twice; prints the resident growth.
_PROBE = """
import sys
from concurrent.futures import ThreadPoolExecutor
from evbilling.infra.memory import return_large_blocks_to_system
from evbilling.infra.secrets import hash_secret, verify_secret

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert return_large_blocks_to_system()
secret = "a-station-password-0123"
secret_hash = hash_secret(secret)
before = rss_mib()
with ThreadPoolExecutor(max_workers=4) as pool:
    for _ in range(2):
        checks = [pool.submit(verify_secret, secret=secret, secret_hash=secret_hash)
                  for _ in range(4)]
        assert all(check.result() for check in checks)
    print(rss_mib() - before)
"""


def resident_growth_mib(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
class TestLargeBlocks:
    def test_hash_checks_on_worker_threads_leave_their_working_memory_behind_by_default(
        self,
    ) -> None:
        working_mib = _HASHER.memory_cost / 1024
        # Each worker thread keeps (at least) one check's working memory.
        assert resident_growth_mib("default") >= 2 * working_mib

    def test_with_large_blocks_returned_they_leave_less_than_one_check_behind(self) -> None:
        working_mib = _HASHER.memory_cost / 1024
        assert resident_growth_mib("fixed") < working_mib
