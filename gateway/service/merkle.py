"""Merkle trees over audit entries, as RFC 9162 (Certificate Transparency 2.0) §2.1 builds them.

A leaf is an entry's hash (32 bytes); leaf hashes are SHA-256(0x00 ‖ leaf), interior
nodes SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves splits at the largest power
of two below n. An inclusion proof is the audit path of RFC 9162 §2.1.3.1, leaf first;
`verify_inclusion` is the algorithm of §2.1.3.2. Building level by level and carrying an
unpaired last node up unchanged gives the same root as the recursive definition.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
NODE_HEX = re.compile(r"[0-9a-f]{64}")  # one spelling per node: no case or spacing changes


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    level = [leaf_hash(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        levels.append(paired)
        level = paired
    return levels


def root(leaves: Sequence[bytes]) -> str:
    """The tree head (hex) of `leaves`; SHA-256 of nothing for no leaves."""
    if not leaves:
        return EMPTY_ROOT
    return _levels(leaves)[-1][0].hex()


def inclusion_proofs(leaves: Sequence[bytes], indexes: Sequence[int]) -> dict[int, list[str]]:
    """The audit path (hex, leaf first) of each leaf index in `indexes`."""
    levels = _levels(leaves)
    return {index: _path(levels, index) for index in indexes}


def _path(levels: list[list[bytes]], index: int) -> list[str]:
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling].hex())
        index >>= 1
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[str], head: str) -> bool:
    """Whether `path` proves `leaf` is leaf `index` of the tree of `size` with root `head`."""
    if not 0 <= index < size:
        return False
    fn, sn, node = index, size - 1, leaf_hash(leaf)
    for sibling_hex in path:
        if not NODE_HEX.fullmatch(sibling_hex):
            return False
        sibling = bytes.fromhex(sibling_hex)
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and node.hex() == head


class Frontier:
    """A tree head computed leaf by leaf, as leaves arrive: only the roots of the perfect
    subtrees are kept (one per set bit of the size), so adding a leaf costs one leaf hash
    and, on average, one node hash, and the head is log2(n) node hashes away. Folding
    those roots right to left gives the RFC 9162 head (the split at the largest power of
    two below n is exactly where the perfect subtrees end)."""

    def __init__(self) -> None:
        self.size = 0
        self._roots: list[tuple[int, bytes]] = []  # (leaves under it, its hash), largest first

    def add(self, leaves: Sequence[bytes]) -> None:
        """Append `leaves` in order."""
        roots = self._roots
        for leaf in leaves:
            node, width = leaf_hash(leaf), 1
            while roots and roots[-1][0] == width:
                node, width = node_hash(roots.pop()[1], node), width * 2
            roots.append((width, node))
        self.size += len(leaves)

    def root(self) -> str:
        """The tree head (hex) of the leaves added so far."""
        if not self._roots:
            return EMPTY_ROOT
        node = self._roots[-1][1]
        for _width, left in reversed(self._roots[:-1]):
            node = node_hash(left, node)
        return node.hex()
