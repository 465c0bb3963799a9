"""Operations: replay, pause and resume, retention, key rotation, alerts, refusal summaries."""
