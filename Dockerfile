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
# The entry point's mode is set here: the runtime stage copies it with its mode, which
# the classic builder can do (COPY --chmod needs BuildKit or buildah).
COPY docker/entrypoint.sh /entrypoint/chatkb-entrypoint
RUN chmod 0755 /entrypoint/chatkb-entrypoint

# --- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# Extras of pyproject.toml to install with chatkb, e.g. "llamacpp" (none by default: the
# server, the web UI and the default embedder are in the plain install).
ARG CHATKB_EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/chatkb \
    PATH=/opt/chatkb/bin:$PATH \
    CHATKB_HOME=/data \
    CHATKB_SERVER__HOST=0.0.0.0 \
    CHATKB_SERVER__PORT=7861
COPY --from=build /wheels /tmp/wheels
# One venv, no pip cache, no wheel left behind: the layer holds only what runs (not onnx's
# conformance tests, 17 MB, nor numpy's own tests, 17 MB).
RUN python -m venv "$VIRTUAL_ENV" \
    && wheel="$(ls /tmp/wheels/chatkb-*.whl)" \
    && spec="chatkb${CHATKB_EXTRAS:+[${CHATKB_EXTRAS}]}" \
    && pip install --no-cache-dir "${spec} @ file://${wheel}" \
    && rm -rf /tmp/wheels \
    && find "$VIRTUAL_ENV" -name '__pycache__' -prune -exec rm -rf {} + \
    && rm -rf "$VIRTUAL_ENV"/lib/python*/site-packages/onnx/backend/test \
        "$VIRTUAL_ENV"/lib/python*/site-packages/numpy/tests \
        "$VIRTUAL_ENV"/lib/python*/site-packages/numpy/*/tests \
    && groupadd --system --gid 10001 chatkb \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home chatkb \
    && mkdir -p /data \
    && chown chatkb:chatkb /data
COPY --from=build /entrypoint/chatkb-entrypoint /usr/local/bin/chatkb-entrypoint
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 7861
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os,urllib.request as u; u.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('CHATKB_SERVER__PORT', '7861'), timeout=4)"]
ENTRYPOINT ["chatkb-entrypoint"]
CMD ["serve"]
