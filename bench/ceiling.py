"""The machine's ceiling: a trivial FastAPI endpoint on the same uvicorn stack.

`POST /v1/work-orders` parses the JSON body and answers 202, nothing else: what the
same client, server stack and machine can do when the application does no work. Each
Lianxin figure is printed as a ratio to it. Run with `python -m bench.ceiling PORT`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/v1/work-orders", status_code=202)
async def accept(order: dict[str, Any]) -> JSONResponse:
    """Accept anything that is a JSON object."""
    return JSONResponse({"flow_id": order.get("flow_id"), "status": "received"}, 202)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
