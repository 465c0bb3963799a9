"""Where checkpoints go outside the database: witness files and URLs (`witnesses`), and a
time-stamping authority (`timestamping`). Both implement the checkpoint ports of the
service layer; bootstrap wires them from LIANXIN_WITNESS_FILES, _URLS and LIANXIN_TSA_URL."""
