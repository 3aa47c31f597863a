FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home aiops
USER aiops
ENV AIOPS_MCP_DATA_DIR=/home/aiops/data
EXPOSE 8000
ENTRYPOINT ["aiops-mcp"]
CMD ["serve", "--http", "--host", "0.0.0.0", "--port", "8000"]
