"""Field encryption for agencies that require it (e.g. SM4-GCM under the national algorithms).

A profile's `[field_encryption]` table names the payload fields (dotted paths in what the
agency receives) to encrypt with the agency's key; each value becomes
`<algorithm>:<key id>:<base64 nonce + ciphertext + tag>`, bound to the order and the field
by the associated data `{order id}|{path}`, so a ciphertext cannot be moved to another
order or field. The cipher is a port: the service layer never imports a crypto library.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.service.ports.crypto import FieldCipher


def encrypt_fields(
    payload: dict[str, Any], paths: tuple[str, ...], cipher: FieldCipher, order_id: str
) -> dict[str, Any]:
    """A copy of `payload` with the value at each of `paths` encrypted (absent ones skipped)."""
    result: dict[str, Any] = json.loads(json.dumps(payload))  # a deep copy of JSON data
    for path in paths:
        *parents, leaf = path.split(".")
        node: Any = result
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is not None:
            plain = json.dumps(node[leaf], ensure_ascii=False).encode()
            node[leaf] = cipher.encrypt(plain, f"{order_id}|{path}".encode())
    return result
