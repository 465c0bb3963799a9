"""The witness walk on its own: which entry it names for each kind of mismatch."""

from __future__ import annotations

import hashlib

from gateway.crypto.checkpoint_keys import Ed25519CheckpointSigner
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.checkpoint import FIRST_PREVIOUS, Checkpoint, Statement, leaf_prefixes
from gateway.service import merkle
from gateway.service.witness_check import check_witnessed


def test_the_witness_walk_names_missing_and_malformed_entries() -> None:
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1, 11)]
    signer = Ed25519CheckpointSigner(generate_ed25519_key())
    statement = Statement(
        1, 1, 10, hashes[-1], merkle.root([bytes.fromhex(h) for h in hashes]),
        FIRST_PREVIOUS, 0, signer.key_id, "ed25519",
    )  # fmt: skip
    witnessed = [Checkpoint(statement, "", signer.public_key, None, leaf_prefixes(hashes))]
    rows = list(enumerate(hashes, start=1))
    assert check_witnessed(rows, witnessed).ok
    gap = check_witnessed(rows[:4] + rows[5:], witnessed)
    assert (gap.seq, gap.problem) == (5, "entry 5 is missing")
    odd = check_witnessed([*rows[:2], (3, "XYZ"), *rows[3:]], witnessed)
    assert odd.seq == 3 and "not 64 lowercase hex" in str(odd.problem)
    short = check_witnessed(rows[:7], witnessed)
    assert short.seq == 8 and "entry 8 is missing" in str(short.problem)
    blind = [Checkpoint(statement, "", signer.public_key, None, "")]  # a witness without leaves
    edited = check_witnessed([*rows[:3], (4, hashes[0]), *rows[4:]], blind)
    assert edited.seq == 1 and "do not match the root" in str(edited.problem)
