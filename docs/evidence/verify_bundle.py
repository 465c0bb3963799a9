"""Verify a Lianxin evidence bundle with nothing but Python and `cryptography`.

    python verify_bundle.py evidence.json whpk_…   # the checkpoint key Lianxin published

Independent of Lianxin's code: it re-implements the entry hash, the RFC 9162 inclusion
proof and the Ed25519 checks from docs/evidence.md, and the agencies' own signatures on
what they sent (with the bodies, in a bundle exported with personal data).
Exit 0 when everything verifies.
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ed25519_ok(public_key, data, signature):
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    try:
        key.verify(base64.b64decode(signature), data)
        return True
    except Exception:
        return False


def entry_hash(e):
    fields = {k: e[k] for k in ("event", "order_id", "handoff_id", "party", "payload_digest",
                                "signature", "detail")}
    content = {"prev": e["prev_hash"], "seq": e["seq"], "at": e["at_us"], **fields}
    return hashlib.sha256(canonical(content)).hexdigest()


def root_from_proof(leaf_hex, index, size, path):  # RFC 9162 §2.1.3.2
    fn, sn = index, size - 1
    node = hashlib.sha256(b"\x00" + bytes.fromhex(leaf_hex)).digest()
    for sibling_hex in path:
        sibling = bytes.fromhex(sibling_hex)
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    return node.hex() if sn == 0 else None


def senders(bundle):
    """Re-check each received message's sender signature where its body is in the bundle
    (Standard Webhooks: Ed25519 over `{id}.{timestamp}.{body}`); count the others."""
    counts = {"verified": 0, "withheld": 0, "shared_secret": 0, "unsigned": 0}
    for m in bundle["messages"]:
        signed, body = m["signed"], m["body"]
        if signed is None:
            continue
        body = None if body is None else base64.b64decode(body)
        where = f"message of entry {m['seq']} (from {m['party']}, id {m['message_id']})"
        if body is not None and hashlib.sha256(body).hexdigest() != signed["body_sha256"]:
            sys.exit(f"{where}: its body does not match the digest the entry records")
        if signed["scheme"] == "none":
            counts["unsigned"] += 1
            continue
        ed25519 = [s[4:] for s in signed["signature"].split() if s.startswith("v1a,")]
        if not ed25519:
            counts["shared_secret"] += 1
            continue
        if body is None:
            counts["withheld"] += 1
            continue
        content = f"{signed['id']}.{signed['timestamp']}.".encode() + body
        keys = bundle["keys"].get(m["party"], [])
        if not any(ed25519_ok(k, content, s) for k in keys for s in ed25519):
            sys.exit(f"{where}: the sender's signature does not verify")
        counts["verified"] += 1
    return counts


def main(path, trusted_key):
    raw = open(path, "rb").read()
    document = json.loads(raw)
    if raw.decode() != json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n":
        sys.exit("the file is not laid out as exported")
    bundle, seal = document["bundle"], document["seal"]
    checkpoints = {}
    for c in bundle["checkpoints"]:
        s = c["statement"]
        statement = canonical({"v": "lianxin-checkpoint/1", **s})
        if c["public_key"] != trusted_key or not ed25519_ok(trusted_key, statement, c["signature"]):
            sys.exit(f"checkpoint {s['number']}: signature does not verify with the trusted key")
        checkpoints[s["number"]] = s
    proofs = {p["seq"]: p for p in bundle["proofs"]}
    entries = {e["seq"]: e for e in bundle["entries"]}
    for e in bundle["entries"]:
        if e["order_id"] != bundle["order_id"] or entry_hash(e) != e["entry_hash"]:
            sys.exit(f"entry {e['seq']}: content does not match its hash")
        p = proofs[e["seq"]]
        s = checkpoints[p["checkpoint"]]
        size = s["last"] - s["first"] + 1
        if p["index"] != e["seq"] - s["first"]:
            sys.exit(f"entry {e['seq']}: wrong leaf index")
        if root_from_proof(e["entry_hash"], p["index"], size, p["path"]) != s["root"]:
            sys.exit(f"entry {e['seq']}: inclusion proof does not lead to checkpoint {s['number']}")
    if seal["public_key"] != trusted_key or not ed25519_ok(
        trusted_key, canonical(bundle), seal["signature"]
    ):
        sys.exit("seal: signature does not verify")
    for m in bundle["messages"]:  # the signature material is the entry's own
        recorded = json.loads(entries[m["seq"]]["detail"]).get("signed")
        said = m["signed"]
        unrecorded = said is None or (said["scheme"] == "none" and said["body_sha256"] is None)
        if said != recorded and not (recorded is None and unrecorded):
            sys.exit(f"message of entry {m['seq']} is not what the entry records")
    counts = senders(bundle)
    print(f"verified: order {bundle['order_id']}, {len(bundle['entries'])} entries, "
          f"checkpoints {sorted(checkpoints)}, received messages {counts}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
