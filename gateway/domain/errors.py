"""Every error Lianxin raises on purpose, in one tree.

    LianxinError
    ├── ConfigError                 settings or environment unusable
    │   └── MappingError            a mapping file is invalid (names file, entry, problem)
    ├── InputError                  a caller sent something we refuse (4xx)
    │   ├── UnknownAgency           no profile by that name (with a "did you mean")
    │   ├── UnknownOrder
    │   ├── NotAddressed            an agency acting on an order not handed to it
    │   ├── NoRoute                 no catalogue rule matches the order
    │   ├── Unmappable              the agency's code tables cannot express a value
    │   ├── RevisionConflict        intake revision older than the stored one
    │   ├── ReceivedInFuture        received_at later than now plus the clock-skew tolerance
    │   ├── PayloadTooLarge
    │   ├── MalformedMessage        not parseable, or hostile (DTD, entities, oversized XML)
    │   ├── SignatureError          missing, malformed, forged or stale signature
    │   └── CertificateRequired     mutual TLS is on and no client certificate came (401)
    │       └── CertificateMismatch the client certificate is bound to another agency
    ├── IllegalTransition           the state machine refuses the update
    │   ├── OrderClosed             the order is cancelled or archived: nothing more applies
    │   └── Superseded              the agency's assignment was handed on (改派, 重办)
    ├── DeliveryError               one delivery attempt failed
    │   ├── TransientDelivery       worth retrying (5xx, 408/409/425/429, timeouts, refused)
    │   └── PermanentDelivery       retrying cannot help (other 4xx, 410 disables the endpoint)
    ├── InputError › OutOfBounds    a value no column can hold (the store's last check, 422)
    ├── StoreUnavailable            the database refuses writes or cannot be reached (503)
    ├── AuditError                  the audit trail cannot be written or does not verify
    │   ├── WitnessError            a witness could not keep a checkpoint (tried again later)
    │   ├── CheckpointTaken         another process sharing the database made that checkpoint
    │   └── EvidenceError           an evidence bundle or witness file does not verify
    └── SealedDataError             stored personal data cannot be decrypted (key, tampering)

Whether a delivery error is retryable is part of its type: the dispatcher looks at
the class, never at status codes.
"""

from __future__ import annotations

from typing import Any


class LianxinError(Exception):
    """Base of every deliberate Lianxin error."""

    code = "lianxin_error"
    http_status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(LianxinError):
    """Settings or environment that Lianxin cannot start with."""

    code = "config_error"


class MappingError(ConfigError):
    """A file under mappings/ is invalid; the message names file, entry and problem."""

    code = "mapping_error"


class InputError(LianxinError):
    """A caller sent something Lianxin refuses."""

    code = "invalid_input"
    http_status = 400


class UnknownAgency(InputError):
    """No agency profile has that name."""

    code = "unknown_agency"
    http_status = 404


class UnknownOrder(InputError):
    """No work order has that id."""

    code = "unknown_order"
    http_status = 404


class NotAddressed(InputError):
    """An agency sent an update about an order that was not handed to it."""

    code = "not_addressed"
    http_status = 403


class NoRoute(InputError):
    """No routing rule matches the order and none was named explicitly."""

    code = "no_route"
    http_status = 422


class ReceivedInFuture(InputError):
    """An order's received_at lies later than now plus the clock-skew tolerance."""

    code = "received_in_future"
    http_status = 422


class Unmappable(InputError):
    """The agency's mapping has no code for a value the order carries."""

    code = "unmappable"
    http_status = 422


class RevisionConflict(InputError):
    """The intake carries an older revision than the one stored."""

    code = "revision_conflict"
    http_status = 409


class PayloadTooLarge(InputError):
    """The request body exceeds the configured limit."""

    code = "payload_too_large"
    http_status = 413


class MalformedMessage(InputError):
    """A message that cannot be parsed safely: malformed, hostile or oversized."""

    code = "malformed_message"
    http_status = 400


class SignatureError(InputError):
    """A message signature is missing, malformed, forged or outside the tolerance."""

    code = "invalid_signature"
    http_status = 401


class CertificateRequired(InputError):
    """Mutual TLS is configured and the caller presented no client certificate."""

    code = "client_certificate_required"
    http_status = 401


class CertificateMismatch(CertificateRequired):
    """The client certificate is bound to another agency, or to none."""

    code = "certificate_mismatch"
    http_status = 403


class Unauthorized(InputError):
    """No API token, or one that no holder has."""

    code = "unauthorized"
    http_status = 401


class Forbidden(InputError):
    """The token's role may not do this."""

    code = "forbidden"
    http_status = 403


class IllegalTransition(LianxinError):
    """The state machine does not allow this update from the current state."""

    code = "illegal_transition"
    http_status = 409


class OrderClosed(IllegalTransition):
    """The order is cancelled or archived: updates, supplements and revisions are refused."""

    code = "order_closed"


class Superseded(IllegalTransition):
    """The update answers an assignment that a reassignment (改派) or a reopen replaced."""

    code = "assignment_superseded"


class DeliveryError(LianxinError):
    """One delivery attempt failed."""

    code = "delivery_failed"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        throttled: bool = False,
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        self.status_code = status_code
        self.retry_after = retry_after
        self.throttled = throttled


class TransientDelivery(DeliveryError):
    """A failure that a later attempt may overcome."""

    code = "delivery_transient"
    retryable = True


class PermanentDelivery(DeliveryError):
    """A failure that no retry can fix; `disable` marks the endpoint gone (HTTP 410)."""

    code = "delivery_permanent"

    def __init__(self, message: str, *, disable: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.disable = disable


class AuditError(LianxinError):
    """The audit trail cannot be written, or it does not verify."""

    code = "audit_error"
    http_status = 503


class WitnessError(AuditError):
    """A witness could not keep a checkpoint; the checkpointer tries it again later."""

    code = "witness_error"


class CheckpointTaken(AuditError):
    """Another gateway sharing the database stored a checkpoint with that number first."""

    code = "checkpoint_taken"


class EvidenceError(AuditError):
    """An evidence bundle or a witness file is unreadable or does not verify."""

    code = "evidence_error"
    http_status = 422


class SealedDataError(LianxinError):
    """Personal data stored encrypted cannot be read: its key is not configured, or it was
    altered or moved. Nothing is changed; the row waits until the key is restored."""

    code = "sealed_data_unreadable"
    http_status = 500


class OutOfBounds(InputError):
    """A value the database cannot hold (too long, a NUL character, a number too large).

    The wire models refuse such values first (`gateway/domain/bounds.py`); this is the
    store's own refusal for any that get past them, so no input ever becomes a 500."""

    code = "out_of_bounds"
    http_status = 422


class StoreUnavailable(LianxinError):
    """The database refuses to write (disk full, read-only, unreachable): nothing was stored.

    The caller should try again after `retry_after` seconds (sent as `Retry-After`)."""

    code = "store_unavailable"
    http_status = 503
    retry_after = 30
