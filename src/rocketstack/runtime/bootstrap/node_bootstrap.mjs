// Instance side of the nodejs20.x runtime: loads one handler, then runs invocations that
// the host sends over one pipe and replies over another. Frames in both directions: 4-byte
// big-endian header length, 4-byte big-endian payload length, a JSON header, the payload.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import util from 'node:util';
import { pathToFileURL } from 'node:url';

// The host passes the channel's fd numbers as the two arguments.
const IN_FD = Number(process.argv[2] ?? 3);
const OUT_FD = Number(process.argv[3] ?? 4);

function send(header, payload = Buffer.alloc(0)) {
  const head = Buffer.from(JSON.stringify(header));
  const frame = Buffer.allocUnsafe(8 + head.length + payload.length);
  frame.writeUInt32BE(head.length, 0);
  frame.writeUInt32BE(payload.length, 4);
  head.copy(frame, 8);
  payload.copy(frame, 8 + head.length);
  let offset = 0;
  while (offset < frame.length) {
    try {
      offset += fs.writeSync(OUT_FD, frame, offset, frame.length - offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

// Longer log messages are sent in pieces of this size; the host caps each frame.
const MAX_RECORD_BYTES = 256 * 1024;

function log(stream, args) {
  const data = Buffer.from(util.format(...args));
  let start = 0;
  do {
    send({ t: 'log', s: stream }, data.subarray(start, start + MAX_RECORD_BYTES));
    start += MAX_RECORD_BYTES;
  } while (start < data.length);
}

// One log record per console call, so a multi-line message stays one record.
console.log = (...args) => log('stdout', args);
console.info = (...args) => log('stdout', args);
console.debug = (...args) => log('stdout', args);
console.warn = (...args) => log('stderr', args);
console.error = (...args) => log('stderr', args);
console.trace = (...args) => {
  const holder = {};
  Error.captureStackTrace(holder, console.trace);
  log('stderr', [util.format(...args) + '\n' + holder.stack.split('\n').slice(1).join('\n')]);
};

// The maximum length of an error message sent to the host; the rest is cut with a note.
const MAX_ERROR_MESSAGE = 64 * 1024;

function clip(message) {
  const text = String(message);
  if (text.length <= MAX_ERROR_MESSAGE) return text;
  return `${text.slice(0, MAX_ERROR_MESSAGE)}... [${text.length - MAX_ERROR_MESSAGE} more characters]`;
}

function errorBody(error) {
  if (error instanceof Error) {
    // Only the function's own frames: the runtime's files and paths stay private.
    const codeDir = spec?.codeDir;
    const frames = (error.stack || '').split('\n').slice(1).map((line) => line.trim())
      .filter((line) => !codeDir || line.includes(codeDir));
    return {
      errorType: error.name && error.name !== 'Error' ? error.name : (error.constructor?.name || 'Error'),
      errorMessage: clip(error.message),
      stackTrace: frames.slice(0, 50),
    };
  }
  return { errorType: 'Error', errorMessage: clip(util.inspect(error)), stackTrace: [] };
}

function resolveHandlerFile(codeDir, moduleName) {
  for (const extension of ['.js', '.mjs', '.cjs']) {
    const candidate = path.join(codeDir, moduleName + extension);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

// Node 20 reports an ES module's syntax error without its location; `node --check` on the
// same source prints "[stdin]:LINE", so the failure path runs it once.
function esmSyntaxErrorLine(file) {
  try {
    const result = spawnSync(process.execPath, ['--input-type=module', '--check'], {
      input: fs.readFileSync(file),
      encoding: 'utf8',
      timeout: 5000,
    });
    const match = String(result.stderr || '').match(/^\[stdin\]:(\d+)/m);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

function loadFailure(error, codeDir, file) {
  const body = errorBody(error);
  if (error instanceof SyntaxError && !String(error.stack || '').includes(codeDir)) {
    const line = esmSyntaxErrorLine(file);
    if (line) {
      body.errorMessage = `${path.relative(codeDir, file)}, line ${line}: ${body.errorMessage}`;
      return body;
    }
  }
  // V8 puts "file:line" of a syntax error on the first stack line; name the user's file.
  const firstLine = String(error?.stack || '').split('\n')[0];
  const match = firstLine.match(/^(?:file:\/\/)?(\/[^:]+):(\d+)/);
  if (match && match[1].startsWith(codeDir)) {
    body.errorMessage = `${path.relative(codeDir, match[1])}, line ${match[2]}: ${body.errorMessage}`;
  } else {
    const frame = body.stackTrace.find((line) => line.includes(codeDir));
    if (frame) {
      const where = frame.match(/(\/[^:()]+):(\d+):\d+/);
      if (where) body.errorMessage += ` (at ${path.relative(codeDir, where[1])}, line ${where[2]})`;
    }
  }
  return body;
}

async function loadHandler(spec) {
  const { codeDir, handler } = spec;
  const dot = handler.lastIndexOf('.');
  const moduleName = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const file = resolveHandlerFile(codeDir, moduleName);
  if (!file) {
    return [null, {
      errorType: 'HandlerNotFound',
      errorMessage: `no file ${moduleName}.js, ${moduleName}.mjs or ${moduleName}.cjs at the code root`,
      stackTrace: [],
    }];
  }
  let moduleNamespace;
  try {
    moduleNamespace = await import(pathToFileURL(file).href);
  } catch (error) {
    return [null, loadFailure(error, codeDir, file)];
  }
  let fn = moduleNamespace[exportName];
  if (fn === undefined && moduleNamespace.default && typeof moduleNamespace.default === 'object') {
    fn = moduleNamespace.default[exportName];
  }
  const fileName = path.basename(file);
  if (fn === undefined) {
    return [null, {
      errorType: 'HandlerNotFound',
      errorMessage: `${fileName} does not export ${JSON.stringify(exportName)}; add ` +
        `\`export const ${exportName} = async (event) => { ... }\` or ` +
        `\`exports.${exportName} = ...\`, or change the handler setting`,
      stackTrace: [],
    }];
  }
  if (typeof fn !== 'function') {
    return [null, {
      errorType: 'HandlerNotCallable',
      errorMessage: `${fileName} exports ${JSON.stringify(exportName)} as a ${typeof fn}, not a function`,
      stackTrace: [],
    }];
  }
  return [fn, null];
}

let currentRequestId = null;

// The peak resident set of this process in KiB; the host reports it as the invocation's
// max memory used.
function peakRssKb() {
  return process.resourceUsage().maxRSS;
}

function finish(requestId, error, result) {
  if (requestId !== currentRequestId) return;
  currentRequestId = null;
  if (error !== null && error !== undefined) {
    send({ t: 'error', id: requestId, maxRssKb: peakRssKb() }, Buffer.from(JSON.stringify(errorBody(error))));
    return;
  }
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (serializationError) {
    send({ t: 'error', id: requestId, maxRssKb: peakRssKb() }, Buffer.from(JSON.stringify({
      errorType: 'ResultNotSerializable',
      errorMessage: `the handler's return value cannot be converted to JSON: ${serializationError.message}`,
      stackTrace: [],
    })));
    return;
  }
  send({ t: 'result', id: requestId, maxRssKb: peakRssKb() }, Buffer.from(body === undefined ? 'null' : body));
}

function invoke(fn, spec, header, payload) {
  const requestId = header.id;
  currentRequestId = requestId;
  const deadline = header.deadlineMs;
  const context = {
    requestId,
    awsRequestId: requestId,
    functionName: spec.functionName,
    functionVersion: String(spec.version),
    memoryLimitInMB: String(spec.memoryMb),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - Date.now())),
  };
  let event;
  try {
    event = payload.length ? JSON.parse(payload.toString('utf8')) : null;
  } catch (error) {
    finish(requestId, error);
    return;
  }
  try {
    if (fn.length >= 3) {
      // Callback-style handler: (event, context, callback).
      fn(event, context, (error, result) => finish(requestId, error, result));
      return;
    }
    const returned = fn(event, context);
    if (returned && typeof returned.then === 'function') {
      returned.then((result) => finish(requestId, null, result), (error) => finish(requestId, error ?? new Error('handler rejected with no reason')));
    } else {
      finish(requestId, null, returned);
    }
  } catch (error) {
    finish(requestId, error);
  }
}

function fatal(error) {
  if (currentRequestId !== null) {
    finish(currentRequestId, error);
  } else {
    log('stderr', ['Uncaught error outside an invocation:', error]);
  }
  process.exit(1);
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

let spec = null;
let handlerFn = null;
let pending = Buffer.alloc(0);
const queue = [];
let loading = null;

async function dispatch(header, payload) {
  if (header.t === 'load') {
    spec = header;
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, spec.env || {});
    process.chdir(spec.codeDir);
    const started = performance.now();
    const [fn, failure] = await loadHandler(spec);
    const initMs = performance.now() - started;
    if (failure) {
      send({ t: 'loadError', initMs }, Buffer.from(JSON.stringify(failure)));
      setImmediate(() => process.exit(0));
      return;
    }
    handlerFn = fn;
    send({ t: 'loaded', initMs });
  } else if (header.t === 'invoke') {
    invoke(handlerFn, spec, header, payload);
  }
}

function onData(chunk) {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 8) {
    const headLength = pending.readUInt32BE(0);
    const payloadLength = pending.readUInt32BE(4);
    const total = 8 + headLength + payloadLength;
    if (pending.length < total) break;
    const header = JSON.parse(pending.subarray(8, 8 + headLength).toString('utf8'));
    const payload = pending.subarray(8 + headLength, total);
    pending = pending.subarray(total);
    if (header.t === 'load') {
      loading = dispatch(header, payload);
    } else if (loading) {
      loading.then(() => dispatch(header, payload));
    } else {
      dispatch(header, payload);
    }
  }
}

const input = new net.Socket({ fd: IN_FD, readable: true, writable: false });
input.on('data', onData);
input.on('end', () => process.exit(0));
