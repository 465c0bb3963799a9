"""In-memory fakes of the service ports and a fixed clock: service tests without I/O.

`MemoryStore` follows the SQL store's semantics (tests/contract checks both the same way).
"""

from tests.fakes.clock import FixedClock
from tests.fakes.state import DuplicateKey
from tests.fakes.store import MemoryStore, MemoryUnitOfWork

__all__ = ["DuplicateKey", "FixedClock", "MemoryStore", "MemoryUnitOfWork"]
