# Lianxin gateway image (used by compose.yaml). Without Docker, `./dev.sh setup` and
# `.venv/bin/lianxin serve` run the same thing.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
COPY mappings ./mappings
RUN pip install --no-cache-dir -e .
ENV LIANXIN_MAPPINGS_DIR=/app/mappings
EXPOSE 8345
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8345/healthz')"
CMD ["lianxin", "serve", "--host", "0.0.0.0", "--port", "8345"]
