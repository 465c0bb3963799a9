# syntax=docker/dockerfile:1
# Lianxin gateway image (used by compose.yaml). Without Docker, `./dev.sh setup` and
# `.venv/bin/lianxin serve` run the same thing. Settings: .env.example.
#
# Layers: the dependencies (from pyproject.toml alone) are built and installed before
# any source is copied, so a change to the code rebuilds only the small Lianxin wheel.
# A regular (non-editable) install; the process runs as the unprivileged user lianxin.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
 && pip wheel --no-cache-dir --wheel-dir /wheels/deps -r requirements.txt \
 && cp requirements.txt /wheels/deps/
COPY README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels/app .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home lianxin \
 && install -d -o lianxin -g lianxin -m 0750 /data
COPY --from=build /wheels/deps /tmp/deps
RUN pip install --no-cache-dir --no-index --find-links /tmp/deps -r /tmp/deps/requirements.txt \
 && rm -rf /tmp/deps
COPY --from=build /wheels/app /tmp/app
RUN pip install --no-cache-dir --no-index --no-deps /tmp/app/*.whl && rm -rf /tmp/app
COPY mappings /app/mappings
# the simulators find their WSDLs next to the installed packages (gateway/settings.py REPO_ROOT)
RUN ln -s /app/mappings "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mappings"
ENV LIANXIN_MAPPINGS_DIR=/app/mappings \
    LIANXIN_DATABASE_URL=sqlite:////data/lianxin.db \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /data
VOLUME ["/data"]
USER lianxin
EXPOSE 8345
HEALTHCHECK --interval=10s --timeout=3s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8345/healthz', timeout=2)"]
CMD ["lianxin", "serve", "--host", "0.0.0.0", "--port", "8345"]
