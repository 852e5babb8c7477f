# The toolrank server image: gRPC on 50051, the embedded default model.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY proto ./proto
COPY server ./server
RUN pip install --no-cache-dir . && useradd --system toolrank
USER toolrank
EXPOSE 50051
ENTRYPOINT ["toolrank", "serve", "--host", "0.0.0.0"]
