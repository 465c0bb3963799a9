"""Lianxin's cryptography: message signing, sealing at rest, SM4 field encryption, TLS
certificates, checkpoint keys, and the policy that turns configured keys into signers."""
