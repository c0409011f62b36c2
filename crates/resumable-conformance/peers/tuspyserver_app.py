"""tuspyserver (PyPI) as a tus 1.0 peer: its FastAPI router under /files/,
served by uvicorn on 127.0.0.1:PORT, storing uploads as plain files under DIR.

usage: python tuspyserver_app.py PORT DIR
"""
import sys

import uvicorn
from fastapi import FastAPI
from tuspyserver import create_tus_router


def main():
    port, files_dir = int(sys.argv[1]), sys.argv[2]
    app = FastAPI()
    app.include_router(create_tus_router(prefix="files", files_dir=files_dir))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
