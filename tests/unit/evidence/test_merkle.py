"""The Merkle tree against RFC 9162 §2.1's recursive definitions, written out plainly."""

from __future__ import annotations

import hashlib

import pytest

from gateway.service import merkle


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 defines it."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33])
def test_the_root_is_rfc_9162s(size: int) -> None:
    assert merkle.root(leaves_of(size)) == reference_root(leaves_of(size)).hex()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6, 7, 8, 11, 16, 21, 32, 33])
def test_every_inclusion_proof_is_rfc_9162s_and_verifies(size: int) -> None:
    leaves = leaves_of(size)
    head = merkle.root(leaves)
    proofs = merkle.inclusion_proofs(leaves, range(size))
    for index, path in proofs.items():
        assert path == [p.hex() for p in reference_path(index, leaves)]
        assert merkle.verify_inclusion(leaves[index], index, size, path, head)


def test_a_wrong_leaf_index_size_or_path_fails() -> None:
    leaves = leaves_of(11)
    head = merkle.root(leaves)
    path = merkle.inclusion_proofs(leaves, [6])[6]
    assert not merkle.verify_inclusion(leaves[5], 6, 11, path, head)
    assert not merkle.verify_inclusion(leaves[6], 5, 11, path, head)
    assert not merkle.verify_inclusion(leaves[6], 6, 17, path, head)  # a size the path cannot fit
    assert not merkle.verify_inclusion(leaves[6], 6, 11, path[:-1], head)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, [*path, path[0]], head)
    flipped = [path[0][:-1] + ("0" if path[0][-1] != "0" else "1"), *path[1:]]
    assert not merkle.verify_inclusion(leaves[6], 6, 11, flipped, head)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, ["zz", *path[1:]], head)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, [path[0].upper(), *path[1:]], head)
    assert not merkle.verify_inclusion(leaves[6], 11, 11, path, head)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 1000])
def test_a_frontier_fed_in_pieces_gives_the_same_head_as_the_whole_tree(size: int) -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
    frontier = merkle.Frontier()
    for start in range(0, size, 7):  # pieces of 7, as passes read whatever arrived
        frontier.add(leaves[start : start + 7])
    assert frontier.size == size
    assert frontier.root() == merkle.root(leaves)
