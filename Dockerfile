# CPU image by default. For an NVIDIA GPU: docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
# and run with: docker run --gpus all -p 8501:8501 expire-span-explorer
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" -r requirements.txt
COPY .streamlit .streamlit
COPY app app
COPY model model
COPY assets assets
COPY checkpoints checkpoints
# The project itself, editable as scripts/setup.sh does: `import app`, `import model` from any folder while app/
# finds assets/ and checkpoints/ beside it (setuptools, the build backend, comes pinned in requirements.txt).
COPY pyproject.toml .
RUN pip install --no-cache-dir --no-build-isolation --no-deps -e .
ENV HF_HUB_OFFLINE=1
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app/main.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
