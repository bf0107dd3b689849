"""Instance side of the python3.12 runtime: loads one handler, then runs invocations that
the host sends over one pipe and replies over another. It imports only the standard library.

Frame format (both directions): 4-byte big-endian header length, 4-byte big-endian payload
length, a JSON header, then the payload bytes."""

import io
import json
import logging
import os
import resource
import struct
import sys
import threading
import time
import traceback

# The host passes the channel's fd numbers as the two arguments.
IN_FD = int(sys.argv[1]) if len(sys.argv) > 2 else 3
OUT_FD = int(sys.argv[2]) if len(sys.argv) > 2 else 4
_HEAD = struct.Struct(">II")
_write_lock = threading.Lock()
# Longer log messages are sent in pieces of this size; the host caps each frame.
_MAX_RECORD_BYTES = 256 * 1024
# json.dumps builds a new encoder on every call that passes options, so these are built once.
_encode_header = json.JSONEncoder(separators=(",", ":")).encode
# allow_nan=False: NaN and Infinity are not JSON, and clients reject them.
_encode_result = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
# The channel from the host, opened at the first read. It is buffered, so that a frame's
# lengths, header and payload take one read from the pipe instead of three.
_input = None


def send(header, payload=b""):
    data = _encode_header(header).encode()
    frame = _HEAD.pack(len(data), len(payload)) + data + payload
    with _write_lock:
        view = memoryview(frame)
        while view:
            written = os.write(OUT_FD, view)
            view = view[written:]


def read_exact(size):
    global _input
    if _input is None:
        _input = io.open(IN_FD, "rb", buffering=64 * 1024, closefd=False)
    data = _input.read(size)
    if len(data) < size:
        raise EOFError
    return data


def receive():
    header_size, payload_size = _HEAD.unpack(read_exact(8))
    header = json.loads(read_exact(header_size))
    return header, read_exact(payload_size) if payload_size else b""


def send_log(stream, message):
    data = message.encode("utf-8", "replace")
    for start in range(0, max(len(data), 1), _MAX_RECORD_BYTES):
        send({"t": "log", "s": stream}, data[start : start + _MAX_RECORD_BYTES])


def _write_once(print_function, file_position):
    """Wrap a traceback printer so that it writes its whole output in one call, which
    RecordWriter stores as one log record. `file_position` is the index of its `file`
    parameter, which callers such as logging pass positionally."""

    def wrapper(*args, **kwargs):
        args = list(args)
        if len(args) > file_position:
            target = args[file_position]
            args[file_position] = buffer = io.StringIO()
        else:
            target = kwargs.get("file")
            kwargs["file"] = buffer = io.StringIO()
        print_function(*args, **kwargs)
        (sys.stderr if target is None else target).write(buffer.getvalue())

    return wrapper


def _thread_excepthook(arguments):
    if arguments.exc_type is SystemExit:
        return
    name = arguments.thread.name if arguments.thread is not None else "unknown"
    text = "".join(
        traceback.format_exception(arguments.exc_type, arguments.exc_value, arguments.exc_traceback)
    )
    sys.stderr.write(f"Exception in thread {name}:\n{text}")


def group_tracebacks():
    """Make every printed traceback one log record: traceback.print_* and the uncaught
    exceptions of threads otherwise write line by line."""
    # Positions of `file` in print_exception(exc, value, tb, limit, file, chain),
    # print_tb(tb, limit, file) and print_stack(f, limit, file).
    for name, file_position in (("print_exception", 4), ("print_tb", 2), ("print_stack", 2)):
        setattr(traceback, name, _write_once(getattr(traceback, name), file_position))
    threading.excepthook = _thread_excepthook


class RecordWriter(io.TextIOBase):
    """Replaces sys.stdout and sys.stderr: text up to a write that ends a line becomes one
    log record, so `print("a\\nb")` stays one record."""

    def __init__(self, stream):
        self.stream = stream
        self.buffer_parts = []
        self.lock = threading.Lock()

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self.lock:
            self.buffer_parts.append(text)
            if text.endswith("\n"):
                self._emit()
        return len(text)

    def flush(self):
        with self.lock:
            self._emit()

    def _emit(self):
        if not self.buffer_parts:
            return
        message = "".join(self.buffer_parts)
        self.buffer_parts = []
        if message.endswith("\n"):
            message = message[:-1]
        send_log(self.stream, message)

    def fileno(self):
        return 1 if self.stream == "stdout" else 2

    def isatty(self):
        return False


class RecordHandler(logging.Handler):
    """Sends each logging record, traceback included, as one log record."""

    def emit(self, record):
        try:
            message = self.format(record)
            stream = "stderr" if record.levelno >= logging.WARNING else "stdout"
            send_log(stream, message)
        except Exception:
            self.handleError(record)


class Context:
    """The handler's `context` argument, in the style of Lambda's Python context."""

    def __init__(self, request_id, deadline_ms, spec):
        self.aws_request_id = request_id
        self.request_id = request_id
        self.function_name = spec["functionName"]
        self.function_version = str(spec["version"])
        self.memory_limit_in_mb = int(spec["memoryMb"])
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return f"Context(request_id={self.request_id!r}, function_name={self.function_name!r})"


class ResultNotSerializable(Exception):
    pass


# The maximum length of an error message sent to the host; the rest is cut with a note.
MAX_ERROR_MESSAGE = 64 * 1024


def error_body(error, code_dir=None):
    frames = traceback.extract_tb(error.__traceback__)
    if code_dir:
        # Only the function's own frames: the runtime's files and paths stay private.
        frames = traceback.StackSummary.from_list(
            [f for f in frames if f.filename.startswith(code_dir)]
        )
    stack = [line.rstrip("\n") for line in traceback.format_list(frames)]
    message = str(error)
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[:MAX_ERROR_MESSAGE] + f"... [{len(message) - MAX_ERROR_MESSAGE} more characters]"
    return {
        "errorType": type(error).__name__,
        "errorMessage": message,
        "stackTrace": stack[-50:],
    }


def load_handler(spec):
    code_dir = spec["codeDir"]
    module_name, _, function_name = spec["handler"].rpartition(".")
    module_name = module_name.replace("/", ".")
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    import importlib

    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        filename = os.path.relpath(error.filename or "?", code_dir)
        body = {
            "errorType": "SyntaxError",
            "errorMessage": f"{filename}, line {error.lineno}: {error.msg}",
            "stackTrace": [line.rstrip("\n") for line in traceback.format_exception_only(error)],
        }
        return None, body
    except BaseException as error:  # noqa: BLE001 - any failure of user code at import
        body = error_body(error, code_dir)
        origin = _user_origin(error, code_dir)
        body["errorMessage"] = f"{body['errorMessage']}{origin}"
        return None, body
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, {
            "errorType": "HandlerNotFound",
            "errorMessage": (
                f"{module_name.replace('.', '/')}.py defines no function named {function_name!r}; "
                f"define `def {function_name}(event, context):` or change the handler setting"
            ),
            "stackTrace": [],
        }
    if not callable(handler):
        return None, {
            "errorType": "HandlerNotCallable",
            "errorMessage": (
                f"{module_name}.{function_name} is a {type(handler).__name__}, not a function; "
                f"define `def {function_name}(event, context):`"
            ),
            "stackTrace": [],
        }
    return handler, None


def _user_origin(error, code_dir):
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.startswith(code_dir):
            return f" (at {os.path.relpath(frame.filename, code_dir)}, line {frame.lineno})"
    return ""


def send_error(request_id, error, code_dir):
    sys.stdout.flush()
    sys.stderr.flush()
    send(
        {"t": "error", "id": request_id, "maxRssKb": peak_rss_kb()},
        json.dumps(error_body(error, code_dir)).encode(),
    )


def invoke(handler, spec, header, payload):
    request_id = header["id"]
    context = Context(request_id, header["deadlineMs"], spec)
    try:
        event = json.loads(payload) if payload else None
        result = handler(event, context)
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_await(result))
    except Exception as error:  # noqa: BLE001 - every handler error goes back to the host
        send_error(request_id, error, spec["codeDir"])
        return
    try:
        body = _encode_result(result).encode()
    except (TypeError, ValueError, RecursionError) as error:
        problem = ResultNotSerializable(
            f"the handler's return value cannot be converted to JSON: {error}"
        )
        send_error(request_id, problem, spec["codeDir"])
        return
    sys.stdout.flush()
    sys.stderr.flush()
    send({"t": "result", "id": request_id, "maxRssKb": peak_rss_kb()}, body)


def peak_rss_kb():
    """Return the peak resident set in KiB of this process or, when larger, of its largest
    waited-for child; the host reports it as the invocation's max memory used."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


async def _await(awaitable):
    return await awaitable


def main():
    # SCHED_BATCH: waking this process for an invocation does not preempt the host's event
    # loop, which keeps serving other requests meanwhile.
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:
        pass
    sys.stdout = RecordWriter("stdout")
    sys.stderr = RecordWriter("stderr")
    group_tracebacks()
    root = logging.getLogger()
    handler_for_records = RecordHandler()
    handler_for_records.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
    root.addHandler(handler_for_records)

    header, _ = receive()
    if header.get("t") != "load":
        raise SystemExit(f"expected a load message, got {header.get('t')!r}")
    spec = header
    os.environ.clear()
    os.environ.update(spec.get("env") or {})
    started = time.perf_counter()
    handler, failure = load_handler(spec)
    init_ms = (time.perf_counter() - started) * 1000
    sys.stdout.flush()
    sys.stderr.flush()
    if failure is not None:
        send({"t": "loadError", "initMs": init_ms}, json.dumps(failure).encode())
        return
    send({"t": "loaded", "initMs": init_ms})
    while True:
        try:
            header, payload = receive()
        except EOFError:
            return
        if header.get("t") == "invoke":
            invoke(handler, spec, header, payload)


if __name__ == "__main__":
    main()
