# chatkb, CPU image: the API and the web UI on one port (7861), data in the /data volume.
#   docker build -t chatkb .
#   docker run -d -p 7861:7861 -v chatkb-data:/data -e CHATKB_API_KEY=<16+ characters> chatkb
# Models are not baked in: the default embedder ships inside its pip package; LLMs come
# from a server (Ollama, vLLM, …) or a GGUF file mounted into /data. See docs/deployment.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: turn the source tree into a wheel; build tools stay in this stage -------------
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# Extras to install with chatkb, e.g. "server" or "server,llamacpp" (unknown ones are skipped).
ARG CHATKB_EXTRAS=server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/chatkb \
    PATH=/opt/chatkb/bin:$PATH \
    CHATKB_HOME=/data \
    CHATKB_SERVER__HOST=0.0.0.0 \
    CHATKB_SERVER__PORT=7861
COPY --from=build /wheels /tmp/wheels
# One venv, no pip cache, no wheel left behind: the layer holds only what runs.
RUN python -m venv "$VIRTUAL_ENV" \
    && wheel="$(ls /tmp/wheels/chatkb-*.whl)" \
    && pip install --no-cache-dir "chatkb[${CHATKB_EXTRAS}] @ file://${wheel}" \
    && rm -rf /tmp/wheels \
    && find "$VIRTUAL_ENV" -name '__pycache__' -prune -exec rm -rf {} + \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home chatkb \
    && mkdir -p /data \
    && chown chatkb:chatkb /data
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/chatkb-entrypoint
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 7861
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os,urllib.request as u; u.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('CHATKB_SERVER__PORT', '7861'), timeout=4)"]
ENTRYPOINT ["chatkb-entrypoint"]
CMD ["serve"]
