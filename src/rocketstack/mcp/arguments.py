"""Argument types of the MCP tools; their descriptions and bounds become the tools' input
schemas. Names follow the API's fields (memoryMb, isPublic) so errors from either side match."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# How long deploy_function waits for a create or update to finish.
DEPLOY_WAIT_SECONDS = 120.0


class BinaryFile(BaseModel):
    """A file given as base64, for content that is not UTF-8 text."""

    model_config = ConfigDict(extra="forbid")
    base64: str = Field(description="The file's bytes, base64-encoded")


FunctionRef = Annotated[
    str,
    Field(
        min_length=1,
        description="The function's name (as given to deploy_function) or its id (fn_...)",
    ),
]
Name = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="Function name: 1-64 characters, starting with a letter; letters, numbers, "
        "hyphens and underscores. An existing function of this name is updated.",
    ),
]
Runtime = Annotated[
    Literal["nodejs20.x", "python3.12"], Field(description="The runtime the code is written for")
]
Handler = Annotated[
    str,
    Field(
        min_length=3,
        description="Entry point as fileName.functionName: 'index.handler' runs the export "
        "'handler' of index.js (or .mjs/.cjs) for Node.js; 'handler.handler' runs "
        "def handler(event, context) in handler.py for Python. The file must be at the code root.",
    ),
]
Files = Annotated[
    dict[str, str | BinaryFile] | None,
    Field(
        description="The code as {relative path: file content}. Content is the file's UTF-8 "
        'text, or {"base64": "..."} for binary files. The entry file named by handler must '
        'be at the root, e.g. {"index.js": "export const handler = async (event) => ..."}. '
        "Required to create a function; omit it to change only settings of an existing one.",
    ),
]
LocalPath = Annotated[
    str | None,
    Field(
        description="Instead of files: the absolute path of a local folder (its contents become "
        "the code root; .gitignore and .rocketstackignore are respected, and .git, "
        "__pycache__, .venv and .env files are left out) or of a local ZIP file with the entry "
        "file at its root.",
    ),
]
MemoryMb = Annotated[
    int | None, Field(ge=128, le=10240, description="Memory limit in MB, 128-10240; default 256")
]
TimeoutSeconds = Annotated[
    int | None,
    Field(ge=1, le=60, description="Time limit per invocation in seconds, 1-60; default 10"),
]
Env = Annotated[
    dict[str, str] | None,
    Field(description='Environment variables as {"KEY": "value"}; replaces the whole set on update'),
]
ReservedConcurrency = Annotated[
    int | None,
    Field(
        ge=0,
        le=100,
        description="0 pauses the function, 1-100 caps concurrent invocations; omit to leave it "
        "unreserved (on create) or unchanged (on update)",
    ),
]
Description = Annotated[
    str | None, Field(max_length=256, description="Free text, at most 256 characters")
]
IsPublic = Annotated[
    bool | None,
    Field(description="true gives the function a public URL that anyone can call without an API key"),
]
PublicMethod = Annotated[
    Literal["GET", "POST", "PATCH", "DELETE"] | None,
    Field(description="The one HTTP method the public URL accepts; default POST"),
]
MaxRetryAttempts = Annotated[
    int | None,
    Field(ge=0, le=5, description="Retries of a failed queued invocation, 0-5; default 2"),
]
MaxEventAgeSeconds = Annotated[
    int | None,
    Field(
        ge=1,
        le=86400,
        description="Seconds a queued invocation may wait before it is dropped as failed, "
        "1-86400; default 21600",
    ),
]
Wait = Annotated[
    bool,
    Field(
        description="Wait until the deploy is ready or failed (up to "
        f"{int(DEPLOY_WAIT_SECONDS)} s); default true"
    ),
]
Payload = Annotated[
    object,
    Field(description="The event passed to the handler: any JSON value; omitted means {}"),
]
PageSize = Annotated[int, Field(ge=1, le=100, description="Functions per page, 1-100")]
Cursor = Annotated[str | None, Field(description="nextCursor of the previous page")]
RequestId = Annotated[str | None, Field(description="Only the lines and report of this invocation")]
Since = Annotated[
    str | None,
    Field(description="Only records at or after this time: ISO 8601 or epoch seconds"),
]
Until = Annotated[
    str | None,
    Field(description="Only records at or before this time: ISO 8601 or epoch seconds"),
]
LogLimit = Annotated[
    int, Field(ge=1, le=10000, description="Maximum number of log lines and of reports returned")
]
