# syntax=docker/dockerfile:1
# The toolrank server image: gRPC on 50051 (HTTP on 8080 when TOOLRANK_HTTP_PORT=8080), the embedded model.
#
# Two stages so that the model is stored once: the build stage makes the wheel, the final stage installs
# it through a bind mount (BuildKit), so neither the sources nor the wheel stay in a layer of the image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE NOTICE ./
COPY proto ./proto
COPY server ./server
COPY clients/python ./clients/python
# Two wheels: toolrank-client (clients/python) and the server, which depends on it by version here (from a
# checkout it points at clients/python, a path the final stage does not have).
RUN pip wheel --no-deps --no-cache-dir -w /wheels ./clients/python \
 && version=$(python -c "import tomllib; print(tomllib.load(open('clients/python/pyproject.toml', 'rb'))['project']['version'])") \
 && TOOLRANK_CLIENT_REQUIREMENT="toolrank-client==${version}" pip wheel --no-deps --no-cache-dir -w /wheels .

FROM python:3.11-slim
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir /wheels/*.whl \
 && groupadd --gid 10001 toolrank \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/toolrank toolrank \
 && mkdir -p /var/lib/toolrank && chown 10001:10001 /var/lib/toolrank
# The licence and the bundled models' licences, beside the wheel's own copies in its .dist-info/licenses/.
COPY --from=build /src/LICENSE /src/NOTICE /usr/share/doc/toolrank/
# A numeric user (Kubernetes runAsNonRoot can check it) with a writable home for pulled models.
USER 10001:10001
ENV HOME=/home/toolrank \
    TOOLRANK_CACHE_DIR=/home/toolrank/.cache/toolrank/models \
    TOOLRANK_PORT=50051 \
    TOOLRANK_HTTP_PORT=-1 \
    TOOLRANK_STORE=sqlite:////var/lib/toolrank/catalogs.sqlite3 \
    TOOLRANK_ADDRESS_FILE=/tmp/toolrank.address
# Catalogs live in the SQLite store on this volume: they survive re-creating the container
# (docker run -v toolrank-catalogs:/var/lib/toolrank ...). Declared after the chown so the volume is writable.
VOLUME ["/var/lib/toolrank"]
WORKDIR /home/toolrank
EXPOSE 50051 8080
# The standard grpc.health.v1.Health service: healthy once the model is warm, unhealthy while draining. The
# address is the one the server bound, which it writes to TOOLRANK_ADDRESS_FILE (whatever set the port: the
# variable, or `--port N` after the image name); `toolrank health` reads the same variable.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD toolrank health --timeout 4 || exit 1
ENTRYPOINT ["toolrank", "serve", "--host", "0.0.0.0"]
